"""Bad values given to `repro plan` and `repro doctor` (issue 14): one line, exit 2."""

import json

import pytest

from repro_cli.main import main
from repro_core.scan import scan

REPOS = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "repos"


def _one_line_error(capsys, argv, command):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"repro {command}: error: ")
    return captured.err[len(f"repro {command}: error: "):].rstrip("\n")


@pytest.mark.parametrize("gpu", ["none", "8.9"])
def test_plan_bad_driver(capsys, gpu):
    err = _one_line_error(capsys, ["plan", str(REPOS / "style2023"), "--gpu", gpu,
                                   "--driver", "abc"], "plan")
    assert err == "--driver abc: not an NVIDIA driver version: 'abc' (expected e.g. 535.104.05)"


@pytest.mark.parametrize("gpu,closest", [("RTX 40901234", "RTX 4090"),
                                         ("H100zzzz-fake", "H100")])
def test_plan_made_up_gpu_name(capsys, gpu, closest):
    err = _one_line_error(capsys, ["plan", str(REPOS / "style2023"), "--gpu", gpu], "plan")
    assert err.startswith(f"--gpu {gpu}: unknown GPU name {gpu!r} (closest known: {closest}")


def test_plan_too_old_driver_says_so_first(capsys):
    err = _one_line_error(capsys, ["plan", str(REPOS / "style2023"), "--gpu", "8.9",
                                   "--driver", "300.0"], "plan")
    assert err.startswith("no candidate environment: driver 300.0 is too old for every "
                          "candidate: ")


@pytest.mark.parametrize("torch,message", [
    (5, "field constraints['torch']: expected a string, got 5"),
    ("garbage!!", "field constraints['torch']: not a version specifier: 'garbage!!'"),
])
def test_plan_bad_saved_scan(capsys, tmp_path, torch, message):
    data = json.loads(scan(REPOS / "style2021").to_json())
    data["constraints"]["torch"] = torch
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(data))
    err = _one_line_error(capsys, ["plan", str(path), "--gpu", "8.9"], "plan")
    assert err == f"{path}: scan report: {message}"


def test_doctor_unknown_patch_release(capsys):
    err = _one_line_error(capsys, ["doctor", "--torch-build", "1.10.9+cu113"], "doctor")
    assert err == ("--torch-build 1.10.9+cu113: torch 1.10.9 was never released (known 1.10 "
                   "releases: 1.10.0, 1.10.1, 1.10.2)")


def test_doctor_timeout_flag(capsys, tmp_path):
    exe = tmp_path / "python"
    exe.write_text("#!/bin/sh\nsleep 300\n")
    exe.chmod(0o755)
    err = _one_line_error(capsys, ["doctor", "--python", str(exe), "--timeout", "0.5"], "doctor")
    assert err == f"--python {exe}: the probe did not finish in 0.5 s (it was ended)"
    err = _one_line_error(capsys, ["doctor", "--timeout", "0"], "doctor")
    assert err == "--timeout 0.0: not a positive number of seconds"


def test_plan_auto_driver_checked_before_the_probe_and_replaces_its_driver(capsys, monkeypatch):
    from repro_core.probe import gpu as probe

    def no_probe():
        raise AssertionError("probed before the --driver check")

    monkeypatch.setattr(probe, "probe_gpus", no_probe)
    err = _one_line_error(capsys, ["plan", str(REPOS / "style2023"), "--driver", "5x"], "plan")
    assert err.startswith("--driver 5x: not an NVIDIA driver version")
    fake = {"gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "cc": "9.0",
                      "memory_mib": 81559}], "driver": "550.54.15", "driver_cuda": "12.4",
            "reason": None}
    monkeypatch.setattr(probe, "probe_gpus", lambda: fake)
    assert main(["plan", str(REPOS / "style2023"), "--driver", "580.95.05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["driver"] == "580.95.05"
