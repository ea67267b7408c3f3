"""The knowledge base: compatibility facts and breakage rules, as JSON data files.

One place drives doctor, scan, plan (and later migrate/diagnose). Adding a fact is adding
a row to a file under ``kb/data/``. Each fact file is read once (cached) into frozen records
(``kb.records``), checked at load: a malformed row is a one-line ReproError naming the file,
the row and the field. Modules outside ``repro_core.kb`` ask the query functions below
(``torch_release("1.10")``, ``cuda_toolkit("11.3")``, ``gpu("RTX 4090")``, ...) and never
index the JSON. Every table function takes ``data_dir`` (default: the packaged data), so a
test can load a copy. ``load``/``names`` read the rule files (``repro_core.rules``).
"""

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Optional, Tuple, TypeVar

from packaging.version import Version

from repro_core.errors import ReproError
from repro_core.kb import schema
from repro_core.kb.records import (
    BuildPin,
    CudaImage,
    CudaToolkit,
    Deadsnakes,
    Diagnostic,
    DiagnosticFix,
    Gpu,
    GpuFamily,
    ImportMap,
    NamedArch,
    NgcPytorchImage,
    NumpyRelease,
    PythonRange,
    PythonRelease,
    TimmRelease,
    TorchPatch,
    TorchRelease,
)

DATA = Path(__file__).resolve().parent / "data"

R = TypeVar("R")


@lru_cache(maxsize=None)
def load(name: str) -> Any:
    """Return the parsed ``kb/data/<name>.json`` (``name`` may contain a sub-folder)."""
    return _json(DATA, name)


def names(folder: str = "") -> list:
    """The data files under ``kb/data/<folder>`` (without the .json suffix), sorted."""
    base = DATA / folder
    return sorted(str(p.relative_to(DATA).with_suffix("")) for p in base.rglob("*.json"))


def _json(data_dir: Path, name: str) -> Any:
    path = Path(data_dir) / f"{name}.json"
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ReproError(f"{path}: knowledge-base file missing") from None
    except json.JSONDecodeError as e:
        raise ReproError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None


def _table(data_dir: Path, name: str, table: str, cls: type, key: Optional[str] = "version"
           ) -> tuple:
    data = _json(data_dir, name)
    path = str(Path(data_dir) / f"{name}.json")
    if not isinstance(data, dict) or table not in data:
        raise ReproError(f"{path}: no {table!r} table")
    return schema.records(cls, data[table], path, table, key)


# --- tables --------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def torch_releases(data_dir: Path = DATA) -> Tuple[TorchRelease, ...]:
    """Every torch minor release, oldest first (``torch_releases.json``)."""
    return _table(data_dir, "torch_releases", "releases", TorchRelease)


@lru_cache(maxsize=None)
def cuda_toolkits(data_dir: Path = DATA) -> Tuple[CudaToolkit, ...]:
    """Every CUDA toolkit minor, oldest first (``cuda_toolkits.json``)."""
    return _table(data_dir, "cuda_toolkits", "toolkits", CudaToolkit)


@lru_cache(maxsize=None)
def gpu_families(data_dir: Path = DATA) -> Tuple[GpuFamily, ...]:
    """GPU architecture families, oldest first (``gpus.json``)."""
    return _table(data_dir, "gpus", "families", GpuFamily, key="family")


@lru_cache(maxsize=None)
def embedded_ccs(data_dir: Path = DATA) -> FrozenSet[str]:
    """Capabilities of Jetson (Tegra) GPUs only, never a fallback target for a discrete GPU."""
    data = _json(data_dir, "gpus")
    path = str(Path(data_dir) / "gpus.json")
    ccs = schema.strings(data.get("embedded_cc"), path, "embedded_cc")
    for i, c in enumerate(ccs):
        if not re.fullmatch(schema.CC, c):
            raise ReproError(f"{path}: embedded_cc[{i}]: expected a compute capability such as "
                             f"8.9, got {c!r}")
    return frozenset(ccs)


@lru_cache(maxsize=None)
def numpy_releases(data_dir: Path = DATA) -> Tuple[NumpyRelease, ...]:
    """numpy releases, oldest first (``python_packages.json`` "numpy")."""
    return _table(data_dir, "python_packages", "numpy", NumpyRelease)


