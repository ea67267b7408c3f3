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


def test_plan_gpu_auto_uses_the_probe(capsys, monkeypatch):
    from repro_core.probe import gpu as probe

    fake = {"gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "cc": "9.0",
                      "memory_mib": 81559}], "driver": "550.54.15", "driver_cuda": "12.4",
            "reason": None}
    monkeypatch.setattr(probe, "probe_gpus", lambda: fake)
    assert main(["plan", str(REPOS / "style2021"), "--gpu", "auto", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["gpu"] == "9.0" and d["driver"] == "550.54.15"
    assert d["candidates"][0]["torch_build"] == "2.0.1+cu118"
    monkeypatch.setattr(probe, "probe_gpus", lambda: {"gpus": [], "driver": None,
                                                      "driver_cuda": None, "reason": "no NVML"})
    assert main(["plan", str(REPOS / "style2023"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["gpu"] is None and d["candidates"][0]["torch_build"].endswith("+cpu")
    assert any("found no GPU" in n for n in d["notes"])
