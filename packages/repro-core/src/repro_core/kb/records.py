"""The records of the knowledge base: one frozen dataclass per kind of fact row.

Field names are the JSON keys of ``kb/data/*.json``; ``kb.schema`` checks each row against
these type hints at load. Versions are strings ("1.10", "11.3", "3.9"), compute capabilities
"major.minor" strings ("8.9").
"""

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

from packaging.version import Version

from repro_core.kb.schema import CC, VERSION, pattern

MAJOR_MINOR = r"\d+\.\d+"


@dataclass(frozen=True)
class PythonRange:
    """Inclusive range of Python minors ("3.6" .. "3.9")."""

    min: str = pattern(MAJOR_MINOR, "a Python version such as 3.9")
    max: str = pattern(MAJOR_MINOR, "a Python version such as 3.9")


@dataclass(frozen=True)
class TorchPatch:
    """Facts of one torch patch release ("1.7.1") that differ from or add to its minor's."""

    torchvision: Optional[str] = None
    torchaudio: Optional[str] = None
    date: Optional[str] = None
    python_max: Optional[str] = pattern(MAJOR_MINOR, "a Python version such as 3.9",
                                        default=None)
    # the index the patch's wheels live on when it is not on PyPI (1.8.2 LTS); None: PyPI
    index: Optional[str] = pattern(r"https://\S+", "an index URL", default=None)


@dataclass(frozen=True)
class TorchRelease:
    """One torch minor release (``torch_releases.json``): its official Linux pip wheels."""

    version: str = pattern(MAJOR_MINOR, "a major.minor version such as 1.10")
    date: Optional[str]
    python: PythonRange
    cuda_variants: Tuple[str, ...] = pattern(r"cu\d{2,3}", "a wheel variant such as cu118")
    pypi_default: str = pattern(r"cu\d{2,3}|cpu", "a wheel variant such as cu118")
    arch_lists: Dict[str, str]  # variant -> TORCH_CUDA_ARCH_LIST
    torchvision: str = pattern(r"0\.\d+", "a torchvision series such as 0.11")
    torchaudio: str
    cxx_std: int
    numpy_built_against: str = pattern("[12]", "the numpy major 1 or 2")
    sources: Tuple[str, ...]
    patches: Dict[str, TorchPatch] = field(default_factory=dict)  # "1.7.1" -> facts
    patch_arch_lists: Dict[str, Dict[str, str]] = field(default_factory=dict)
    cudnn: Dict[str, str] = field(default_factory=dict)
    notes: Optional[str] = None
    uncertain: Optional[str] = None
    # CUDA variants whose wheel is assumed to exist (arch list from a neighbour), not seen
    assumed_variants: Tuple[str, ...] = pattern(r"cu\d{2,3}", "a wheel variant such as cu118",
                                                default=())

    def patch(self, version: str) -> Optional[TorchPatch]:
        """The facts of patch ``version`` ("1.8.2"), if the table has any."""
        return self.patches.get(version)

    def arch_lists_at(self, version: str) -> Dict[str, str]:
        """variant -> arch list of patch ``version`` ("1.8.0"): the minor's, with that patch's
        own lists where they differ."""
        lists = dict(self.arch_lists)
        lists.update(self.patch_arch_lists.get(version, {}))
        return lists

    def on_pypi(self, version: str) -> bool:
        """Is patch ``version`` on PyPI (not only on a separate index, as 1.8.2 LTS is)?"""
        p = self.patch(version)
        return p is None or p.index is None

    def patch_versions(self) -> FrozenSet[str]:
        """Every patch version the table names ("X.Y.0" always)."""
        return frozenset({self.version + ".0"} | set(self.patches) | set(self.patch_arch_lists))


