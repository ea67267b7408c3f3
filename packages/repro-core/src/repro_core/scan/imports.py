"""Import names -> PyPI distributions, standard-library and local-module detection."""

import sys
from functools import lru_cache
from typing import FrozenSet, Optional

from repro_core import kb


@lru_cache(maxsize=1)
def _stdlib() -> FrozenSet[str]:
    names = set(kb.import_map().stdlib)
    names.update(getattr(sys, "stdlib_module_names", ()))
    names.update(sys.builtin_module_names)
    return frozenset(names)


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in _stdlib()


def is_python2_only(module: str) -> bool:
    return module.split(".")[0] in kb.import_map().python2_only


def distribution(module: str) -> Optional[str]:
    """The PyPI distribution providing ``module`` (longest known dotted prefix, else the
    top-level name itself); None for the standard library."""
    if is_stdlib(module):
        return None
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        hit = kb.distribution_for_import(".".join(parts[:i]))
        if hit:
            return hit
    return parts[0]
