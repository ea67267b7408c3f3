"""`repro scan` / `repro plan` from the command line: JSON, text, one-line errors."""

import json
from pathlib import Path

from repro_cli.main import main

REPOS = Path(__file__).resolve().parents[1] / "data" / "repos"


def test_scan_json(capsys):
    assert main(["scan", str(REPOS / "style2021"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert "==1.7.1" in d["constraints"]["torch"]
    assert any(f["rule"] == "timm-block-qk-scale" for f in d["findings"])


def test_scan_text(capsys):
    assert main(["scan", str(REPOS / "conflict")]) == 0
    out = capsys.readouterr().out
    assert "conflicts:" in out and "Dockerfile:2" in out


def test_plan_json_and_text(capsys):
    assert main(["plan", str(REPOS / "style2021"), "--gpu", "9.0", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["gpu"] == "9.0" and d["candidates"][0]["cuda"] != "11.0"
    assert main(["plan", str(REPOS / "style2021"), "--gpu", "RTX 4090"]) == 0
    out = capsys.readouterr().out
    assert "exact" in out and "1.7.1+cu110" in out


def test_errors_are_one_line_and_exit_2(capsys, tmp_path):
    assert main(["scan", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("repro scan: error:") and "\n" not in err
    assert main(["plan", str(REPOS / "style2023"), "--gpu", "3.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no candidate environment" in err and "\n" not in err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["plan", str(bad), "--gpu", "8.0"]) == 2
    assert "not a scan report" in capsys.readouterr().err
