"""``repro scan``: what a paper repository needs, read statically (nothing is imported, executed
or built). One reader per source kind; ``combine`` turns their evidence into constraints.

    from repro_core.scan import scan
    report = scan("path/to/repo")          # -> ScanReport (frozen; to_json()/from_json())
"""

import gc
import os
import re
import stat
from typing import Dict, Iterator, List, Optional, Set, Tuple

from repro_core.errors import ReproError
from repro_core.rules import for_source
from repro_core.scan import (
    conda,
    cpp,
    dockerfile,
    history,
    metadata,
    notebook,
    python_api,
    readme,
    requirements,
    setup_py,
)
from repro_core.scan.collector import Collector
from repro_core.scan.combine import constraints as combine_constraints
from repro_core.scan.combine import version_ok
from repro_core.scan.imports import distribution, is_python2_only
from repro_core.scan.report import (
    Evidence,
    Extension,
    Finding,
    ImportUse,
    LegacyApi,
    ScanReport,
)
from repro_core.scan.reqs import Spec, canon, commands, install_command

__all__ = ["scan", "ScanReport"]

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox", ".venv",
             "site-packages", "build", "dist", ".eggs", ".mypy_cache", ".pytest_cache",
             ".ipynb_checkpoints", ".idea", ".vscode", ".cache", "wandb", ".ruff_cache"}
MAX_BYTES = 2 << 20  # source/text files
MAX_NOTEBOOK_BYTES = 16 << 20
MAX_FILES = 50000
_BUILD_FILES = ("setup.py", "CMakeLists.txt", "build.py", "make.sh", "Makefile", "build.sh")
_REQ_NAME = re.compile(r"(^|[-_.])req(uirement)?s?([-_.]|$)|requirements", re.I)


def _is_venv(path: str, names: List[str]) -> bool:
    return "pyvenv.cfg" in names or "conda-meta" in names or (
        os.path.isfile(os.path.join(path, "bin", "activate")))


def walk(root: str) -> Iterator[Tuple[str, int]]:
    """(posix relative path, size) of the regular files worth reading, sorted per folder.
    Symlinks are never followed (no loops, nothing outside the repository)."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.endswith(".egg-info")
            and not os.path.islink(os.path.join(dirpath, d))
            and not _is_venv(os.path.join(dirpath, d), _listdir(os.path.join(dirpath, d))))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            count += 1
            if count > MAX_FILES:
                return
            yield os.path.relpath(full, root).replace(os.sep, "/"), st.st_size


def _listdir(path: str) -> List[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _kind(rel: str) -> Optional[str]:
    name = rel.rsplit("/", 1)[-1]
    low = name.lower()
    parent = rel.rsplit("/", 2)[-2].lower() if "/" in rel else ""
    if low.endswith(".py"):
        return "setup.py" if low == "setup.py" else "python"
    if low.endswith(".ipynb"):
        return "notebook"
    if low.endswith(cpp.CPP_EXT):
        return "cpp"
    if low.endswith((".txt", ".in", ".pip")) and (_REQ_NAME.search(low.rsplit(".", 1)[0])
                                                   or parent == "requirements"):
        return "requirements"
    if low == "setup.cfg":
        return "setup.cfg"
    if low == "pyproject.toml":
        return "pyproject"
    if low.endswith((".yml", ".yaml")) and ("environment" in low or low.startswith(
            ("conda", "env"))):
        return "environment.yml"
    if low.startswith("dockerfile") or low.endswith(".dockerfile"):
        return "dockerfile"
    if low.endswith((".md", ".rst", ".markdown")) or low.startswith(("readme", "install")):
        if low.startswith(("readme", "install", "getting_started", "get_started")) or \
                "/" not in rel or "install" in low:
            return "readme"
        return "doc"
    if low.endswith(".sh"):
        return "script"
    return None


def _read_text(root: str, rel: str, limit: int = MAX_BYTES) -> Optional[str]:
    """The file's text (UTF-8, undecodable bytes replaced); None for binary/huge/unreadable."""
    full = os.path.join(root, rel)
    try:
        if os.path.islink(full) or not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit or b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def scan(path: str) -> ScanReport:
    """Read the repository at ``path`` (never executing it) into a ``ScanReport``."""
    enabled = gc.isenabled()
    gc.disable()  # ast trees are acyclic and freed by refcount; GC passes only cost time
    try:
        return _scan(path)
    finally:
        if enabled:
            gc.enable()


