import json
import platform
import subprocess
import sys
from importlib import metadata

import pytest

from repro_cli.main import main


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


def test_doctor_inside_this_interpreter(capsys):
    """Each nox row is a supported stack: doctor, pointed at it, finds its torch and passes
    the numpy ABI and torch/Python checks (no torch, as in tests-core: nothing to judge)."""
    assert main(["doctor", "--json", "--python", sys.executable]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["python"]["python"] == platform.python_version()
    assert data["python"]["executable"] == sys.executable
    v = {x["check"]: x["ok"] for x in data["verdicts"]}
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        assert data["packages"]["torch"]["installed"] is None
        assert v["numpy_abi"] is None and v["torch_python"] is None
        return
    assert data["packages"]["torch"]["installed"] == torch_version
    assert data["packages"]["torch"]["version"].split("+")[0] == torch_version.split("+")[0]
    assert v["numpy_abi"] is True and v["torch_python"] is True


def test_doctor_module_entrypoint():
    r = subprocess.run([sys.executable, "-m", "repro_cli", "doctor"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "Verdicts" in r.stdout and "torch_gpu" in r.stdout
