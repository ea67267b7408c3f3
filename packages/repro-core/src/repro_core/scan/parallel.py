"""Worker processes for a scan. They are forked, so they inherit what the scan has read
(only index ranges are sent to them) and run nothing but repro's own function on it; their
results come back pickled from these children, never from a repository's files."""

import concurrent.futures
import multiprocessing
import os
import sys
import threading
from typing import Callable, List, Optional, Sequence, Tuple, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_ITEMS: Sequence = ()  # what the forked workers read (inherited, never sent)
_FN: Optional[Callable] = None


def workers() -> int:
    """Processes for ``map_forked``: the CPUs this process may use (at most 8), where
    processes can be forked safely (POSIX but macOS; no other thread running, which a fork
    could leave holding a lock); else 1."""
    if sys.platform == "darwin" or "fork" not in multiprocessing.get_all_start_methods() or (
            threading.active_count() > 1):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, 8))


def _run(bounds: Tuple[int, int]) -> list:
    return [_FN(x) for x in _ITEMS[bounds[0]:bounds[1]]]  # type: ignore[misc]


def map_forked(fn: Callable[[T], R], items: Sequence[T], n: int) -> List[R]:
    """``[fn(x) for x in items]``, by ``n`` forked processes (in this one when ``n`` is 1),
    in order. ``fn`` must not raise."""
    global _ITEMS, _FN
    if n <= 1:
        return [fn(x) for x in items]
    _ITEMS, _FN = items, fn
    try:
        size = max(1, min(64, len(items) // (n * 8)))  # small chunks: the slow files spread
        chunks = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(n, mp_context=ctx) as pool:
            return [r for part in pool.map(_run, chunks) for r in part]
    finally:
        _ITEMS, _FN = (), None
