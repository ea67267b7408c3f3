"""repro-cuda tests: build the libraries once per torch version (the cache makes later runs
instant), and the devices every op test runs on (CUDA twins skip without a GPU)."""

import pytest
from cuda_helpers import HAS_CUDA


@pytest.fixture(scope="session", autouse=True)
def built():
    """Compile (or reuse from the cache) the CPU library, and the CUDA one on a GPU host."""
    from repro_cuda import build

    return build.build(arch="auto" if HAS_CUDA else None, cpu_only=not HAS_CUDA)