@lru_cache(maxsize=None)
def timm_releases(data_dir: Path = DATA) -> Tuple[TimmRelease, ...]:
    """timm releases, oldest first (``python_packages.json`` "timm")."""
    return _table(data_dir, "python_packages", "timm", TimmRelease)


@lru_cache(maxsize=None)
def import_map(data_dir: Path = DATA) -> ImportMap:
    """Import names -> distributions, and the standard-library names (``import_map.json``)."""
    path = str(Path(data_dir) / "import_map.json")
    return schema.record(ImportMap, _json(data_dir, "import_map"), path, "import_map")


@lru_cache(maxsize=None)
def pythons(data_dir: Path = DATA) -> Tuple[PythonRelease, ...]:
    """Python minors plan may propose, oldest first (``pythons.json``)."""
    return _table(data_dir, "pythons", "pythons", PythonRelease)


@lru_cache(maxsize=None)
def build_pins(data_dir: Path = DATA) -> Tuple[BuildPin, ...]:
    """Requirements of building an extension per torch range (``extension_build.json``)."""
    return _table(data_dir, "extension_build", "pins", BuildPin, key=None)


def extension_build_requirements(torch: str, when: str = "cpp_extension",
                                 data_dir: Path = DATA) -> Tuple[BuildPin, ...]:
    """The rows of ``build_pins`` for a ``when`` build whose torch range holds ``torch``
    ("1.10.2", "1.10.2+cpu")."""
    from packaging.specifiers import SpecifierSet

    v = Version(torch.split("+")[0])
    return tuple(p for p in build_pins(data_dir) if p.when == when
                 and v in SpecifierSet(p.torch))


@lru_cache(maxsize=None)
def named_arch_rows(data_dir: Path = DATA) -> Tuple[NamedArch, ...]:
    """Names TORCH_CUDA_ARCH_LIST accepts (``named_arches.json``)."""
    return _table(data_dir, "named_arches", "named_arches", NamedArch, key="name")


@lru_cache(maxsize=None)
def cuda_images(data_dir: Path = DATA) -> Tuple[CudaImage, ...]:
    """Published ``nvidia/cuda`` images per CUDA update, oldest first (``cuda_images.json``);
    every tag must belong to its row's CUDA update."""
    rows = _table(data_dir, "cuda_images", "images", CudaImage, key="cuda")
    path = str(Path(data_dir) / "cuda_images.json")
    for i, r in enumerate(rows):
        bad = [t for t in r.tags if not t.startswith(r.cuda + "-")]
        if bad:
            raise ReproError(f"{path}: images[{i}] ({r.cuda}): field tags: {bad[0]!r} is of "
                             f"another CUDA version")
    return rows


@lru_cache(maxsize=None)
def ubuntu_pythons(data_dir: Path = DATA) -> Dict[str, str]:
    """Ubuntu release -> the python3 minor it ships (``cuda_images.json``)."""
    path = str(Path(data_dir) / "cuda_images.json")
    data = _json(data_dir, "cuda_images")
    table = data.get("ubuntu_python") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise ReproError(f"{path}: field ubuntu_python: expected an object of strings")
    return dict(table)


@lru_cache(maxsize=None)
def deadsnakes(data_dir: Path = DATA) -> Deadsnakes:
    """The deadsnakes PPA facts (``cuda_images.json``)."""
    path = str(Path(data_dir) / "cuda_images.json")
    data = _json(data_dir, "cuda_images")
    return schema.record(Deadsnakes, data.get("deadsnakes") if isinstance(data, dict) else None,
                         path, "deadsnakes")


@lru_cache(maxsize=None)
def ngc_pytorch_images(data_dir: Path = DATA) -> Tuple[NgcPytorchImage, ...]:
    """NVIDIA NGC PyTorch container releases, oldest first (``ngc_pytorch.json``); every row's
    sources must be named in the file's ``sources``, a release listed once, and a release line
    other than the shipped torch's minor must say why."""
    rows = _table(data_dir, "ngc_pytorch", "images", NgcPytorchImage, key="release")
    path = str(Path(data_dir) / "ngc_pytorch.json")
    known = sources("ngc_pytorch", data_dir)
    seen = set()
    for i, r in enumerate(rows):
        where = f"{path}: images[{i}] ({r.release})"
        if r.release in seen:
            raise ReproError(f"{where}: duplicate release")
        seen.add(r.release)
        unknown = [s for s in r.sources if s not in known]
        if not r.sources or unknown:
            raise ReproError(f"{where}: field sources: "
                             + (f"{unknown[0]!r} is not in 'sources'" if unknown else "empty"))
        if r.torch_line != r.torch_minor and not r.why:
            raise ReproError(f"{where}: field torch_line: {r.torch_line} is not the minor of "
                             f"{r.torch}; say why")
    return rows


