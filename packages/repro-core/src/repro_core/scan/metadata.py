"""setup.cfg and pyproject.toml: declared dependencies and python_requires."""

import ast
import re
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional

from repro_core.scan.collector import Collector
from repro_core.scan.reqs import Spec, canon, parse_requirement


@lru_cache(maxsize=1)
def _toml() -> Any:
    """tomllib (Python 3.11+), else tomli, else None; imported when a pyproject.toml is read."""
    try:
        import tomllib  # type: ignore[import-not-found]
        return tomllib
    except ImportError:  # pragma: no cover - depends on the interpreter
        try:
            import tomli  # type: ignore[import-not-found]
            return tomli
        except ImportError:
            return None


def _line_of(text: str, needle: str) -> int:
    i = text.find(needle)
    return text.count("\n", 0, i) + 1 if i >= 0 else 1


_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'([^\'\n]*)\'')
_KEY = re.compile(r"\s*[\"']?([^\"'=\s]+)[\"']?\s*=")
_MAX_FINDS = 100


def _line_finder(text: str) -> Callable[[str], int]:
    """``_line_of`` for many needles in one text (a find each is quadratic on a hostile
    2 MiB file): the first line holding the needle as a quoted string, a whole stripped line
    or a ``key =``, indexed in one pass; other needles fall back to ``_line_of`` (at most
    ``_MAX_FINDS`` times, then line 1)."""
    first: Dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        first.setdefault(line.strip(), lineno)
        for m in _QUOTED.finditer(line):
            first.setdefault(m.group(1) if m.group(1) is not None else m.group(2), lineno)
        key = _KEY.match(line)
        if key:
            first.setdefault(key.group(1), lineno)
    finds = [0]

    def line_of(needle: str) -> int:
        if needle in first:
            return first[needle]
        finds[0] += 1
        return _line_of(text, needle) if finds[0] <= _MAX_FINDS else 1

    return line_of


def read_setup_cfg(col: Collector, rel: str, text: str) -> None:
    import configparser  # here: a scan without a setup.cfg never needs it

    cp = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        cp.read_string(text)
    except configparser.Error as e:
        col.warnings.append(f"{rel}: unreadable ({str(e).splitlines()[0]})")
        return
    if not cp.has_section("options"):
        return
    line_of = _line_finder(text)
    for item in cp.get("options", "install_requires", fallback="").splitlines():
        if not col.charge(rel):
            break
        for s in parse_requirement(item):
            col.spec(s, rel, line_of(item.strip()), "setup.cfg",
                     "setup.cfg install_requires")
    py = cp.get("options", "python_requires", fallback="").strip()
    if py:
        col.spec(Spec("python", py.replace(" ", "")), rel, line_of("python_requires"),
                 "setup.cfg", "setup.cfg python_requires")


def _fallback_toml(text: str) -> Dict[str, Any]:
    """Just enough TOML for [project] dependencies/requires-python (no tomllib, no tomli)."""
    out: Dict[str, Any] = {}
    section = ""
    for m in re.finditer(r"^\[([^\]]+)\]|^([\w-]+)\s*=\s*(\[[^\]]*\]|\"[^\"]*\"|'[^']*')",
                         text, re.M | re.S):
        if m.group(1):
            section = m.group(1).strip()
            continue
        try:
            value = ast.literal_eval(re.sub(r"#[^\n\"']*$", "", m.group(3), flags=re.M))
        except (ValueError, SyntaxError):
            continue
        node: Any = out
        for part in section.split("."):
            node = node.setdefault(part, {}) if part and isinstance(node, dict) else node
        if isinstance(node, dict):
            node[m.group(2)] = value
    return out


def _poetry_spec(v: Any) -> Optional[str]:
    if isinstance(v, dict):
        v = v.get("version")
    if not isinstance(v, str) or v.strip() == "*":
        return "" if isinstance(v, str) else None
    v = v.strip()
    m = re.match(r"^([\^~])\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$", v)
    if m:
        major, minor = int(m.group(2)), int(m.group(3) or 0)
        base = ".".join(x for x in m.group(2, 3, 4) if x)
        if m.group(1) == "~" or (m.group(1) == "^" and major == 0):
            return f">={base},<{major}.{minor + 1}"
        return f">={base},<{major + 1}"
    return v.replace(" ", "")


def read_pyproject(col: Collector, rel: str, text: str) -> None:
    try:
        toml = _toml()
        data = toml.loads(text) if toml else _fallback_toml(text)
    except Exception as e:  # tomllib.TOMLDecodeError and friends
        col.warnings.append(f"{rel}: unreadable TOML ({e})")
        return

    def field(table: Any, key: str, kind: type, where: str) -> Any:
        """``table[key]`` when it has the expected type; else a warning naming it."""
        value = table.get(key, kind()) if isinstance(table, dict) else kind()
        if isinstance(value, kind):
            return value
        col.warnings.append(f"{rel}: {where}{key} is a {type(value).__name__}, not a "
                            f"{'table' if kind is dict else 'list'}; ignored")
        return kind()

    line_of = _line_finder(text)
    project = field(data, "project", dict, "")
    deps: List[str] = [d for d in field(project, "dependencies", list, "project.")
                       if isinstance(d, str)]
    deps += [d for d in field(field(data, "build-system", dict, ""), "requires", list,
                              "build-system.") if isinstance(d, str)]
    for d in deps:
        if not col.charge(rel):
            break
        for s in parse_requirement(d):
            col.spec(s, rel, line_of(d), "pyproject", "pyproject.toml dependency")
    py = project.get("requires-python")
    if isinstance(py, str):
        col.spec(Spec("python", py.replace(" ", "")), rel, line_of("requires-python"),
                 "pyproject", "pyproject.toml requires-python")
    poetry = field(field(field(data, "tool", dict, ""), "poetry", dict, "tool."),
                   "dependencies", dict, "tool.poetry.")
    for name, v in poetry.items():
        spec = _poetry_spec(v)
        if spec is not None:
            col.spec(Spec(canon(name), spec), rel, line_of(name), "pyproject",
                     "poetry dependency")