@dataclass(frozen=True)
class CudaToolkit:
    """One CUDA toolkit minor (``cuda_toolkits.json``): drivers, nvcc targets, gcc bound."""

    version: str = pattern(MAJOR_MINOR, "a major.minor version such as 11.8")
    released: Optional[str]
    min_driver: str = pattern(VERSION, "a driver version such as 520.61.05")
    drivers: Dict[str, str] = pattern(VERSION, "a driver version such as 520.61.05")
    compat_driver_floor: Optional[str] = pattern(VERSION, "a driver version such as 450.80.02")
    sm_min: str = pattern(CC, "a compute capability such as 8.9")
    sm_max: str = pattern(CC, "a compute capability such as 8.9")
    gcc_max_exclusive: Optional[int]
    added: Optional[str] = None
    notes: Optional[str] = None
    uncertain: Optional[str] = None


@dataclass(frozen=True)
class GpuFamily:
    """A GPU architecture family (``gpus.json``): its capabilities and named GPUs."""

    family: str
    cc: Tuple[str, ...] = pattern(CC, "a compute capability such as 8.9")
    gpus: Dict[str, str] = pattern(CC, "a compute capability such as 8.9")  # name -> cc


@dataclass(frozen=True)
class Gpu:
    """One named GPU model: ``kb.gpu("RTX 4090")`` -> Gpu("RTX 4090", "8.9", "Ada Lovelace")."""

    name: str
    cc: str
    family: str


@dataclass(frozen=True)
class NumpyRelease:
    """A numpy release (``python_packages.json`` "numpy") and the Python minors it supports."""

    version: str = pattern(VERSION, "a version such as 1.21.0")
    date: Optional[str]
    python: PythonRange
    notes: Optional[str] = None


@dataclass(frozen=True)
class TimmRelease:
    """A timm release (``python_packages.json`` "timm"): its torch bounds and minimum Python."""

    version: str = pattern(VERSION, "a version such as 0.4.12")
    date: Optional[str]
    python_min: str = pattern(MAJOR_MINOR, "a Python version such as 3.9")
    torch_min: Optional[str] = pattern(VERSION, "a torch version such as 1.7", default=None)
    torch_max_exclusive: Optional[str] = pattern(VERSION, "a torch version such as 1.8",
                                                 default=None)
    notes: Optional[str] = None


@dataclass(frozen=True)
class ImportMap:
    """``import_map.json``: import name -> PyPI distribution, and the standard library."""

    distributions: Dict[str, str]
    stdlib: FrozenSet[str]
    python2_only: FrozenSet[str]


@dataclass(frozen=True)
class PythonRelease:
    """A Python minor plan may propose (``pythons.json``)."""

    version: str = pattern(MAJOR_MINOR, "a Python version such as 3.9")


@dataclass(frozen=True)
class BuildPin:
    """A requirement of building an extension with ``torch.utils.cpp_extension`` that the
    torch wheel does not declare (``extension_build.json``)."""

    when: str = pattern(r"cpp_extension|cython-language-level-2", "cpp_extension or "
                        "cython-language-level-2")
    torch: str  # a specifier on the torch version, ">=1.8,<2.2"; "" any
    requirement: str  # "setuptools<70"
    why: str
    source: str


@dataclass(frozen=True)
class NamedArch:
    """A name TORCH_CUDA_ARCH_LIST accepts and the list it stands for (``named_arches.json``)."""

    name: str
    arch_list: str


@dataclass(frozen=True)
class CudaImage:
    """One CUDA update's published Ubuntu ``nvidia/cuda`` images (``cuda_images.json``)."""

    cuda: str = pattern(r"\d+\.\d+\.\d+", "a CUDA update such as 11.3.1")
    cudnn_tag: Optional[str] = pattern(r"cudnn\d*", "a tag token such as cudnn8")  # None: no cuDNN
    cudnn_major: Optional[int]
    status: str = pattern("supported|unsupported", "supported or unsupported")
    tags: Tuple[str, ...]
    uncertain: Optional[str] = None

    def tag(self, flavor: str, ubuntu: str) -> Optional[str]:
        """The cuDNN tag of this flavour on this Ubuntu, if published."""
        if self.cudnn_tag is None:
            return None
        t = f"{self.cuda}-{self.cudnn_tag}-{flavor}-ubuntu{ubuntu}"
        return t if t in self.tags else None

    @property
    def ubuntus(self) -> List[str]:
        return sorted({t.rsplit("-ubuntu", 1)[1] for t in self.tags},
                      key=lambda v: tuple(int(x) for x in v.split(".")))


