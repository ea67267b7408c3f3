"""Probes against real interpreters, and doctor verdicts from real and hand-built facts."""

import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from repro_core import doctor, probe
from repro_core.errors import BadValue, ReproError
from repro_core.hardware import GpuDevice, Hardware
from repro_core.probe import gpu as gpu_probe
from repro_core.probe import probe_interpreter
from repro_core.probe.host import parse_nvcc_version

NO_GPU = {"gpus": [], "driver": None, "driver_cuda": None, "reason": "NVML could not start: test"}
NO_GPU_HW = Hardware(probed=True, reason=NO_GPU["reason"])
HOST = {"cuda_home": {"path": "/usr/local/cuda", "source": "CUDA_HOME", "has_nvcc": True,
                      "has_headers": True},
        "nvcc": {"path": "/usr/local/cuda/bin/nvcc", "version": "11.3.109"},
        "gcc": "9.4.0", "cxx": "g++"}


def _installed(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- the interpreter probe -----------------------------------------------------------------

def test_probe_current_interpreter():
    facts = probe_interpreter()
    assert facts["python"] == platform.python_version()
    assert facts["executable"] == sys.executable
    assert facts["implementation"] == platform.python_implementation()
    for name in ("torch", "numpy", "timm"):
        assert facts["packages"][name]["installed"] == _installed(name)


def test_doctor_never_imports_torch_in_repros_process():
    code = ("import sys; from repro_core import doctor; doctor.collect(gpu='8.9'); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


TORCH_FACTS = """
import json, torch
print(json.dumps({"version": torch.__version__, "cuda": torch.version.cuda,
                  "cudnn": torch.backends.cudnn.version() if torch.version.cuda else None,
                  "cuda_available": torch.cuda.is_available()}))
"""


def test_probe_reports_the_installed_torch():
    """What the probe says about this interpreter's torch is what torch says of itself; the
    arch list is the one the kb has for that build. No torch (tests-core): not installed."""
    torch = probe_interpreter()["packages"]["torch"]
    if _installed("torch") is None:
        assert torch == {"installed": None}
        return
    own = json.loads(subprocess.run([sys.executable, "-W", "ignore", "-c", TORCH_FACTS],
                                    capture_output=True, text=True, check=True).stdout)
    assert torch["installed"] == _installed("torch")
    assert {k: torch[k] for k in own} == own
    if own["cuda"]:
        from repro_core import compat

        expect = compat.parse_arch_list(compat.torch_build(own["version"]).arch_list)
        assert compat.parse_arch_list(torch["arch_list"]) == expect


def test_probe_source_parses_as_python36():
    """The probe runs inside the user's interpreter, as old as Python 3.6: its grammar must be
    3.6's (a real 3.6, when on PATH, runs it too)."""
    from repro_core.probe import SCRIPT

    ast.parse(Path(SCRIPT).read_text(), feature_version=(3, 6))
    py36 = shutil.which("python3.6")
    if py36 and subprocess.run([py36, "-c", "pass"], capture_output=True).returncode == 0:
        facts = probe_interpreter(py36)
        assert facts["python"].startswith("3.6.") and facts["glibc"]


def test_probe_reports_a_broken_torch(tmp_path, monkeypatch):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text(
        "raise ImportError('libcudart.so.11.0: cannot open shared object file')\n")
    dist = tmp_path / "torch-1.10.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 1.10.2\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    torch = probe_interpreter()["packages"]["torch"]
    assert torch["installed"] == "1.10.2"
    assert torch["error"].startswith("ImportError: libcudart.so.11.0")
    v = doctor.assess(probe_interpreter(), HOST, NO_GPU, {"gpu": {"cc": "8.9", "name": None}})
    assert v.verdict("torch_gpu").ok is None and "fails to import" in v.verdict("torch_gpu").reason


def test_probe_finds_a_bare_name_on_path(monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent), prepend=":")
    name = Path(sys.executable).name
    assert probe_interpreter(name)["python"] == platform.python_version()


def test_probe_bad_interpreter(tmp_path):
    with pytest.raises(ReproError, match="not an executable"):
        probe_interpreter(str(tmp_path / "nope"))
    with pytest.raises(ReproError, match="probe failed"):
        probe_interpreter("/bin/false")


def test_bad_interpreter_names_the_value_not_a_flag(tmp_path):
    exe = str(tmp_path / "nope")
    with pytest.raises(BadValue) as e:
        probe_interpreter(exe)
    assert (e.value.field, e.value.value) == ("python", exe)
    assert str(e.value) == f"{exe}: not an executable file"
    assert str(e.value.flagged("--python")) == f"--python {exe}: not an executable file"


@pytest.mark.parametrize("text,version", [
    ("nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 13.0, V13.0.88\n",
     "13.0.88"),
    ("Cuda compilation tools, release 11.3, V11.3.109\nBuild cuda_11.3.r11.3/compiler.29920130_0",
     "11.3.109"),
    ("Cuda compilation tools, release 10.2\n", "10.2"),
    ("gcc (Debian 12.2.0) 12.2.0", None),
])
def test_parse_nvcc_version(text, version):
    assert parse_nvcc_version(text) == version


# --- the GPU probe, with a stand-in NVML ---------------------------------------------------

def _fake_nvml(init_error=None, ccs=((8, 9),)):
    m = types.ModuleType("pynvml")

    def init():
        if init_error:
            raise RuntimeError(init_error)

    m.nvmlInit = init
    m.nvmlShutdown = lambda: None
    m.nvmlSystemGetDriverVersion = lambda: b"535.104.05"
    m.nvmlSystemGetCudaDriverVersion = lambda: 12020
    m.nvmlDeviceGetCount = lambda: len(ccs)
    m.nvmlDeviceGetHandleByIndex = lambda i: i
    m.nvmlDeviceGetCudaComputeCapability = lambda h: ccs[h]
    m.nvmlDeviceGetName = lambda h: b"NVIDIA GeForce RTX 4090"
    m.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=24564 * (1 << 20))
    return m