def _scan(path: str) -> ScanReport:
    root = os.path.abspath(os.fspath(path))
    if not os.path.isdir(root):
        raise ReproError(f"{path}: not a directory")
    col = Collector()
    files = list(walk(root))
    if len(files) >= MAX_FILES:
        col.warnings.append(f"{path}: more than {MAX_FILES} files; the rest were not read")
    by_kind: Dict[str, List[str]] = {}
    for rel, size in files:
        k = _kind(rel)
        if not k:
            continue
        limit = MAX_NOTEBOOK_BYTES if k == "notebook" else MAX_BYTES
        if size > limit:
            col.warnings.append(f"{rel}: skipped ({size} bytes > {limit})")
            continue
        by_kind.setdefault(k, []).append(rel)

    def load(rel: str) -> Optional[str]:
        return _read_text(root, rel)

    local = _local_modules(by_kind)
    seen_req: Set[str] = set()
    for rel in by_kind.get("requirements", []):
        text = load(rel)
        if text is not None:
            requirements.read(col, root, rel, text, load, seen_req)
    readers = {"setup.cfg": metadata.read_setup_cfg, "pyproject": metadata.read_pyproject,
               "environment.yml": conda.read, "dockerfile": dockerfile.read}
    for kind, fn in readers.items():
        for rel in by_kind.get(kind, []):
            text = load(rel)
            if text is not None:
                fn(col, rel, text)
    for kind in ("readme", "script", "doc"):
        for rel in by_kind.get(kind, []):
            text = load(rel)
            if text is None:
                continue
            if kind != "doc":
                readme.read(col, rel, text, kind="readme" if kind == "readme" else "script")
            col.dates.extend(history.DateSource(d, why, "arxiv")
                             for d, why in readme.arxiv_dates(text))
    imports: Dict[str, ImportUse] = {}
    for rel in by_kind.get("setup.py", []):
        text = load(rel)
        if text is not None:
            setup_py.read(col, rel, text)
            local.update(_ext_names(text))
    for rel in by_kind.get("setup.py", []) + by_kind.get("python", []):
        text = load(rel)
        if text is not None:
            _python(col, rel, text, local, imports)
    for rel in by_kind.get("notebook", []):
        text = _read_text(root, rel, MAX_NOTEBOOK_BYTES)
        if text is None:
            continue
        try:
            src, shell = notebook.code(text)
        except ValueError as e:
            col.warnings.append(f"{rel}: not a readable notebook ({e})")
            continue
        _python(col, rel, src, local, imports)
        for line, cmd in shell:
            for toks in commands(cmd):
                for s in install_command(toks) or []:
                    col.spec(s, rel, line, "notebook", "notebook install command")
    for rel in by_kind.get("cpp", []):
        text = load(rel)
        if text is None or text.startswith("/* Generated by Cython"):
            continue
        for rule, line, api in cpp.analyze(text):
            if col.hit(rule, rel, line, api):
                col.cpp_hits.setdefault(rel, []).append(LegacyApi(rel, line, api, rule.id))
    extensions = _extensions(col, by_kind.get("cpp", []), [r for r, _ in files])
    gd = history.git_date(root)
    if gd:
        col.dates.append(history.DateSource(gd[0], gd[1], "git"))
    return _finish(col, os.fspath(path), imports, extensions, len(files))


def _python(col: Collector, rel: str, text: str, local: Set[str],
            imports: Dict[str, ImportUse]) -> None:
    nodes = not python_api.node_rule_ids() <= col.rule_ids
    mods, hits, checks, parsed = python_api.analyze_all(text, nodes=nodes)
    for c in checks:
        dist = distribution(c.module)
        if dist:
            col.spec(Spec(canon(dist), c.specifier), rel, c.line, "assert",
                     f"the code checks {c.module}.__version__ {c.specifier}")
    for h in hits:
        if col.hit(h.rule, rel, h.line, h.api) and h.rule.id.startswith(
                ("cpp-", "cuda-", "torch-utils-ffi")):
            col.build_hits.setdefault(rel.rsplit("/", 1)[0] if "/" in rel else "", []).append(
                LegacyApi(rel, h.line, h.api, h.rule.id))
    for imp in mods:
        top = imp.module.split(".")[0]
        if top in local or top.startswith("_"):
            continue
        if is_python2_only(top):
            continue  # the py2-modules rule reports it
        dist = distribution(imp.module)
        if dist and canon(dist) not in imports:
            imports[canon(dist)] = ImportUse(imp.module, dist, rel, imp.line, False)


def _local_modules(by_kind: Dict[str, List[str]]) -> Set[str]:
    """Top-level names importable from inside the repository: every .py stem and every folder
    holding .py files (scripts put their own folders on sys.path)."""
    out: Set[str] = set()
    for rel in by_kind.get("python", []) + by_kind.get("setup.py", []):
        parts = rel.split("/")
        out.add(parts[-1][:-3])
        out.update(parts[:-1])
    return out


