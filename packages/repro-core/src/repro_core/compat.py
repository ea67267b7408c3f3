"""GPU / CUDA / driver / wheel compatibility rules: pure functions over the knowledge base.

Compute capabilities are ``(major, minor)`` tuples. The binary-compatibility rule (NVIDIA CUDA
C++ Programming Guide, "Binary Compatibility" / "PTX Compatibility"): SASS compiled for X.y runs
on a GPU of compute capability X.z with z >= y and never on another major; PTX for X.y is
JIT-compiled by the driver for any GPU with capability >= X.y. Arch-specific targets (``9.0a``)
run only on exactly that capability. Facts (arch lists, drivers, nvcc ranges) come from
``kb/data/{torch_releases,cuda_toolkits,gpus,python_packages,named_arches}.json``, through the
query functions of ``repro_core.kb``.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from packaging.version import InvalidVersion, Version

from repro_core import kb
from repro_core.errors import ReproError

CC = Tuple[int, int]

_CC_RE = re.compile(r"^(?:sm_|compute_|lto_)?(\d+)(?:\.(\d+))?([af]?)$", re.IGNORECASE)


def parse_cc(s: Union[str, float, Sequence[int]]) -> CC:
    """Parse a compute capability: "8.9", "89", "sm_89", "compute_90", "9.0a", "120" -> (12, 0)."""
    if isinstance(s, (tuple, list)) and len(s) == 2:
        return int(s[0]), int(s[1])
    text = str(s).strip()
    m = _CC_RE.match(text)
    if not m:
        raise ReproError(f"not a compute capability: {s!r} (expected e.g. 8.9, 89 or sm_89)")
    major, minor = m.group(1), m.group(2)
    if minor is not None:
        cc = int(major), int(minor)
    elif len(major) < 2:
        cc = int(major), 0
    else:
        cc = int(major[:-1]), int(major[-1])
    if not 1 <= cc[0] <= 20 or cc[1] > 9:
        raise ReproError(f"not a compute capability: {s!r} (major 1-20, minor 0-9)")
    return cc


def cc_str(cc: CC) -> str:
    return f"{cc[0]}.{cc[1]}"


@dataclass(frozen=True)
class Target:
    """One entry of an arch list: SASS and/or PTX for a capability (``exact``: an 'a' target)."""

    cc: CC
    sass: bool
    ptx: bool
    exact: bool = False

    def label(self, kind: str) -> str:
        suffix = "a" if self.exact else ""
        return f"{'sm' if kind == 'sass' else 'compute'}_{self.cc[0]}{self.cc[1]}{suffix}"


def parse_arch_list(arch_list: Union[str, Sequence[str], None]) -> List[Target]:
    """Parse a TORCH_CUDA_ARCH_LIST ("3.7;5.0;8.6+PTX", space/comma separated too, names such
    as "Ampere" expanded as torch does) or a torch.cuda.get_arch_list() list (["sm_80",
    "sm_86", "compute_86"]) into targets."""
    if arch_list is None:
        return []
    if isinstance(arch_list, str):
        named = kb.named_arches()
        tokens = [x for t in re.split(r"[;,\s]+", arch_list) for x in named.get(t, t).split(";")]
    else:
        tokens = list(arch_list)
    found: Dict[Tuple[CC, bool], List[bool]] = {}
    for tok in (t.strip() for t in tokens):
        if not tok:
            continue
        ptx_suffix = tok.upper().endswith("+PTX")
        core = tok[:-4] if ptx_suffix else tok
        low = core.lower()
        try:
            cc = parse_cc(core)
        except ReproError:
            raise ReproError(f"arch list entry {tok!r} is not a compute capability") from None
        exact = low.endswith("a")
        key = (cc, exact)
        sass_ptx = found.setdefault(key, [False, False])
        if low.startswith("compute_"):
            sass_ptx[1] = True
        else:
            sass_ptx[0] = True
            sass_ptx[1] = sass_ptx[1] or ptx_suffix
    return [Target(cc, s, p, exact) for (cc, exact), (s, p) in sorted(found.items())]


@dataclass(frozen=True)
class Verdict:
    """Whether code runs on a GPU, and how: ``via`` is "sass" (a cubin for the GPU's major at
    or below its minor), "ptx" (no cubin; the driver JIT-compiles embedded PTX, slow first
    launch) or "none" (it cannot run; ``ok`` is False). ``reason`` is prose for people only."""

    ok: bool
    via: str
    reason: str


def can_run(arch_list: Union[str, Sequence[str], None], gpu_cc) -> Verdict:
    """Can code compiled for ``arch_list`` run on a GPU of capability ``gpu_cc``?"""
    gpu = parse_cc(gpu_cc)
    targets = parse_arch_list(arch_list)
    g = cc_str(gpu)
    if not targets:
        return Verdict(False, "none",
                       "the build contains no CUDA code (empty arch list: a CPU-only build)")
    sass = [t for t in targets if t.sass and (
        (t.cc == gpu) if t.exact else (t.cc[0] == gpu[0] and t.cc[1] <= gpu[1]))]
    if sass:
        best = max(sass, key=lambda t: t.cc)
        if best.cc == gpu:
            return Verdict(True, "sass", f"{best.label('sass')} SASS matches the GPU's {g} exactly")
        return Verdict(True, "sass", f"{best.label('sass')} SASS runs on {g} (same major "
                                     f"{gpu[0]}, minor {best.cc[1]} <= {gpu[1]})")
    ptx = [t for t in targets if t.ptx and ((t.cc == gpu) if t.exact else t.cc <= gpu)]
    if ptx:
        best = max(ptx, key=lambda t: t.cc)
        return Verdict(True, "ptx", f"no SASS for {g}, but {best.label('ptx')} PTX is JIT-compiled "
                                    f"for it by the driver (slow first launch)")
    have = ", ".join(cc_str(t.cc) + ("+PTX" if t.ptx else "") for t in targets)
    return Verdict(False, "none", (
        f"no kernel image for {g}: the build has SASS/PTX for {have}; SASS never runs across "
        f"majors or on a lower capability, and no PTX <= {g} is embedded"))


# --- CUDA toolkits -------------------------------------------------------------------------


def cuda_mm(version: str) -> str:
    """"12.4.131" / "V12.4.131" / "12" -> "12.4" / "12.4" / "12.0"."""
    m = re.match(r"^[vV]?(\d+)(?:\.(\d+))?", str(version).strip())
    if not m:
        raise ReproError(f"not a CUDA version: {version!r}")
    return f"{int(m.group(1))}.{int(m.group(2) or 0)}"


def toolkit(cuda_version: str) -> kb.CudaToolkit:
    """The CUDA toolkit of a version ("12.4.131": by major.minor); ReproError naming the known
    ones."""
    return kb.cuda_toolkit(cuda_mm(cuda_version))


def nvcc_arch_range(nvcc_version: str) -> Tuple[str, str]:
    """(lowest, highest) capability this nvcc compiles for: "13.0" -> ("7.5", "12.1")."""
    row = toolkit(nvcc_version)
    return row.sm_min, row.sm_max


def _known_ccs(discrete_only: bool = True) -> List[CC]:
    return sorted(parse_cc(c) for c in kb.gpu_ccs(discrete_only))


def best_arch(gpu_cc, nvcc_version: str) -> Tuple[Optional[str], str]:
    """The capability to compile for ``gpu_cc`` with this nvcc: the GPU's own if nvcc supports
    it, else the highest supported discrete capability of the same major below it (its SASS
    still runs), else None. The string says what was done and why."""
    gpu = parse_cc(gpu_cc)
    lo, hi = (parse_cc(c) for c in nvcc_arch_range(nvcc_version))
    nv, g = cuda_mm(nvcc_version), cc_str(gpu)
    span = f"nvcc {nv} targets {cc_str(lo)}-{cc_str(hi)}"
    if lo <= gpu <= hi:
        return g, f"{span}: compiling sm_{gpu[0]}{gpu[1]} for the GPU's own {g}"
    if gpu < lo:
        return None, (f"{span}: it dropped {g}; use a CUDA toolkit that still targets {g}")
    same = [c for c in _known_ccs() if c[0] == gpu[0] and lo <= c <= hi and c <= gpu]
    if same:
        c = max(same)
        return cc_str(c), (f"{span}, not {g}: compiling sm_{c[0]}{c[1]}, whose SASS runs on {g} "
                           f"(same major {gpu[0]})")
    return None, (f"{span}: no target of major {gpu[0]}, so no SASS can run on {g} "
                  f"(compute_{hi[0]}{hi[1]} PTX would only JIT); use a newer CUDA toolkit")


def nvcc_torch_ok(nvcc_version: str, torch_cuda: str) -> Tuple[bool, str]:
    """torch.utils.cpp_extension refuses an nvcc of another CUDA major than torch's build (and
    only warns about another minor)."""
    nv, tc = cuda_mm(nvcc_version), cuda_mm(torch_cuda)
    if nv.split(".")[0] != tc.split(".")[0]:
        return False, (f"nvcc {nv} and torch's CUDA {tc} differ in major version: "
                       f"cpp_extension refuses to build; install CUDA {tc.split('.')[0]}.x")
    if nv != tc:
        return True, f"nvcc {nv} vs torch's CUDA {tc}: same major (cpp_extension only warns)"
    return True, f"nvcc {nv} matches torch's CUDA {tc}"


def gcc_ok(gcc_version: str, cuda_version: str) -> Tuple[Optional[bool], str]:
    """Is this host gcc accepted by nvcc of ``cuda_version`` (cpp_extension's bounds)?"""
    row = toolkit(cuda_version)
    bound = row.gcc_max_exclusive
    major = Version(gcc_version).release[0]
    if bound is None:
        return None, f"no known gcc bound for CUDA {row.version}"
    if major < bound:
        return True, f"gcc {gcc_version} < {bound} (the bound for CUDA {row.version})"
    return False, (f"gcc {gcc_version} is too new for CUDA {row.version} (needs gcc < {bound}); "
                   f"install an older gcc or set CC/CXX")


# --- drivers -------------------------------------------------------------------------------


def _v(s: str, what: str) -> Version:
    try:
        return Version(str(s).strip())
    except InvalidVersion:
        raise ReproError(f"not a {what} version: {s!r}") from None


_DRIVER_RE = re.compile(r"\d+(?:\.\d+){0,2}")


def driver_version(text: str) -> str:
    """A Linux NVIDIA driver version as nvidia-smi prints it ("535.104.05", "384.81");
    ReproError for anything else."""
    v = str(text).strip()
    if not _DRIVER_RE.fullmatch(v):
        raise ReproError(f"not an NVIDIA driver version: {text!r} (expected e.g. 535.104.05)")
    return v


def min_driver(cuda_version: str) -> str:
    """The Linux driver shipped with the toolkit's GA release (always sufficient)."""
    return toolkit(cuda_version).min_driver


def compat_driver_floor(cuda_version: str) -> Optional[str]:
    """The minor-version-compatibility driver floor of the CUDA major (None before CUDA 11)."""
    return toolkit(cuda_version).compat_driver_floor


def driver_requirement(cuda_version: str) -> str:
    """'driver >= 465.19.01 (or >= 450.80.02 via minor-version compatibility)'."""
    row = toolkit(cuda_version)
    need, floor = row.min_driver, row.compat_driver_floor
    also = (f" (or >= {floor} via minor-version compatibility)"
            if floor and Version(floor) < Version(need) else "")
    return f"driver >= {need}{also}"


def driver_ok(driver_version: str, cuda_version: str) -> Tuple[bool, str]:
    """Can a driver run code built with this CUDA runtime?"""
    drv = _v(driver_version, "driver")
    row = toolkit(cuda_version)
    need, floor = row.min_driver, row.compat_driver_floor
    cu = row.version
    if drv >= Version(need):
        return True, f"driver {driver_version} >= {need}, the CUDA {cu} driver"
    if floor and drv >= Version(floor):
        return True, (f"driver {driver_version} < {need} (CUDA {cu}) but >= {floor}: runs via "
                      f"CUDA {cu.split('.')[0]}.x minor-version compatibility "
                      f"(no JIT of newer PTX)")
    return False, (f"driver {driver_version} is too old for CUDA {cu}: needs "
                   f"{driver_requirement(cu)[len('driver '):]}")


def max_cuda_for_driver(driver_version: str) -> Optional[str]:
    """The newest CUDA toolkit whose own driver this driver reaches (None if below all)."""
    drv = _v(driver_version, "driver")
    ok = [r.version for r in kb.cuda_toolkits() if drv >= Version(r.min_driver)]
    return max(ok, key=Version) if ok else None


# --- torch builds --------------------------------------------------------------------------

_BUILD_RE = re.compile(r"^(\d+\.\d+(?:\.\d+)?)(?:\+(cu\d{2,3}|cpu))?$")


def variant_cuda(variant: str) -> Optional[str]:
    """"cu113" -> "11.3", "cu92" -> "9.2", "cu130" -> "13.0", "cpu" -> None."""
    if variant == "cpu":
        return None
    m = re.match(r"^cu(\d+)(\d)$", variant)
    if not m:
        raise ReproError(f"not a CUDA wheel variant: {variant!r} (expected e.g. cu118)")
    return f"{int(m.group(1))}.{m.group(2)}"


def torch_release(version: str) -> kb.TorchRelease:
    """The torch release of a version ("1.10.2", "1.10" or "2.1.0+cu121")."""
    try:
        v = Version(str(version))
    except InvalidVersion:
        raise ReproError(f"not a torch version: {version!r}") from None
    return kb.torch_release(f"{v.major}.{v.minor}")


@dataclass(frozen=True)
class TorchBuild:
    """A torch wheel: version, CUDA variant, and the facts doctor needs about it."""

    version: str
    variant: str
    cuda: Optional[str]
    arch_list: str
    python_min: str
    python_max: str
    numpy_built_against: str
    torchvision: str
    uncertain: Optional[str] = None

    @property
    def spec(self) -> str:
        return f"{self.version}+{self.variant}"


def torch_build(spec: str) -> TorchBuild:
    """Look up an official wheel: "1.10.2+cu113", "2.1.0" (PyPI default variant), "1.13.1+cpu"."""
    m = _BUILD_RE.match(str(spec).strip())
    if not m:
        raise ReproError(f"{spec!r} is not VERSION+cuXYZ (e.g. 1.10.2+cu113)")
    version, variant = _full(m.group(1)), m.group(2)
    row = torch_release(version)
    if version not in row.patch_versions():
        known = ", ".join(sorted(row.patch_versions(), key=Version))
        raise ReproError(f"torch {version} was never released (known {row.version} releases: "
                         f"{known})")
    variant = variant or row.pypi_default
    if variant == "cpu":
        arch = ""
    else:
        lists = row.arch_lists_at(_full(version))
        if variant not in lists:
            known = ", ".join(sorted(lists, key=lambda x: int(x[2:])))
            raise ReproError(f"torch {row.version} has no {variant} wheel (known: {known}, cpu)")
        arch = lists[variant]
    return TorchBuild(
        version=version, variant=variant, cuda=variant_cuda(variant), arch_list=arch,
        python_min=row.python.min, python_max=row.python.max,
        numpy_built_against=row.numpy_built_against,
        torchvision=torchvision_for(version), uncertain=row.uncertain)


def _full(version: str) -> str:
    return version if version.count(".") == 2 else version + ".0"


def torchvision_for(torch_version: str) -> str:
    """The torchvision version (or ``0.N.*`` series) paired with a torch version."""
    row = torch_release(torch_version)
    patch = row.patch(_full(str(Version(torch_version).base_version)))
    if patch and patch.torchvision:
        return patch.torchvision
    return row.torchvision + ".*"


def python_ok(torch_version: str, python_version: str) -> Tuple[bool, str]:
    """Did this torch release ship wheels for this Python (major.minor)?"""
    row = torch_release(torch_version)
    lo, hi = row.python.min, row.python.max
    patch = row.patch(_full(Version(torch_version).base_version))
    hi = patch.python_max if patch and patch.python_max else hi
    pv = Version(python_version)
    py = f"{pv.major}.{pv.minor}"
    if Version(lo) <= Version(py) <= Version(hi):
        return True, f"torch {torch_version} has wheels for Python {lo}-{hi}, including {py}"
    return False, f"torch {torch_version} has wheels for Python {lo}-{hi} only, not {py}"


# --- numpy / timm --------------------------------------------------------------------------


def numpy_abi_ok(torch_version: str, numpy_version: str) -> Tuple[bool, str]:
    """torch <= 2.2 wheels were built against NumPy 1.x and fail with NumPy 2."""
    row = torch_release(torch_version)
    np_major = Version(numpy_version).major
    if row.numpy_built_against == "1" and np_major >= 2:
        return False, (f"torch {torch_version} was built against NumPy 1.x and cannot use "
                       f"numpy {numpy_version}: install numpy<2")
    built = "NumPy 1.x" if row.numpy_built_against == "1" else "NumPy 2 (works with 1.x and 2.x)"
    return True, f"numpy {numpy_version} fits torch {torch_version}, built against {built}"


def numpy_python_range(numpy_version: str) -> Optional[Tuple[str, str]]:
    """(min, max) Python minor supported by the numpy release at or below ``numpy_version``."""
    row = kb.numpy_release(numpy_version)
    return (row.python.min, row.python.max) if row else None


def timm_torch_ok(timm_version: str, torch_version: str) -> Tuple[Optional[bool], str]:
    """Does this timm import on this torch (install_requires minimum, torch._six removal)?"""
    row = kb.timm_release(timm_version)
    if row is None:
        return None, f"timm {timm_version} is older than any release in the knowledge base"
    tv = Version(torch_version)
    lo, hi = row.torch_min, row.torch_max_exclusive
    if lo and tv < Version(lo):
        return False, f"timm {timm_version} requires torch >= {lo}"
    if hi and tv >= Version(hi):
        return False, (f"timm {timm_version} fails to import on torch >= {hi} "
                       f"({row.notes or 'incompatible'}); use timm >= 0.4.5")
    return True, f"timm {timm_version} works with torch {torch_version}"


# --- GPU names -----------------------------------------------------------------------------


def gpu_cc(name_or_cc: str) -> Tuple[CC, str]:
    """A GPU given as a capability ("8.9", "sm_89") or a name ("RTX 4090", "A100-SXM4-80GB")
    -> (capability, the matched name or "")."""
    try:
        return parse_cc(name_or_cc), ""
    except ReproError:
        pass
    best = kb.gpu(str(name_or_cc))
    if best is None:
        close = kb.close_gpu_names(str(name_or_cc))
        near = f" (closest known: {', '.join(close)})" if close else ""
        raise ReproError(f"unknown GPU name {name_or_cc!r}{near}; give its compute capability "
                         f"instead (e.g. 8.9)")
    return parse_cc(best.cc), best.name