def test_gpu_probe_parses_nvml(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml())
    out = gpu_probe.probe_gpus()
    assert out == {"gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "cc": "8.9",
                             "memory_mib": 24564}],
                   "driver": "535.104.05", "driver_cuda": "12.2", "reason": None}


def test_gpu_probe_without_driver(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(init_error="Driver Not Loaded"))
    out = gpu_probe.probe_gpus()
    assert out["gpus"] == [] and "Driver Not Loaded" in out["reason"]


def test_hardware_from_the_probes(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(ccs=((8, 9), (8, 9))))
    monkeypatch.setattr(probe.host, "toolkit_root", lambda: "/opt/cuda-12.2")
    monkeypatch.setattr(probe.host, "nvcc_version", lambda root: "12.2.140")
    hw = probe.hardware()
    gpu = "NVIDIA GeForce RTX 4090"
    assert hw == Hardware(gpus=(GpuDevice(gpu, "8.9", 24564, 0), GpuDevice(gpu, "8.9", 24564, 1)),
                          driver="535.104.05", driver_cuda="12.2", toolkit_root="/opt/cuda-12.2",
                          nvcc="12.2.140", cpu_count=os.cpu_count(), probed=True)
    assert hw.gpu_facts() == gpu_probe.probe_gpus()  # doctor's "gpus" section, unchanged
    assert Hardware.from_json(hw.to_json()) == hw


def test_gpu_probe_without_pynvml(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    out = gpu_probe.probe_gpus()
    assert out["gpus"] == [] and "pynvml" in out["reason"]


# --- verdicts ------------------------------------------------------------------------------

def _interp(torch=None, numpy="1.21.6", timm="0.4.12", python="3.9.18"):
    return {"python": python, "executable": "/x/bin/python", "packages": {
        "torch": torch or {"installed": None}, "numpy": {"installed": numpy},
        "timm": {"installed": timm}}}


TORCH_113 = {"installed": "1.10.2", "version": "1.10.2+cu113", "cuda": "11.3", "cudnn": 8200,
             "arch_list": ["sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86"],
             "cuda_available": True}
RTX4090 = {"gpus": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "cc": "8.9",
                     "memory_mib": 24564}], "driver": "470.82.01", "driver_cuda": "11.4",
           "reason": None}