def ngc_pytorch_image(release: str) -> Optional[NgcPytorchImage]:
    """The NGC PyTorch container release ``release`` ("20.12"), None if the table has no
    verified row for it."""
    return next((r for r in ngc_pytorch_images() if r.release == release), None)


@lru_cache(maxsize=None)
def diagnostics(data_dir: Path = DATA) -> Tuple[Diagnostic, ...]:
    """Failures diagnose recognises besides the rules' errors texts (``diagnostics.json``);
    every regex is compiled at load (a bad one is a ReproError naming the row)."""
    rows = _table(data_dir, "diagnostics", "diagnostics", Diagnostic, key="id")
    path = str(Path(data_dir) / "diagnostics.json")
    seen = set()
    for i, d in enumerate(rows):
        if d.id in seen:
            raise ReproError(f"{path}: diagnostics[{i}] ({d.id}): duplicate id")
        seen.add(d.id)
        for j, rx in enumerate(d.regex):
            try:
                re.compile(rx)
            except re.error as e:
                raise ReproError(f"{path}: diagnostics[{i}] ({d.id}): field regex[{j}]: "
                                 f"invalid regular expression: {e}") from None
        if not d.regex:
            raise ReproError(f"{path}: diagnostics[{i}] ({d.id}): field regex: empty")
        if (d.link is None) != (d.subject is None):
            raise ReproError(f"{path}: diagnostics[{i}] ({d.id}): 'link' and 'subject' go "
                             "together")
    return rows


def sources(name: str, data_dir: Path = DATA) -> Dict[str, str]:
    """The ``sources`` map of a fact file (source id -> where the facts were read)."""
    return dict(_json(data_dir, name).get("sources", {}))


# --- queries -------------------------------------------------------------------------------


def _by_version(rows: Tuple[R, ...], mm: str, what: str) -> R:
    for row in rows:
        if row.version == mm:  # type: ignore[attr-defined]
            return row
    known = ", ".join(r.version for r in rows)  # type: ignore[attr-defined]
    raise ReproError(f"{what} {mm} is not in the knowledge base (known: {known})")


def torch_release(major_minor: str) -> TorchRelease:
    """The release of torch ``major_minor`` ("1.10"); ReproError naming the known ones."""
    return _by_version(torch_releases(), major_minor, "torch")


def cuda_toolkit(major_minor: str) -> CudaToolkit:
    """The CUDA toolkit ``major_minor`` ("11.3"); ReproError naming the known ones."""
    return _by_version(cuda_toolkits(), major_minor, "CUDA")


@lru_cache(maxsize=None)
def compat_driver_floors(data_dir: Path = DATA) -> Dict[str, str]:
    """CUDA major -> the minor-version-compatibility driver floor ("11" -> "450.80.02")."""
    table = _json(data_dir, "cuda_toolkits").get("minor_version_compat", {})
    return {k: v for k, v in table.items() if k.isdigit()}


@lru_cache(maxsize=None)
def gpus() -> Tuple[Gpu, ...]:
    """Every named GPU model."""
    return tuple(Gpu(name, cc, fam.family) for fam in gpu_families()
                 for name, cc in fam.gpus.items())


_DROP = re.compile(r"\b(nvidia|geforce|tesla|jetson|agx)\b")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _DROP.sub("", name.lower()))


@lru_cache(maxsize=None)
def gpu_name_suffixes(data_dir: Path = DATA) -> Tuple[str, ...]:
    """What may follow a known GPU name in a normalised name (``gpus.json`` "name_suffixes":
    regular expressions such as ``\\d+gb``, ``sxm\\d*``, ``ti``)."""
    path = str(Path(data_dir) / "gpus.json")
    found = schema.strings(_json(data_dir, "gpus").get("name_suffixes"), path, "name_suffixes")
    for i, s in enumerate(found):
        try:
            re.compile(s)
        except re.error as e:
            raise ReproError(f"{path}: name_suffixes[{i}]: not a regular expression ({e})"
                             ) from None
    return found


