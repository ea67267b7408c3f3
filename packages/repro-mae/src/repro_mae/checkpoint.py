"""Checkpoint files: atomic save, safe load, and the RNG state that goes in them.

A training checkpoint holds the published keys (``model``, ``optimizer``, ``epoch``,
``scaler``, ``args``) plus ``step`` (optimizer steps done, i.e. the sampler position),
``rng`` and ``format``; every value is a tensor or a plain Python value, so it loads
with ``torch.load(weights_only=True)``.
"""

import argparse
import contextlib
import inspect
import io
import random
import warnings
from typing import Any, Dict

import numpy as np
import torch

from repro_core.errors import ReproError
from repro_core.fsutil import PathLike, atomic_write_bytes

FORMAT = "repro-mae/1"
# the published main_pretrain.py saves its args as an argparse.Namespace (plain data)
_SAFE_GLOBALS = [argparse.Namespace]


def _weights_only_reads_plain_values() -> bool:
    """Does ``torch.load(weights_only=True)`` exist (1.13+) and read what our checkpoints hold?
    torch 1.13's weights-only unpickler still rejects Python floats ("Unsupported operand 71"),
    so the capability is tried, not inferred from the version."""
    if "weights_only" not in inspect.signature(torch.load).parameters:
        return False
    buf = io.BytesIO()
    torch.save({"lr": 0.5, "betas": (0.9, 0.95), "t": torch.zeros(1)}, buf)
    buf.seek(0)
    try:
        torch.load(buf, weights_only=True)
    except Exception:
        return False
    return True


HAS_WEIGHTS_ONLY = _weights_only_reads_plain_values()


def save(path: PathLike, obj: Dict[str, Any]) -> None:
    """``torch.save`` to memory, then temp file + rename: never a half-written file."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load(path: PathLike) -> Dict[str, Any]:
    """Load a checkpoint onto the CPU; ReproError naming the file when it is missing,
    truncated, corrupt or not a dict.

    Uses ``weights_only=True`` (no code runs while unpickling). Where torch has no usable
    weights-only loader (< 1.13, and 1.13 which cannot read floats) the file is unpickled
    normally, with a warning: only load files you trust there.
    """
    kwargs = {"map_location": "cpu"}
    if HAS_WEIGHTS_ONLY:
        kwargs["weights_only"] = True
    else:
        warnings.warn(
            f"torch {torch.__version__} cannot load checkpoints weights-only: {path} is unpickled "
            "with full pickle; only load files you trust",
            stacklevel=2,
        )
    safe_globals = getattr(torch.serialization, "safe_globals", None)  # torch >= 2.5
    allow = safe_globals(_SAFE_GLOBALS) if safe_globals else contextlib.nullcontext()
    try:
        with allow:
            obj = torch.load(str(path), **kwargs)
    except FileNotFoundError as e:
        raise ReproError(f"{path}: no such checkpoint file") from e
    except Exception as e:  # torch raises RuntimeError/EOFError/UnpicklingError/...
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        msg = f"{path}: not a readable checkpoint (truncated or corrupt?): {first}"
        raise ReproError(msg) from e
    if not isinstance(obj, dict):
        raise ReproError(f"{path}: expected a dict checkpoint, got {type(obj).__name__}")
    return obj


def rng_state() -> Dict[str, Any]:
    """The global torch/CUDA/numpy/python RNG states as tensors and plain values."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                  int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