def test_installed_torch_on_detected_gpu():
    r = doctor.assess(_interp(TORCH_113), HOST, RTX4090)
    assert [v.check for v in r.verdicts] == list(doctor.CHECKS)
    ok = {v.check: v.ok for v in r.verdicts}
    assert ok == {"torch_gpu": True, "nvcc_gpu": True, "driver": True, "numpy_abi": True,
                  "torch_python": True, "timm_torch": True, "nvcc_torch": True,
                  "nvcc_gcc": True, "cuda_home": True}
    assert "sm_86" in r.verdict("torch_gpu").reason
    # nvcc 11.3 tops out at 8.6: it compiles sm_86 for the 8.9 card
    assert "sm_86" in r.verdict("nvcc_gpu").reason
    assert "465.19.01" in r.verdict("driver").reason  # CUDA 11.3's own driver
    assert r.host["nvcc"]["sm_range"] == ["3.5", "8.6"]


def test_unreadable_arch_list_falls_back_to_kb():
    torch = dict(TORCH_113, arch_list=[])
    r = doctor.assess(_interp(torch), HOST, RTX4090)
    assert r.verdict("torch_gpu").ok is True


def test_cpu_build_on_gpu():
    torch = dict(TORCH_113, version="1.10.2+cpu", cuda=None, arch_list=[])
    r = doctor.assess(_interp(torch), HOST, RTX4090)
    assert r.verdict("torch_gpu").ok is False and "CPU-only" in r.verdict("torch_gpu").reason
    assert r.verdict("driver").ok is None


def test_two_gpus_one_unsupported():
    gpus = dict(RTX4090, gpus=RTX4090["gpus"] + [
        {"index": 1, "name": "NVIDIA H100 PCIe", "cc": "9.0", "memory_mib": 81559}])
    v = doctor.assess(_interp(TORCH_113), HOST, gpus).verdict("torch_gpu")
    assert v.ok is False and "RTX 4090" in v.reason and "H100" in v.reason


def test_old_driver_new_cuda():
    gpus = dict(RTX4090, driver="470.82.01")
    r = doctor.assess(_interp(), HOST, gpus, {"torch_build": _build("2.1.0+cu121")})
    assert r.verdict("driver").ok is False and "525.60.13" in r.verdict("driver").reason


def test_numpy2_with_torch22():
    r = doctor.assess(_interp(numpy="2.0.1", python="3.11.7"), HOST, NO_GPU,
                      {"torch_build": _build("2.2.2+cu121")})
    assert r.verdict("numpy_abi").ok is False and "numpy<2" in r.verdict("numpy_abi").reason


def test_timm_032_on_torch110():
    r = doctor.assess(_interp(TORCH_113, timm="0.3.2"), HOST, RTX4090)
    assert r.verdict("timm_torch").ok is False


def test_gcc_too_new_for_nvcc_and_bad_cuda_home():
    host = dict(HOST, gcc="11.4.0", cuda_home={"path": "/usr/local", "source": "parent of nvcc",
                                                "has_nvcc": True, "has_headers": False})
    r = doctor.assess(_interp(TORCH_113), host, RTX4090)
    assert r.verdict("nvcc_gcc").ok is False
    assert r.verdict("cuda_home").ok is False and "cuda_runtime.h" in r.verdict("cuda_home").reason


