"""`repro env`: the Pythons found, conda files, and errors before anything is built."""

from repro_cli.main import main
from repro_core.envs import find_pythons


def _lock(tmp_path):
    f = tmp_path / "requirements.lock"
    f.write_text("# repro lock (repro 0.1.0)\n# date cutoff: 2020-06-01\n# python: 3.99\n"
                 "# platform: linux\n# variant: cpu\n# source: x\n\nnumpy==1.18.4 \\\n"
                 "    --hash=sha256:" + "a" * 64 + "\n")
    return f


def test_pythons_lists_the_interpreters(capsys):
    assert main(["env", "pythons"]) == 0
    out = capsys.readouterr().out
    for it in find_pythons():
        assert it.path in out


def test_create_for_a_python_that_is_not_here(tmp_path, capsys):
    assert main(["env", "create", str(_lock(tmp_path)), "--prefix", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("repro env: error: no Python 3.99 found") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.lock"]


def test_conda_writes_environment_yml(tmp_path, capsys):
    out = tmp_path / "environment.yml"
    assert main(["env", "create", str(_lock(tmp_path)), "--conda", "-o", str(out),
                 "--name", "paper"]) == 0
    text = out.read_text()
    assert "name: paper\n" in text and "  - python=3.99\n" in text
    assert "cudatoolkit" not in text  # a CPU lock
    assert '    - "numpy==1.18.4 --hash=sha256:' + "a" * 64 + '"' in text


def test_tree_formats(capsys):
    import json
    import sys

    import pytest

    from repro_core.errors import ReproError
    from repro_core.tree import _pipdeptree

    try:
        _pipdeptree()
    except ReproError as e:
        pytest.skip(str(e))
    assert main(["tree", "--python", sys.executable, "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert "packaging" in {n["name"] for n in d["nodes"]}
    assert main(["tree", "--python", sys.executable, "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD\n")