def _ext_names(text: str) -> Set[str]:
    """Module names of extensions a setup.py builds (``CUDAExtension('name', ...)``)."""
    found = re.findall(r"(?:CUDAExtension|CppExtension|Extension)\(\s*(?:name\s*=\s*)?['\"]"
                       r"([\w.]+)['\"]", text)
    return {p for n in found for p in (n.split(".")[0], n.split(".")[-1])}


def _extensions(col: Collector, cpp_files: List[str], all_files: List[str]) -> List[Extension]:
    """Group C++/CUDA sources into extensions: by the nearest folder holding a build file."""
    build_dirs: Dict[str, str] = {}
    for rel in all_files:
        d, _, name = rel.rpartition("/")
        if name in _BUILD_FILES:
            build_dirs.setdefault(d, rel)
    groups: Dict[str, List[str]] = {}
    for rel in cpp_files:
        d = rel.rpartition("/")[0]
        root = d
        probe = d
        while True:
            if probe in build_dirs or probe in col.ext_builds:
                root = probe
                break
            if not probe:
                break
            probe = probe.rpartition("/")[0]
        groups.setdefault(root, []).append(rel)
    out = []
    for d, srcs in sorted(groups.items()):
        if not any(s.endswith((".c", ".cc", ".cpp", ".cxx", ".cu")) for s in srcs):
            continue
        kind = "cuda" if any(s.endswith((".cu", ".cuh")) for s in srcs) else "cpp"
        legacy = [a for s in srcs for a in col.cpp_hits.get(s, [])]
        legacy += col.build_hits.get(d, [])
        build = col.ext_builds.get(d) or build_dirs.get(d, "")
        out.append(Extension(path=d or ".", kind=kind, sources=tuple(srcs),
                             legacy_apis=tuple(legacy), build=build))
    return out


def _finish(col: Collector, path: str, imports: Dict[str, ImportUse],
            extensions: List[Extension], nfiles: int) -> ScanReport:
    stated = {r.name for r in col.requirements}
    uses = tuple(ImportUse(i.module, i.distribution, i.path, i.line,
                           canon(i.distribution) in stated) for _, i in sorted(imports.items()))
    for u in uses:
        if not u.stated:
            col.evidence.append(Evidence(canon(u.distribution), "", u.path, u.line,
                                         f"imports {u.module}", "api"))
    _requirement_rules(col)
    cons, conflicts, warns = combine_constraints(col.evidence)
    findings = list(col.findings)
    for c in conflicts:
        findings.append(Finding(
            rule="source-conflict", path=c.dropped.path, line=c.dropped.line, message=c.message,
            fix=f"make the sources agree; repro plans with {c.package}{c.kept.specifier}",
            library=c.package, bound="", safety="needs-review"))
    findings.sort(key=lambda f: (f.path, f.line, f.rule))
    seen = set()
    reqs = []
    for r in col.requirements:
        if (r.name, r.specifier, r.source) not in seen:
            seen.add((r.name, r.specifier, r.source))
            reqs.append(r)
    dates = sorted(set(col.dates))
    return ScanReport(
        path=path, reference_date=history.pick(dates),
        date_sources=tuple(f"{s.label} ({s.date})" for s in dates),
        requirements=tuple(reqs), constraints=cons, evidence=tuple(col.evidence),
        extensions=tuple(extensions), findings=tuple(findings),
        conflicts=tuple(conflicts), imports=uses, files_scanned=nfiles,
        warnings=tuple(col.warnings + warns))


def _requirement_rules(col: Collector) -> None:
    """Rules over stated requirements (timm==0.3.2 -> torch<1.8, 'sklearn', ...)."""
    # a bound implied by a stated pin is as strong as the pin's source
    kinds = {(e.package, e.specifier, e.path, e.line): e.kind for e in col.evidence}
    for rule in for_source("requirements"):
        for p in rule.patterns:
            for req in col.requirements:
                if req.name != canon(p["requirement"]):
                    continue
                pin = re.match(r"^===?\s*([\w.]+?)(\.\*)?$", req.specifier)
                if "pinned" in p and not (pin and version_ok(p["pinned"], pin.group(1))):
                    continue
                path, _, line = req.source.rpartition(":")
                col.hit(rule, path, int(line or 0), f"{req.name}{req.specifier}",
                        kind=kinds.get((req.name, req.specifier, path, int(line or 0)), "api"))