def test_bad_cuda_home_names_the_toolkit_behind_nvcc():
    home = {"path": "/usr/local", "source": "parent of nvcc", "has_nvcc": True,
            "has_headers": False, "toolkit_root": "/usr/local/cuda-13.0"}
    r = doctor.assess(_interp(TORCH_113), dict(HOST, cuda_home=home), RTX4090)
    assert "export CUDA_HOME=/usr/local/cuda-13.0" in r.verdict("cuda_home").reason


def _build(spec):
    from repro_core import compat

    b = compat.torch_build(spec)
    return {"spec": b.spec, "cuda": b.cuda, "arch_list": b.arch_list,
            "python": f"{b.python_min}-{b.python_max}", "torchvision": b.torchvision}


# --- collect(): real probes, hypothetical facts --------------------------------------------

def test_collect_hypothetical_rtx4090():
    r = doctor.collect(torch_build="1.10.2+cu113", gpu="8.9", hardware=NO_GPU_HW)
    assert r.assumed["gpu"] == {"cc": "8.9", "name": None, "given": "8.9"}
    assert r.assumed["torch_build"]["spec"] == "1.10.2+cu113"
    v = r.verdict("torch_gpu")
    assert v.ok is True and "sm_86" in v.reason
    assert r.verdict("driver").ok is None and "465.19.01" in r.verdict("driver").reason
    data = json.loads(r.to_json())
    assert set(data) == {"python", "packages", "host", "gpus", "assumed", "verdicts"}
    assert all(set(v) == {"check", "ok", "reason"} for v in data["verdicts"])
    checks = {v["check"] for v in data["verdicts"]}
    assert {"torch_gpu", "nvcc_gpu", "driver", "numpy_abi"} <= checks


def test_collect_hypothetical_h100_by_name():
    r = doctor.collect(torch_build="1.10.2+cu113", gpu="NVIDIA H100 80GB HBM3",
                       hardware=NO_GPU_HW)
    assert r.assumed["gpu"]["cc"] == "9.0" and r.assumed["gpu"]["name"] == "H100"
    assert r.verdict("torch_gpu").ok is False
    assert doctor.collect(torch_build="2.0.1+cu118", gpu="H100",
                          hardware=NO_GPU_HW).verdict("torch_gpu").ok is True


def test_collect_no_gpu_is_undecided_not_failed():
    r = doctor.collect(torch_build="2.14.1+cu130", hardware=NO_GPU_HW)
    assert r.gpus == NO_GPU
    for check in ("torch_gpu", "nvcc_gpu", "driver"):
        v = r.verdict(check)
        assert v.ok is None, check
    assert "no GPU found" in r.verdict("torch_gpu").reason


def test_collect_rejects_bad_values():
    """The error names the parameter and value; the command line puts its flag in front."""
    with pytest.raises(BadValue) as e:
        doctor.collect(torch_build="1.10.2-cu113")
    assert (e.value.field, e.value.value) == ("torch_build", "1.10.2-cu113")
    assert not str(e.value).startswith("--")
    assert str(e.value.flagged("--torch-build")).startswith("--torch-build 1.10.2-cu113: ")
    with pytest.raises(BadValue) as e:
        doctor.collect(gpu="Radeon")
    assert (e.value.field, str(e.value)) == ("gpu", "unknown GPU name 'Radeon'; give its "
                                                    "compute capability instead (e.g. 8.9)")
    assert str(e.value.flagged("--gpu")).startswith("--gpu Radeon: unknown GPU")


def test_stated_hardware_is_judged_like_detected_gpus():
    hw = Hardware(gpus=(GpuDevice("NVIDIA H100 PCIe", "9.0", 81559, 0),), driver="550.54.15",
                  driver_cuda="12.4", probed=True)
    r = doctor.collect(torch_build="2.0.1+cu118", hardware=hw)
    assert r.gpus["gpus"][0]["name"] == "NVIDIA H100 PCIe" and r.gpus["driver"] == "550.54.15"
    assert r.verdict("torch_gpu").ok is True and "NVIDIA H100 PCIe (9.0)" in r.verdict(
        "torch_gpu").reason
    assert r.verdict("driver").ok is True
