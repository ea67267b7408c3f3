"""`repro migrate` from the command line: --check exit codes, --diff, --write, --json,
one-line errors."""

import json

import pytest

from repro_cli.main import main

LEGACY = ("import numpy as np\nimport torch\nx = np.zeros(2, dtype=np.float)\n"
          "sd = torch.load('c.pt')\n")
TARGET = "numpy==2.4,torch==2.14"


def test_check_diff_write(capsys, tmp_path):
    pytest.importorskip("libcst")
    f = tmp_path / "m.py"
    f.write_text(LEGACY)
    assert main(["migrate", str(tmp_path), "--target", TARGET]) == 1  # --check is the default
    out = capsys.readouterr().out
    assert "m.py:3  [np-builtin-aliases]  np.float  ->  float" in out
    assert "[torch-load-weights-only]" in out and "weights_only=False" in out  # review
    assert main(["migrate", str(tmp_path), "--target", TARGET, "--diff"]) == 1
    cap = capsys.readouterr()
    assert "-x = np.zeros(2, dtype=np.float)\n+x = np.zeros(2, dtype=float)\n" in cap.out
    assert f.read_text() == LEGACY
    assert main(["migrate", str(tmp_path), "--target", TARGET, "--write", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [c["rule"] for c in d["changes"]] == ["np-builtin-aliases"]
    assert [c["rule"] for c in d["review"]] == ["torch-load-weights-only"]
    assert "dtype=float)" in f.read_text() and "weights_only" not in f.read_text()
    assert main(["migrate", str(tmp_path), "--target", TARGET, "--check"]) == 0
    capsys.readouterr()
    assert main(["migrate", str(tmp_path), "--target", TARGET, "--write",
                 "--rules", "torch-load-weights-only"]) == 0
    assert "torch.load('c.pt', weights_only=False)" in f.read_text()


def test_errors_are_one_line_and_exit_2(capsys, tmp_path):
    assert main(["migrate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("repro migrate: error:") and "\n" not in err
    try:
        import libcst  # noqa: F401
    except ImportError:
        assert main(["migrate", str(tmp_path)]) == 2
        assert "needs libcst" in capsys.readouterr().err
        return
    assert main(["migrate", str(tmp_path), "--target", "torch=2"]) == 2
    assert "--target: 'torch=2' is not NAME==VERSION" in capsys.readouterr().err
    assert main(["migrate", str(tmp_path), "--rules", "nope"]) == 2
    assert "unknown rule id 'nope'" in capsys.readouterr().err