@dataclass(frozen=True)
class NgcPytorchImage:
    """One NVIDIA NGC PyTorch container release (``ngc_pytorch.json``): the torch NVIDIA ships
    as NVIDIA states it ("1.8.0a0+1606899"), the public release line a plan uses for it, and
    the CUDA/Python inside (None where the sources read did not state them)."""

    release: str = pattern(r"\d{2}\.\d{2}", "an NGC release such as 20.12")
    torch: str = pattern(r"\d+\.\d+\.\d+(?:a\d+|b\d+|rc\d+)?(?:\+[0-9a-z.]+)?",
                         "a torch version such as 1.8.0a0+1606899")
    torch_line: str = pattern(MAJOR_MINOR, "a torch release line such as 1.8")
    cuda: Optional[str] = pattern(MAJOR_MINOR, "a CUDA version such as 11.1")
    python: Optional[str] = pattern(MAJOR_MINOR, "a Python version such as 3.8")
    ubuntu: Optional[str] = pattern(MAJOR_MINOR, "an Ubuntu release such as 20.04")
    sources: Tuple[str, ...]
    why: Optional[str] = None  # why torch_line is not the minor of ``torch``

    @property
    def torch_minor(self) -> str:
        return ".".join(self.torch.split(".")[:2])

    @property
    def pre_release(self) -> bool:
        """Is the shipped torch a development build (``a0``/``b``/``rc``), not a release?"""
        return Version(self.torch).is_prerelease

    def reason(self) -> str:
        """What the image states, for a scan reason: "NGC PyTorch 20.12 image ships torch
        1.8.0a0+1606899 (pre-release of 1.8)"."""
        text = f"NGC PyTorch {self.release} image ships torch {self.torch}"
        if self.pre_release:
            text += f" (pre-release of {self.torch_minor}"
            if self.torch_line != self.torch_minor:
                text += f"; {self.why}; planned as {self.torch_line}"
            text += ")"
        return text


@dataclass(frozen=True)
class Deadsnakes:
    """The deadsnakes PPA: the Ubuntu releases it builds other Pythons for."""

    ppa: str
    ubuntu: Tuple[str, ...] = pattern(MAJOR_MINOR, "an Ubuntu release such as 22.04")
    uncertain: str = ""


FIX_KINDS = ("pin", "migrate", "env", "arch", "install", "build")


@dataclass(frozen=True)
class DiagnosticFix:
    """The fix a diagnostic names: ``kind`` (one of FIX_KINDS) and ``value``, a template whose
    ``{group}`` fields come from the regex's named groups or diagnose's computed fields
    (``{distribution}``, ``{arch_list}``)."""

    kind: str = pattern("|".join(FIX_KINDS), "one of " + ", ".join(FIX_KINDS))
    value: str = ""
    note: Optional[str] = None


@dataclass(frozen=True)
class Diagnostic:
    """A failure ``repro diagnose`` recognises beyond the rules' ``errors`` texts
    (``diagnostics.json``): ``regex`` searched in each log line; ``link`` hands a named
    group (``subject``, a template) to the rules' patterns: "name" (a dotted name vs
    name/call patterns), "keyword" (a call's keyword), "arch" (a compiler arch flag vs
    string patterns), "source" (the compiler's source excerpt vs cpp patterns)."""

    id: str = pattern(r"[a-z0-9][a-z0-9-]*", "lower-case words joined by '-'")
    regex: Tuple[str, ...]
    what: str
    why: str
    fix: Optional[DiagnosticFix] = None
    advice: Optional[str] = None  # what to do when there is no automatic fix
    link: Optional[str] = pattern("name|keyword|arch|source|syntax", "one of name, keyword, "
                                  "arch, source, syntax", default=None)
    subject: Optional[str] = None
    severity: str = pattern("error|warning", "error or warning", default="error")
    priority: int = 50
