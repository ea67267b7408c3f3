"""`repro doctor`: can this machine run (or build for) a given PyTorch setup?

``collect()`` gathers facts (the target interpreter through a child-process probe, host
compilers, and the machine's ``Hardware``: GPUs through NVML, unless given) and ``assess()``
turns facts into verdicts with the rules of ``repro_core.compat``. ``torch_build`` and ``gpu``
replace the installed torch and the detected GPUs with hypothetical ones, so the question can
be asked from any machine. Bad values raise ``BadValue`` naming the parameter.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from repro_core import compat
from repro_core.errors import BadValue, ReproError
from repro_core.hardware import Hardware
from repro_core.probe import PROBE_TIMEOUT, probe_host, probe_interpreter

CHECKS = ("torch_gpu", "nvcc_gpu", "driver", "numpy_abi", "torch_python", "timm_torch",
          "nvcc_torch", "nvcc_gcc", "cuda_home")


@dataclass(frozen=True)
class Verdict:
    check: str
    ok: Optional[bool]  # None: cannot be decided here; reason says why
    reason: str


@dataclass(frozen=True)
class DoctorReport:
    python: Dict[str, Any]  # interpreter facts (version, platform, glibc, executable)
    packages: Dict[str, Any]  # torch / numpy / timm as the target interpreter sees them
    host: Dict[str, Any]  # gcc, nvcc, CUDA_HOME
    gpus: Dict[str, Any]  # NVML: gpus, driver, driver_cuda, reason
    assumed: Dict[str, Any]  # hypothetical facts given by the user (torch_build, gpu)
    verdicts: Tuple[Verdict, ...] = field(default_factory=tuple)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def verdict(self, check: str) -> Verdict:
        return next(v for v in self.verdicts if v.check == check)


@dataclass(frozen=True)
class _Torch:
    """The torch being judged: installed (from the probe) or assumed (--torch-build)."""

    version: Optional[str]  # None: no usable torch
    cuda: Optional[str]
    arch_list: Optional[List[str]]
    label: str  # how to name it in reasons
    missing: str = ""  # why there is no torch, when version is None


def _parse_gpu(gpu: str) -> Dict[str, Any]:
    g = Hardware.stated(gpu).gpus[0]
    return {"cc": g.cc, "name": g.name or None, "given": gpu}


def _torch_build(spec: str) -> compat.TorchBuild:
    try:
        return compat.torch_build(spec)
    except ReproError as e:
        raise BadValue(str(e), "torch_build", spec) from None


def collect(python: Optional[str] = None, torch_build: Optional[str] = None,
            gpu: Optional[str] = None, hardware: Optional[Hardware] = None,
            timeout: float = PROBE_TIMEOUT) -> DoctorReport:
    """Probe the ``python`` interpreter (for at most ``timeout`` seconds) and the host
    compilers, and judge them with this machine's ``hardware`` (default: probed).
    ``torch_build`` ("1.10.2+cu113") and ``gpu`` (a capability or name) are judged instead of
    the installed torch and the detected GPUs."""
    if not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
        raise BadValue("not a positive number of seconds", "timeout", str(timeout))
    assumed: Dict[str, Any] = {}
    if torch_build is not None:
        b = _torch_build(torch_build)
        assumed["torch_build"] = {"spec": b.spec, "cuda": b.cuda, "arch_list": b.arch_list,
                                  "python": f"{b.python_min}-{b.python_max}",
                                  "torchvision": b.torchvision}
    if gpu is not None:
        assumed["gpu"] = _parse_gpu(gpu)
    interp = probe_interpreter(python, timeout)
    if hardware is None:
        from repro_core.probe import hardware as probe_hardware

        hardware = probe_hardware()
    return assess(interp, probe_host(), hardware.gpu_facts(), assumed)


def assess(interp: Dict[str, Any], host: Dict[str, Any], gpus: Dict[str, Any],
           assumed: Optional[Dict[str, Any]] = None) -> DoctorReport:
    """Verdicts from already-gathered facts (pure: no probing)."""
    assumed = assumed or {}
    nvcc = host.get("nvcc") or {}
    if nvcc.get("version"):
        try:
            host = dict(host, nvcc=dict(nvcc, sm_range=list(compat.nvcc_arch_range(
                nvcc["version"]))))
        except ReproError:
            host = dict(host, nvcc=dict(nvcc, sm_range=None))
    packages = interp.get("packages", {})
    python = {k: v for k, v in interp.items() if k != "packages"}
    torch = _torch(packages.get("torch") or {}, assumed.get("torch_build"), python)
    targets = _gpu_targets(gpus, assumed.get("gpu"))
    verdicts = (
        _torch_gpu(torch, targets, gpus),
        _nvcc_gpu(host, targets, gpus),
        _driver(torch, gpus),
        _numpy_abi(torch, packages),
        _torch_python(torch, python),
        _timm_torch(torch, packages),
        _nvcc_torch(torch, host),
        _nvcc_gcc(host),
        _cuda_home(host),
    )
    return DoctorReport(python=python, packages=packages, host=host, gpus=gpus,
                        assumed=assumed, verdicts=verdicts)


# --- facts ---------------------------------------------------------------------------------


def _torch(probe: Dict[str, Any], assumed: Optional[Dict[str, Any]],
           python: Dict[str, Any]) -> _Torch:
    if assumed:
        arch = [a for a in assumed["arch_list"].split(";") if a]
        return _Torch(assumed["spec"], assumed["cuda"], arch, f"torch {assumed['spec']}")
    where = python.get("executable", "the target interpreter")
    if not probe.get("installed"):
        return _Torch(None, None, None, "torch", f"no torch installed in {where}")
    if probe.get("error"):
        return _Torch(None, None, None, "torch",
                      f"torch {probe['installed']} fails to import: {probe['error']}")
    version, cuda = probe["version"], probe.get("cuda")
    arch = probe.get("arch_list")
    if not isinstance(arch, list) or (not arch and cuda):
        try:  # compiled list not readable: use the knowledge base's for this wheel
            arch = compat.torch_build(version).arch_list.split(";")
        except ReproError:
            arch = None
    return _Torch(version, cuda, arch, f"torch {version}")


def _gpu_targets(gpus: Dict[str, Any], assumed: Optional[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """[(cc, label)] of the GPUs to judge: the assumed one, else each distinct detected one."""
    if assumed:
        name = f" ({assumed['name']})" if assumed.get("name") else ""
        return [(assumed["cc"], f"GPU {assumed['cc']}{name}")]
    seen: Dict[str, str] = {}
    for g in gpus.get("gpus", []):
        seen.setdefault(g["cc"], f"{g['name']} ({g['cc']})")
    return [(cc, label) for cc, label in seen.items()]


def _no_gpu(gpus: Dict[str, Any]) -> str:
    why = gpus.get("reason") or "the driver reports none"
    return f"no GPU found ({why}); pass --gpu CC or NAME to ask about one"


def _combine(check: str, results: List[Tuple[Optional[bool], str]]) -> Verdict:
    oks = [ok for ok, _ in results]
    ok = False if False in oks else (None if None in oks else True)
    return Verdict(check, ok, "; ".join(reason for _, reason in results))


def _version_base(v: str) -> str:
    return v.split("+")[0]


# --- checks --------------------------------------------------------------------------------


def _torch_gpu(torch: _Torch, targets, gpus) -> Verdict:
    if torch.version is None:
        return Verdict("torch_gpu", None, f"{torch.missing}; pass --torch-build VERSION+cuXYZ")
    if not targets:
        return Verdict("torch_gpu", None, _no_gpu(gpus))
    if torch.cuda is None:
        return Verdict("torch_gpu", False, f"{torch.label} is a CPU-only build: no CUDA kernels")
    if torch.arch_list is None:
        return Verdict("torch_gpu", None, f"the arch list of {torch.label} is unknown")
    results = []
    for cc, label in targets:
        runs = compat.can_run(torch.arch_list, cc)
        results.append((runs.ok, f"{label}: {runs.reason}"))
    return _combine("torch_gpu", results)


def _nvcc_gpu(host, targets, gpus) -> Verdict:
    nvcc = host.get("nvcc") or {}
    if not nvcc.get("version"):
        return Verdict("nvcc_gpu", None, "no nvcc found (set CUDA_HOME or put nvcc on PATH)")
    if not targets:
        return Verdict("nvcc_gpu", None, _no_gpu(gpus))
    results = []
    for cc, label in targets:
        try:
            arch, why = compat.best_arch(cc, nvcc["version"])
        except ReproError as e:
            results.append((None, str(e)))
            continue
        results.append((arch is not None, f"{label}: {why}"))
    return _combine("nvcc_gpu", results)


def _driver(torch: _Torch, gpus) -> Verdict:
    if torch.version is None:
        return Verdict("driver", None, torch.missing)
    if torch.cuda is None:
        return Verdict("driver", None, f"{torch.label} is a CPU-only build: it needs no driver")
    try:
        need = compat.driver_requirement(torch.cuda)
    except ReproError as e:
        return Verdict("driver", None, str(e))
    if not gpus.get("driver"):
        return Verdict("driver", None, f"no NVIDIA driver found ({gpus.get('reason')}); "
                       f"{torch.label} (CUDA {torch.cuda}) needs {need}")
    ok, why = compat.driver_ok(gpus["driver"], torch.cuda)
    return Verdict("driver", ok, why)


def _numpy_abi(torch: _Torch, packages) -> Verdict:
    np = (packages.get("numpy") or {}).get("installed")
    if torch.version is None:
        return Verdict("numpy_abi", None, torch.missing)
    if not np:
        return Verdict("numpy_abi", None, "numpy is not installed (torch runs without it)")
    try:
        ok, why = compat.numpy_abi_ok(_version_base(torch.version), np)
    except ReproError as e:
        return Verdict("numpy_abi", None, str(e))
    return Verdict("numpy_abi", ok, why)


def _torch_python(torch: _Torch, python) -> Verdict:
    if torch.version is None:
        return Verdict("torch_python", None, torch.missing)
    try:
        ok, why = compat.python_ok(_version_base(torch.version), python["python"])
    except ReproError as e:
        return Verdict("torch_python", None, str(e))
    return Verdict("torch_python", ok, why)


def _timm_torch(torch: _Torch, packages) -> Verdict:
    timm = (packages.get("timm") or {}).get("installed")
    if torch.version is None:
        return Verdict("timm_torch", None, torch.missing)
    if not timm:
        return Verdict("timm_torch", None, "timm is not installed")
    ok, why = compat.timm_torch_ok(timm, _version_base(torch.version))
    return Verdict("timm_torch", ok, why)


def _nvcc_torch(torch: _Torch, host) -> Verdict:
    nvcc = (host.get("nvcc") or {}).get("version")
    if torch.version is None:
        return Verdict("nvcc_torch", None, torch.missing)
    if torch.cuda is None:
        return Verdict("nvcc_torch", None,
                       f"{torch.label} is a CPU-only build: extensions build without nvcc")
    if not nvcc:
        return Verdict("nvcc_torch", None, "no nvcc found: CUDA extensions cannot be built")
    ok, why = compat.nvcc_torch_ok(nvcc, torch.cuda)
    return Verdict("nvcc_torch", ok, why)


def _nvcc_gcc(host) -> Verdict:
    nvcc = (host.get("nvcc") or {}).get("version")
    if not nvcc:
        return Verdict("nvcc_gcc", None, "no nvcc found")
    if not host.get("gcc"):
        return Verdict("nvcc_gcc", None, f"no host compiler found ({host.get('cxx')})")
    try:
        ok, why = compat.gcc_ok(host["gcc"], nvcc)
    except ReproError as e:
        return Verdict("nvcc_gcc", None, str(e))
    return Verdict("nvcc_gcc", ok, why)


def _cuda_home(host) -> Verdict:
    home = host.get("cuda_home") or {}
    path = home.get("path")
    if not path:
        return Verdict("cuda_home", None, f"no CUDA toolkit found ({home.get('source')})")
    where = f"CUDA_HOME {path} ({home.get('source')})"
    if home.get("has_nvcc") and home.get("has_headers"):
        return Verdict("cuda_home", True, f"{where} has bin/nvcc and include/cuda_runtime.h")
    lacks = " and ".join(x for x, ok in (("bin/nvcc", home.get("has_nvcc")),
                                         ("include/cuda_runtime.h", home.get("has_headers")))
                         if not ok)
    root = home.get("toolkit_root")
    fix = (f"export CUDA_HOME={root} (the toolkit found behind nvcc)" if root
           else "set CUDA_HOME to the toolkit folder (e.g. /usr/local/cuda)")
    return Verdict("cuda_home", False, f"{where} lacks {lacks}: extension builds will fail; "
                   f"{fix}")
