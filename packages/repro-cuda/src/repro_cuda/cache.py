"""Where the kernel sources and compiled libraries live, and the cache keys.

A compiled library sits in ``<cache>/torch-<torch version>/<kind>-...-<source hash>/`` with a
``manifest.json`` next to it, so two torch versions (or source edits, or arch lists) never
share a binary. ``<cache>`` is ``$REPRO_CUDA_CACHE`` or ``~/.cache/repro-cuda``.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List, Optional

import torch

from repro_core.errors import ReproError

PACKAGE_DIR = Path(__file__).resolve().parent
LIB_NAMES = {"cpu": "repro_cpu", "cuda": "repro_cuda_kernels"}


def csrc_dir() -> Path:
    """The kernel sources: ``repro_cuda/csrc`` in an installed package, else the repo's csrc/."""
    for cand in (PACKAGE_DIR / "csrc", PACKAGE_DIR.parents[3] / "csrc"):
        if (cand / "ops.cpp").is_file():
            return cand
    raise RuntimeError(
        f"kernel sources not found (looked in {PACKAGE_DIR / 'csrc'} and "
        f"{PACKAGE_DIR.parents[3] / 'csrc'}); reinstall repro-cuda")


def sources(kind: str) -> List[Path]:
    """Translation units of one library: ``cpu`` = schemas + CPU kernels, ``cuda`` = .cu."""
    root = csrc_dir()
    if kind == "cpu":
        return [root / "ops.cpp"] + sorted((root / "cpu").glob("*.cpp"))
    return sorted((root / "cuda").glob("*.cu"))


def _hashed_files(kind: str) -> List[Path]:
    root = csrc_dir()
    headers = sorted(root.glob("*.h"))
    if kind == "cuda":
        headers += sorted((root / "cuda").glob("*.cuh"))
    return sources(kind) + headers


def compile_flags(kind: str) -> List[str]:
    """Compiler flags of one library (part of its cache key). at::parallel_for is an OpenMP
    pragma in a header: without -fopenmp the CPU kernels would run on one thread. Compile
    only: the GOMP symbols resolve to the OpenMP runtime torch has loaded (linking -lgomp
    would bring a second one)."""
    if kind == "cuda":
        return ["-O3"]
    return ["-O3"] + (["-fopenmp"] if torch.backends.openmp.is_available() else [])


def source_hash(kind: str) -> str:
    """Hash of the sources, headers and compiler flags of one library."""
    h = hashlib.sha256(" ".join(compile_flags(kind)).encode() + b"\0")
    root = csrc_dir()
    for f in _hashed_files(kind):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    env = os.environ.get("REPRO_CUDA_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "repro-cuda"


def make_dir(folder: Path) -> None:
    """Create a folder of the cache, or say in one line why the cache cannot hold it."""
    root = cache_root()
    where = (f"REPRO_CUDA_CACHE={os.environ['REPRO_CUDA_CACHE']}"
             if os.environ.get("REPRO_CUDA_CACHE") else f"the cache {root}")
    if root.exists() and not root.is_dir():
        raise ReproError(f"{where} is not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReproError(f"cannot create {folder} ({where}): {e.strerror or e}") from None


def torch_dir() -> Path:
    """Cache folder of the running torch (its version string carries the CUDA variant)."""
    return cache_root() / f"torch-{torch.__version__}"


def arch_tag(arch_list: str) -> str:
    """"8.6;9.0+PTX" -> "sm86-sm90+ptx" (folder-name safe, order kept)."""
    parts = [a.strip() for a in arch_list.replace(",", ";").split(";") if a.strip()]
    return "-".join("sm" + p.lower().replace(".", "") for p in parts)


def build_dir(kind: str, arch_list: Optional[str] = None) -> Path:
    if kind == "cpu":
        return torch_dir() / f"cpu-{source_hash('cpu')}"
    cuda = torch.version.cuda or "none"
    return torch_dir() / f"cuda{cuda}-{arch_tag(arch_list or '')}-{source_hash('cuda')}"


def library_file(kind: str, folder: Path) -> Path:
    return folder / f"{LIB_NAMES[kind]}.so"


def read_manifest(folder: Path) -> Optional[Dict]:
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
