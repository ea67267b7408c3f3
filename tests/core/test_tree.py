"""repro_core.tree: pipdeptree reading another interpreter's environment, conflicts marked."""

import subprocess
import sys

import pytest

from repro_core.errors import ReproError
from repro_core.tree import Dep, Tree, dependency_tree


def _dist(site, name, version, requires=()):
    d = site / f"{name}-{version}.dist-info"
    d.mkdir()
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    (d / "METADATA").write_text("\n".join(meta) + "\n")
    (d / "RECORD").write_text("")


@pytest.fixture
def env(tmp_path):
    """A stdlib venv (no pip) with three hand-made distributions: app needs lib>=2 (1.0 is
    installed) and gone (not installed); lib needs nothing."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")],
                   check=True)
    site = next((tmp_path / "v" / "lib").glob("python*/site-packages"))
    _dist(site, "app", "0.1", ["lib>=2", "gone", "extra-only; extra == 'x'"])
    _dist(site, "lib", "1.0")
    _dist(site, "tool", "3.0", ["lib"])
    return tmp_path / "v" / "bin" / "python"


def test_tree_of_another_environment_marks_conflicts(env):
    try:
        t = dependency_tree(str(env))
    except ReproError as e:
        if "not installed" in str(e):
            pytest.skip(str(e))
        raise
    names = {n.name: n.version for n in t.nodes}
    assert names == {"app": "0.1", "lib": "1.0", "tool": "3.0"}
    assert {(p, d.name, d.required, d.installed) for p, d in t.conflicts} == {
        ("app", "lib", ">=2", "1.0"), ("app", "gone", "", None)}
    assert {n.name for n in t.roots()} == {"app", "tool"}
    text = t.text()
    assert ("├── gone [required: Any, installed: missing]  <- CONFLICT\n"
            "└── lib [required: >=2, installed: 1.0]  <- CONFLICT") in text
    assert "└── lib [required: Any, installed: 1.0]\n" in text + "\n"  # tool's: fine
    assert Tree.from_json(t.to_json()) == t
    dot = t.dot()
    assert '"app" -> "lib" [label=">=2", color=red, fontcolor=red];' in dot
    assert '"tool" -> "lib" [label="any"];' in dot and '"gone" [label="gone\\nmissing"' in dot
    mer = t.mermaid()
    assert 'app -. ">=2 CONFLICT" .-> lib' in mer and 'tool -- "any" --> lib' in mer


def test_dep_conflict_rules():
    assert not Dep("a", "", "1.0").conflict
    assert Dep("a", "<1", "1.0").conflict and Dep("a", "", None).conflict
    assert not Dep("a", ">=1.0rc1", "1.0rc2").conflict  # pre-releases count as installed
