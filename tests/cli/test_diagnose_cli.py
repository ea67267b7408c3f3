"""`repro diagnose` from the command line: exit 0 / 3 / 2, text, JSON, stdin."""

import io
import json
from pathlib import Path

from repro_cli.main import main

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs" / "diagnose"


def test_text_ranks_findings_with_fix_and_lines(capsys):
    assert main(["diagnose", str(LOGS / "nvcc-arch.log"), "--gpu", "RTX 4090"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [error] nvcc-unsupported-arch: nvcc cannot compile for compute_35")
    assert "fix (arch): 8.9  ->  export TORCH_CUDA_ARCH_LIST='8.9'" in out
    assert "2. [error] rule cuda-arch-kepler" in out
    assert "    1 | nvcc fatal   : Unsupported gpu architecture 'compute_35'" in out


def test_json_from_stdin(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO((LOGS / "tb.log").read_text()))
    assert main(["diagnose", "-", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recognised"] is True
    fix = d["findings"][0]["fixes"][0]
    assert (fix["kind"], fix["value"]) == ("install", "tensorboard")
    assert d["findings"][0]["lines"] == [
        {"number": 6, "text": "ModuleNotFoundError: No module named 'tensorboard'"}]


def test_unrecognised_exits_3_and_shows_the_lines(capsys, tmp_path):
    log = tmp_path / "run.log"
    log.write_text("step 1\nTraceback (most recent call last):\n  File \"t.py\", line 9\n"
                   "KeyError: 'lr'\n")
    assert main(["diagnose", str(log)]) == 3
    out = capsys.readouterr().out
    assert "unrecognised" in out and "    4 | KeyError: 'lr'" in out


def test_bad_file_exits_2(capsys, tmp_path):
    assert main(["diagnose", str(tmp_path / "missing.log")]) == 2
    assert "missing.log: cannot read" in capsys.readouterr().err
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert main(["diagnose", str(LOGS / "tb.log"), "--gpu", "GTX 9999 Ultra"]) == 2
    assert "--gpu" in capsys.readouterr().err
