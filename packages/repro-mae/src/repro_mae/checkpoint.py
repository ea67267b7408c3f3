"""Checkpoint files: atomic save, safe and verified load, and the RNG state in them.

A training checkpoint holds the published keys (``model``, ``optimizer``, ``epoch``,
``scaler``, ``args``) plus ``step`` (optimizer steps done, i.e. the sampler position),
``rng``, ``format`` and ``sha256``; every value is a tensor or a plain Python value, so
it loads with ``torch.load(weights_only=True)``. ``sha256`` is the digest of everything
else (``payload_sha256``): ``load`` checks it, so flipped bytes are an error, not
silently different weights.
"""

import argparse
import contextlib
import functools
import hashlib
import inspect
import io
import os
import random
import stat
import warnings
from typing import Any, Dict

import numpy as np
import torch

from repro_core.errors import ReproError
from repro_core.fsutil import PathLike, atomic_write

FORMAT = "repro-mae/1"
DIGEST_KEY = "sha256"
# the published main_pretrain.py saves its args as an argparse.Namespace (plain data)
_SAFE_GLOBALS = [argparse.Namespace]


@functools.lru_cache(maxsize=None)
def has_weights_only() -> bool:
    """Does ``torch.load(weights_only=True)`` exist (1.13+) and read what our checkpoints hold?
    torch 1.13's weights-only unpickler still rejects Python floats ("Unsupported operand 71"),
    so the capability is tried (once, on first use), not inferred from the version."""
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


