"""Controlled randomness: one call seeds Python, NumPy and torch (CPU and every GPU).

``set_seed(seed, deterministic=True)`` also asks torch for deterministic kernels
(``torch.use_deterministic_algorithms``, cuDNN flags, ``CUBLAS_WORKSPACE_CONFIG``). What was
set and what the installed libraries could not do come back as a ``SeedReport``. NumPy and
torch are imported inside the functions: repro-core never needs them.
"""

import os
import random
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from repro_core.errors import ReproError

# cuBLAS needs a fixed workspace for reproducible results on CUDA >= 10.2 (NVIDIA cuBLAS docs,
# "Results reproducibility"); ":4096:8" is the value torch's reproducibility notes give.
CUBLAS_WORKSPACE = ":4096:8"


@dataclass(frozen=True)
class SeedReport:
    """What ``set_seed`` did: ``applied`` names each setting made, ``skipped`` pairs each
    one it could not make with the reason (library missing, too old, no GPU)."""

    seed: int
    deterministic: bool
    applied: Tuple[str, ...]
    skipped: Tuple[Tuple[str, str], ...] = ()

    def to_json(self) -> Dict[str, Any]:
        return {"seed": self.seed, "deterministic": self.deterministic,
                "applied": list(self.applied), "skipped": dict(self.skipped)}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "SeedReport":
        return cls(seed=int(d["seed"]), deterministic=bool(d["deterministic"]),
                   applied=tuple(d["applied"]), skipped=tuple(sorted(d["skipped"].items())))


def _check(seed: Any) -> int:
    # NumPy's legacy seeding (and so DataLoader worker recipes) accepts 0 <= seed < 2**32.
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
        raise ReproError(f"seed must be an integer in [0, 2**32), not {seed!r}")
    return seed


def set_seed(seed: int, deterministic: bool = False) -> SeedReport:
    """Seed ``random``, ``numpy.random`` and torch (CPU and all CUDA devices) with ``seed``;
    set ``PYTHONHASHSEED`` for child processes. With ``deterministic=True`` also turn on
    ``torch.use_deterministic_algorithms(True)``, ``cudnn.deterministic = True``,
    ``cudnn.benchmark = False`` and ``CUBLAS_WORKSPACE_CONFIG`` (kept if already set)."""
    seed = _check(seed)
    applied: List[str] = []
    skipped: Dict[str, str] = {}
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # str hashing of this process is fixed at start
    applied += ["random", "PYTHONHASHSEED"]
    try:
        import numpy
    except ImportError:
        skipped["numpy"] = "numpy is not installed"
    else:
        numpy.random.seed(seed)
        applied.append("numpy")
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
        applied.append("CUBLAS_WORKSPACE_CONFIG")
    try:
        import torch
    except ImportError:
        skipped["torch"] = "torch is not installed"
    else:
        _seed_torch(torch, seed, deterministic, applied, skipped)
    return SeedReport(seed, deterministic, tuple(applied), tuple(sorted(skipped.items())))


def _seed_torch(torch: Any, seed: int, deterministic: bool, applied: List[str],
                skipped: Dict[str, str]) -> None:
    torch.manual_seed(seed)
    applied.append("torch")
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        applied.append("torch.cuda")
    else:
        skipped["torch.cuda"] = "no CUDA device visible to torch"
    if not deterministic:
        return
    if hasattr(torch, "use_deterministic_algorithms"):  # torch >= 1.8
        torch.use_deterministic_algorithms(True)
        applied.append("torch.use_deterministic_algorithms")
    else:
        skipped["torch.use_deterministic_algorithms"] = (
            f"torch {torch.__version__} predates it (added in 1.8)")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    applied += ["cudnn.deterministic", "cudnn.benchmark=False"]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        skipped["CUBLAS_WORKSPACE_CONFIG (this process)"] = (
            "CUDA was already initialised, so cuBLAS may not read it; call set_seed first")


def seed_worker(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=seed_worker)``: seed ``random`` and NumPy in each worker from
    the seed torch gave that worker (base seed + worker id), as torch's notes recommend."""
    import torch

    worker_seed = torch.initial_seed() % 2 ** 32
    random.seed(worker_seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(worker_seed)
