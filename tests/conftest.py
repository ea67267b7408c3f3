"""Shared test setup: the repository root and the test-data folder."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


_REGISTRY = {}


@pytest.fixture
def registry() -> str:
    """The uv binary, when uv is installed and PyPI answers; else the test is skipped."""
    if "uv" not in _REGISTRY:
        import socket

        from repro_core.errors import ReproError
        from repro_core.uvtool import uv_bin

        try:
            uv = uv_bin()
            socket.create_connection(("pypi.org", 443), timeout=5).close()
            _REGISTRY["uv"] = uv
        except (ReproError, OSError) as e:
            _REGISTRY["uv"] = None
            _REGISTRY["why"] = str(e)
    if not _REGISTRY["uv"]:
        pytest.skip(f"no registry: {_REGISTRY['why']}")
    return _REGISTRY["uv"]