def __getattr__(name: str) -> Any:  # HAS_WEIGHTS_ONLY: computed on first use, not at import
    if name == "HAS_WEIGHTS_ONLY":
        return has_weights_only()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def payload_sha256(obj: Any) -> str:
    """sha256 over a checkpoint's content in order: dict keys and values, sequences,
    tensors (dtype, shape, bytes) and plain values (type and repr). Independent of the
    pickle/zip encoding, so any torch version computes the same digest."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bytes as int16
            t = t.view(torch.int16)
        h.update(t.numpy())  # the buffer itself: no copy
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}:".encode())
        for key, value in obj.items():
            _feed(h, key)
            _feed(h, value)
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}:".encode())
        for value in obj:
            _feed(h, value)
    else:
        text = repr(obj)
        h.update(f"{type(obj).__name__}{len(text)}:{text}".encode())


def save(path: PathLike, obj: Dict[str, Any], digest: bool = True,
         overwrite: bool = True) -> None:
    """``torch.save`` to memory, then ``atomic_write``: never a half-written file, never
    over a symlink or device. ``digest`` adds ``sha256`` (leave it out where the dict
    must stay a bare state dict)."""
    if digest:
        obj = {k: v for k, v in obj.items() if k != DIGEST_KEY}
        obj[DIGEST_KEY] = payload_sha256(obj)
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, buf.getvalue(), overwrite=overwrite)


def load(path: PathLike) -> Dict[str, Any]:
    """Load a checkpoint onto the CPU and check its ``sha256`` (when it has one; the key is
    removed from the result); ReproError naming the file when it is missing, not a
    regular file, truncated, corrupt, altered or not a dict.

    Uses ``weights_only=True`` (no code runs while unpickling). Where torch has no usable
    weights-only loader (< 1.13, and 1.13 which cannot read floats) the file is unpickled
    normally, with a warning: only load files you trust there.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as e:
        raise ReproError(f"{path}: no such checkpoint file") from e
    except OSError as e:
        raise ReproError(f"{path}: cannot read: {e.strerror}") from e
    if not stat.S_ISREG(mode):  # a FIFO would block forever, a device never end
        raise ReproError(f"{path}: not a regular file")
    kwargs = {"map_location": "cpu"}
    if has_weights_only():
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
    if DIGEST_KEY in obj:
        obj = dict(obj)
        recorded = obj.pop(DIGEST_KEY)
        try:
            actual = payload_sha256(obj)
        except Exception as e:  # content the digest cannot walk: not ours, not intact
            raise ReproError(f"{path}: cannot check its sha256: {type(e).__name__}") from e
        if recorded != actual:
            raise ReproError(f"{path}: corrupt: its content does not match the sha256 saved "
                             f"with it ({str(recorded)[:16]}... != {actual[:16]}...)")
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
    """Restore what ``rng_state`` saved (check it first with ``check_rng_state``)."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        for i, cuda_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, i)


def check_rng_state(state: Any, where: str) -> None:
    """ReproError naming ``where`` unless ``set_rng_state(state)`` would work: the same
    structure as ``rng_state()``, and each state accepted by a throwaway generator."""
    ref = rng_state()
    ref.pop("cuda", None)
    got = state
    if isinstance(state, dict) and "cuda" in state:
        cuda = state["cuda"]
        if not isinstance(cuda, (list, tuple)) or not all(
                isinstance(t, torch.Tensor) and t.dtype == torch.uint8 for t in cuda):
            raise ReproError(f"{where}['cuda'] is not a list of uint8 tensors")
        got = {k: v for k, v in state.items() if k != "cuda"}
    check_like(ref, got, where)
    name, keys, pos, has_gauss, gauss = state["numpy"]
    version, internal, gauss_next = state["python"]
    try:
        torch.Generator().set_state(state["torch"])
        np.random.RandomState().set_state(
            (name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        random.Random().setstate((version, tuple(internal), gauss_next))
    except (RuntimeError, ValueError, TypeError, OverflowError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ReproError(f"{where}: not a usable RNG state: {first}") from e


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"{type(value).__name__} {value!r}"[:60]
    return f"a {type(value).__name__}"


def _names(keys: Any) -> str:
    keys = [repr(k) for k in keys]
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def check_like(ref: Any, got: Any, where: str) -> None:
    """ReproError naming ``where`` (and the key path below it) unless ``got`` has the
    structure of ``ref``: the same dict keys, sequence lengths, tensor shapes (and dtype,
    floating point may differ in width), and plain value types (a number where ``ref``
    has a float; None or a number where it has None)."""
    if isinstance(ref, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            raise ReproError(f"{where} is {_kind(got)}, expected a tensor")
        if tuple(got.shape) != tuple(ref.shape):
            raise ReproError(f"{where} has shape {tuple(got.shape)}, this run needs "
                             f"{tuple(ref.shape)}")
        if got.dtype != ref.dtype and not (got.is_floating_point() and ref.is_floating_point()):
            raise ReproError(f"{where} has dtype {got.dtype}, expected {ref.dtype}")
    elif isinstance(ref, dict):
        if not isinstance(got, dict):
            raise ReproError(f"{where} is {_kind(got)}, expected a dict")
        missing = [k for k in ref if k not in got]
        if missing:
            raise ReproError(f"{where} lacks {len(missing)} key(s): {_names(missing)}")
        extra = [k for k in got if k not in ref]
        if extra:
            raise ReproError(f"{where} has {len(extra)} unexpected key(s): {_names(extra)}")
        for key, value in ref.items():
            check_like(value, got[key], f"{where}[{key!r}]")
    elif isinstance(ref, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            raise ReproError(f"{where} is {_kind(got)}, expected a list")
        if len(got) != len(ref):
            raise ReproError(f"{where} has {len(got)} items, expected {len(ref)}")
        for i, (r, g) in enumerate(zip(ref, got)):
            check_like(r, g, f"{where}[{i}]")
    elif ref is None:  # an optional setting: None or a number/flag
        if got is not None and not isinstance(got, (bool, int, float)):
            raise ReproError(f"{where} is {_kind(got)}, expected None or a number")
    else:
        number = (int, float) if isinstance(ref, float) else type(ref)
        if not isinstance(got, number) or (isinstance(got, bool) and not isinstance(ref, bool)):
            raise ReproError(f"{where} is {_kind(got)}, expected {type(ref).__name__}")