@lru_cache(maxsize=None)
def _suffix_re() -> "re.Pattern[str]":
    return re.compile("(?:" + "|".join(gpu_name_suffixes()) + ")*")


def gpu(name: str) -> Optional[Gpu]:
    """The GPU model a name denotes ("NVIDIA GeForce RTX 4090" -> RTX 4090, "Tesla
    V100-SXM2-16GB" -> V100): after normalising, a known name followed by nothing or by
    ``gpu_name_suffixes()`` only, the longest such name winning (see ``gpus.json``); None if
    there is none ("RTX 40901234", "H100zzzz")."""
    key = _norm(str(name))
    best: Optional[Gpu] = None
    for g in gpus():
        n = _norm(g.name)
        if (key.startswith(n) and _suffix_re().fullmatch(key[len(n):])
                and (best is None or len(n) > len(_norm(best.name)))):
            best = g
    return best if key else None


def close_gpu_names(name: str, n: int = 3) -> Tuple[str, ...]:
    """Known GPU names nearest to ``name`` (for an error message): those its normalised form
    starts with, longest first, then the closest by ``difflib``."""
    import difflib

    key = _norm(str(name))
    by_norm = {_norm(g.name): g.name for g in gpus()}
    prefixes = sorted((k for k in by_norm if k and key.startswith(k)), key=len, reverse=True)
    close = difflib.get_close_matches(key, list(by_norm), n=n, cutoff=0.5)
    return tuple(by_norm[k] for k in dict.fromkeys(prefixes + close))[:n]


def gpu_ccs(discrete_only: bool = True) -> FrozenSet[str]:
    """The capabilities of the known GPU families (without Jetson-only ones by default)."""
    ccs = {c for fam in gpu_families() for c in fam.cc}
    return frozenset(c for c in ccs if not (discrete_only and c in embedded_ccs()))


def _at_or_below(rows: Tuple[R, ...], version: str) -> Optional[R]:
    v = Version(version)
    below = [r for r in rows if Version(r.version) <= v]  # type: ignore[attr-defined]
    return max(below, key=lambda r: Version(r.version)) if below else None  # type: ignore


def numpy_release(version: str) -> Optional[NumpyRelease]:
    """The numpy release row at or below ``version`` (None if older than all)."""
    return _at_or_below(numpy_releases(), version)


def timm_release(version: str) -> Optional[TimmRelease]:
    """The timm release row at or below ``version`` (None if older than all)."""
    return _at_or_below(timm_releases(), version)


def distribution_for_import(name: str) -> Optional[str]:
    """The PyPI distribution the table lists for an import name ("cv2" -> "opencv-python")."""
    return import_map().distributions.get(name)


def python_versions() -> Tuple[str, ...]:
    """Python minors plan may propose, oldest first ("2.7", "3.5", ..)."""
    return tuple(p.version for p in pythons())


def named_arches() -> Dict[str, str]:
    """TORCH_CUDA_ARCH_LIST names -> the lists they stand for ("Ampere" -> "8.0;8.6+PTX")."""
    return {a.name: a.arch_list for a in named_arch_rows()}


__all__ = [
    "CudaToolkit", "Diagnostic", "DiagnosticFix", "Gpu", "GpuFamily", "ImportMap", "NamedArch",
    "NumpyRelease", "PythonRange",
    "PythonRelease", "TimmRelease", "TorchPatch", "TorchRelease", "DATA", "load", "names",
    "torch_releases", "torch_release", "cuda_toolkits", "cuda_toolkit", "compat_driver_floors",
    "gpu_families", "gpus", "gpu", "gpu_name_suffixes", "close_gpu_names", "gpu_ccs",
    "embedded_ccs", "numpy_releases", "numpy_release",
    "timm_releases", "timm_release", "import_map", "distribution_for_import", "pythons",
    "python_versions", "named_arch_rows", "named_arches", "sources",
    "Pattern", "Rule", "rule", "rules", "CudaImage", "Deadsnakes", "cuda_images",
    "ubuntu_pythons", "deadsnakes", "diagnostics", "NgcPytorchImage", "ngc_pytorch_images",
    "ngc_pytorch_image",
]


from repro_core.kb.rules import Pattern, Rule, rule, rules  # noqa: E402, F401  (breakage rules)
