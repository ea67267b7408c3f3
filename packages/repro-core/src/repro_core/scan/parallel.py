"""Worker processes for a scan. They are forked, so they inherit what the scan has read
(only index ranges are sent to them) and run nothing but repro's own function on it; their
results come back pickled from these children, never from a repository's files."""

import concurrent.futures
import multiprocessing
import os
import sys
import threading
from typing import Callable, Generic, Iterator, List, Optional, Sequence, Tuple, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_ITEMS: Sequence = ()  # what the forked workers read (inherited, never sent)
_FN: Optional[Callable] = None


def workers() -> int:
    """Processes for ``Forked``: the CPUs this process may use (at most 8), where
    processes can be forked safely (POSIX but macOS; no other thread running, which a fork
    could leave holding a lock); else 1."""
    if sys.platform == "darwin" or "fork" not in multiprocessing.get_all_start_methods() or (
            threading.active_count() > 1):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, 8))


def _run(bounds: Tuple[int, int]) -> list:
    return [_FN(x) for x in _ITEMS[bounds[0]:bounds[1]]]  # type: ignore[misc]


class Forked(Generic[R]):
    """``fn(x) for x in items``, by ``n`` forked processes that start at once and work while
    the caller goes on; ``results()`` yields them in order as they come (or computes them here
    when ``n`` is 1).
    ``fn`` must not raise. Use it as a context manager: leaving stops the workers."""

    def __init__(self, fn: Callable[[T], R], items: Sequence[T], n: int) -> None:
        global _ITEMS, _FN
        self._fn, self._items = fn, items
        self._pool: Optional[concurrent.futures.ProcessPoolExecutor] = None
        self._parts: List[concurrent.futures.Future] = []
        if n <= 1:
            return
        _ITEMS, _FN = items, fn  # the workers inherit them when they are forked
        size = max(1, min(64, len(items) // (n * 8)))  # small chunks: the slow files spread
        ctx = multiprocessing.get_context("fork")
        self._pool = concurrent.futures.ProcessPoolExecutor(n, mp_context=ctx)
        self._parts = [self._pool.submit(_run, (i, min(i + size, len(items))))
                       for i in range(0, len(items), size)]

    def results(self) -> Iterator[R]:
        """The results in order, each as soon as the part holding it is done (the caller can
        use the first ones while the workers still make the others)."""
        if self._pool is None:
            yield from (self._fn(x) for x in self._items)
            return
        try:
            for part in self._parts:
                yield from part.result()
        finally:
            self.close()

    def close(self) -> None:
        global _ITEMS, _FN
        if self._pool is not None:
            for part in self._parts:
                part.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None
            _ITEMS, _FN = (), None

    def __enter__(self) -> "Forked[R]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
