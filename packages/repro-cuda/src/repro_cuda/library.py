"""Finding and loading the compiled libraries; which implementation serves a device.

Nothing happens at import. On first use (an op call, ``backend()``, ``library_path()``),
``ensure_loaded`` loads (``torch.ops.load_library``) the CPU library built for this torch and
these sources, and, when a GPU is visible, a CUDA library whose arch list runs on every
visible GPU: first from the package itself (a ``repro-cuda build --wheel`` wheel), then from
the cache; once per process, under a lock. ``REPRO_CUDA_NO_LIBRARY=1`` skips loading
(pure-PyTorch reference everywhere).
"""

import os
import threading
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import torch

from repro_cuda import cache

_loaded: Dict[str, str] = {}  # "cpu"/"cuda" -> path of the library serving it
_errors: Dict[str, str] = {}  # "cpu"/"cuda" -> why loading failed
_warned: set = set()
_lock = threading.RLock()
_ready = False  # ensure_loaded has run to the end in this process


def ensure_loaded() -> None:
    """Probe the GPUs and load the matching libraries, once per process (thread-safe);
    then attach fake kernels and autograd to the loaded ops."""
    global _ready
    if _ready:
        return
    with _lock:
        if _ready:
            return
        try:
            load_available()
            if _loaded:
                from repro_cuda import ops

                ops.register()
        finally:
            _ready = True


def library_path(kind: str) -> Optional[str]:
    """The compiled library in use for ``kind`` ("cpu" or "cuda"), or None."""
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"library_path: kind must be 'cpu' or 'cuda', not {kind!r}")
    ensure_loaded()
    return _loaded.get(kind)


def backend(device: Union[str, torch.device, None] = None) -> str:
    """Which implementation serves ``device`` now: "cuda", "cpu" or "reference"."""
    ensure_loaded()
    dev = torch.device(device if device is not None else "cpu")
    if dev.type in ("cpu", "cuda") and dev.type in _loaded:
        return dev.type
    return "reference"


def warn_reference(device_type: str) -> None:
    """Say once per device type that the pure-PyTorch reference is serving it."""
    if device_type in _warned:
        return
    _warned.add(device_type)
    why = _errors.get(device_type) or (
        f"no compiled repro-cuda library for {device_type} matches torch {torch.__version__}")
    warnings.warn(
        f"repro_cuda: {why}; using the pure-PyTorch reference (slower). "
        f"Run `repro-cuda build` to compile the kernels.", RuntimeWarning, stacklevel=3)


def load(kind: str, path: Union[str, Path]) -> bool:
    """Load one library into the process and record it as serving ``kind``. False when
    another library already serves ``kind`` here (ops register once per process)."""
    path = str(path)
    if kind in _loaded:
        return _loaded[kind] == path
    torch.ops.load_library(path)
    _loaded[kind] = path
    _errors.pop(kind, None)
    return True


def _gpu_ccs() -> List[str]:
    try:
        from repro_core.probe.gpu import probe_gpus

        ccs = [g["cc"] for g in probe_gpus()["gpus"]]
    except Exception:
        ccs = []
    if not ccs and torch.cuda.is_available():
        ccs = ["{}.{}".format(*torch.cuda.get_device_capability(i))
               for i in range(torch.cuda.device_count())]
    return ccs


def _candidates(kind: str) -> List[Path]:
    """Folders that may hold a library of ``kind`` for this torch: packaged first, then cache."""
    out = [cache.PACKAGE_DIR / "_lib" / kind]
    if kind == "cpu":
        out.append(cache.build_dir("cpu"))
    else:
        tdir = cache.torch_dir()
        if tdir.is_dir():
            out += sorted(tdir.glob("cuda*"), key=lambda p: p.stat().st_mtime, reverse=True)
    return out


def _usable(kind: str, folder: Path, gpu_ccs: List[str]) -> Optional[Tuple[int, Path]]:
    """(rank, library) if the library in ``folder`` fits this torch, these sources and every
    GPU; rank 0 when all GPUs get SASS, 1 when some only get PTX (JIT-compiled)."""
    man = cache.read_manifest(folder)
    lib = cache.library_file(kind, folder)
    if not man or not lib.is_file() or man.get("torch") != torch.__version__:
        return None
    try:
        if man.get("sources") != cache.source_hash(kind):
            return None
    except RuntimeError:  # no sources at all (wheel without csrc): trust the packaged library
        if folder.parent.name != "_lib":
            return None
    if kind != "cuda":
        return 0, lib
    from repro_core.compat import can_run

    verdicts = [can_run(man.get("arch_list", ""), cc) for cc in gpu_ccs]
    if not verdicts or not all(v.ok for v in verdicts):
        return None
    return (1 if any(v.via == "ptx" for v in verdicts) else 0), lib


def load_available() -> None:
    """Load whatever matching libraries exist; failures are kept for the fallback warning."""
    if os.environ.get("REPRO_CUDA_NO_LIBRARY") == "1":
        _errors["cpu"] = _errors["cuda"] = "REPRO_CUDA_NO_LIBRARY=1 is set"
        return
    kinds = ["cpu"]
    if torch.version.cuda and torch.cuda.is_available():
        kinds.append("cuda")
    gpu_ccs = _gpu_ccs() if "cuda" in kinds else []
    for kind in kinds:
        try:
            folders = _candidates(kind)
        except RuntimeError as e:  # no kernel sources: only a packaged library could serve
            _errors[kind] = str(e)
            folders = [cache.PACKAGE_DIR / "_lib" / kind]
        usable = [u for u in (_usable(kind, f, gpu_ccs) for f in folders) if u is not None]
        for _, lib in sorted(usable, key=lambda u: u[0]):  # stable: packaged, then newest
            try:
                load(kind, lib)
                break
            except (OSError, RuntimeError) as e:
                _errors[kind] = f"loading {lib} failed: {str(e).splitlines()[0]}"
