"""Every `pip install ./packages/...` line of every README installs a closed set of the local
packages (none is on an index), and every command a README runs was installed by an earlier
line of that README (issue 14: `repro-cuda`/`repro-mae` were run but never installed, and
`pip install ./packages/repro-mae` failed on repro-cuda==0.1.0)."""

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", *sorted((ROOT / "packages").glob("*/README.md"))]


def _project(name):
    text = (ROOT / "packages" / name / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)\]", text, re.M | re.S).group(1)
    local = {m for m in re.findall(r'"(repro-[a-z]+)', deps)}
    scripts = re.search(r"^\[project\.scripts\]\n((?:[^\[\n].*\n)*)", text, re.M)
    commands = set(re.findall(r"^([\w-]+) =", scripts.group(1), re.M)) if scripts else set()
    return local, commands


PROJECTS = {p.name: _project(p.name) for p in (ROOT / "packages").iterdir()
            if (p / "pyproject.toml").is_file()}


def _code_lines(path):
    """The lines of the shell blocks (```, ```bash, ```sh) of a README, without comments."""
    blocks = re.findall(r"^```([a-z]*)\n(.*?)^```", path.read_text(), re.M | re.S)
    return [ln.split("#")[0].strip() for lang, b in blocks if lang in ("", "bash", "sh")
            for ln in b.splitlines()]


def _installed(line):
    """The local packages a `pip install` command line installs (None if it is not one)."""
    out = None
    for part in line.split("&&"):
        words = shlex.split(part)
        if words[:2] == ["pip", "install"]:
            paths = [w for w in words[2:] if w.startswith("./packages/")]
            out = (out or set()) | {re.sub(r"\[.*\]$", "", p)[len("./packages/"):].rstrip("/")
                                    for p in paths}
    return out


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_readme_install_lines_work_as_written(readme):
    name = readme.relative_to(ROOT)
    commands = set()
    for line in _code_lines(readme):
        if not line:
            continue
        pkgs = _installed(line)
        if pkgs is not None:
            for pkg in pkgs:
                assert pkg in PROJECTS, f"{name}: {line}: no package {pkg}"
                missing = PROJECTS[pkg][0] - pkgs
                assert not missing, f"{name}: `{line}` lacks {sorted(missing)}"
                commands |= PROJECTS[pkg][1]
        for part in line.split("&&"):
            cmd = shlex.split(part)[0]
            if cmd.startswith("repro"):
                assert cmd in commands, f"{name}: `{cmd}` runs before it is installed"


def test_the_check_sees_the_old_mistakes():
    assert _installed("pip install ./packages/repro-mae") == {"repro-mae"}
    assert PROJECTS["repro-mae"][0] == {"repro-cuda"}  # not installed by that line
    assert PROJECTS["repro-cuda"] == ({"repro-core"}, {"repro-cuda"})
    assert _installed('pip install ./packages/repro-core "./packages/repro-mae[data]"') == {
        "repro-core", "repro-mae"}
