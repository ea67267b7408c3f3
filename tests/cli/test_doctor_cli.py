import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro_cli.main import main

T110 = Path("/work/venvs/t110/bin/python")


def test_doctor_json_hypothetical(capsys):
    assert main(["doctor", "--json", "--gpu", "8.9", "--torch-build", "1.10.2+cu113"]) == 0
    data = json.loads(capsys.readouterr().out)
    v = {x["check"]: x for x in data["verdicts"]}
    assert v["torch_gpu"]["ok"] is True and "sm_86" in v["torch_gpu"]["reason"]
    assert data["assumed"]["torch_build"]["cuda"] == "11.3"


def test_doctor_text_reads_as_a_report(capsys):
    assert main(["doctor", "--gpu", "RTX 4090", "--torch-build", "1.10.2+cu113"]) == 0
    out = capsys.readouterr().out
    for section in ("Python", "Packages", "Compilers", "GPUs", "Assumed", "Verdicts"):
        assert f"\n{section}" in "\n" + out
    assert "compute capability 8.9 (RTX 4090)" in out
    assert "✓ torch_gpu" in out


def test_doctor_text_h100_fails(capsys):
    assert main(["doctor", "--gpu", "9.0", "--torch-build", "1.10.2+cu113"]) == 0
    assert "✗ torch_gpu" in capsys.readouterr().out


@pytest.mark.parametrize("argv,msg", [
    (["--python", "/no/such/python"], "--python /no/such/python: not an executable file"),
    (["--torch-build", "1.10.2-cu113"], "--torch-build 1.10.2-cu113: "),
    (["--torch-build", "1.10.2+cu118"], "torch 1.10 has no cu118 wheel"),
    (["--gpu", "Radeon RX 7900"], "--gpu Radeon RX 7900: unknown GPU name"),
])
def test_doctor_bad_input_is_one_line_exit_2(capsys, argv, msg):
    assert main(["doctor", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err and err.startswith("repro doctor: error: ")


@pytest.mark.skipif(not T110.exists(), reason="torch 1.10 venv not on this machine")
def test_doctor_inside_torch110(capsys):
    assert main(["doctor", "--json", "--python", str(T110)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["packages"]["torch"]["version"] == "1.10.2+cu102"
    assert data["python"]["python"].startswith("3.9.")
    v = {x["check"]: x["ok"] for x in data["verdicts"]}
    assert v["numpy_abi"] is True and v["torch_python"] is True


def test_doctor_module_entrypoint():
    r = subprocess.run([sys.executable, "-m", "repro_cli", "doctor"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "Verdicts" in r.stdout and "torch_gpu" in r.stdout
