"""The hardware an environment is planned, judged or built for: GPUs, driver, CUDA toolkit.

A ``Hardware`` is either read from this machine (``repro_core.probe.hardware()``) or stated
by the user (``Hardware.stated(gpu="RTX 4090", driver="535.104.05")``) to ask about a machine
they do not have. plan, doctor and ``repro-cuda build`` take one; nothing here probes.
"""

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Optional, Tuple

from repro_core import compat
from repro_core.errors import BadValue, ReproError


@dataclass(frozen=True)
class GpuDevice:
    """One GPU: the name the driver reports (for a stated GPU, the known model its name
    matched, "" for a bare capability), its compute capability ("8.9"), memory, index."""

    name: str
    cc: str
    memory_mib: Optional[int] = None
    index: int = 0


@dataclass(frozen=True)
class Hardware:
    """GPUs, NVIDIA driver (and the newest CUDA it supports), CUDA toolkit root and its nvcc
    version, CPU count. ``probed``: read from this machine; ``reason`` says why no GPU was
    found there."""

    gpus: Tuple[GpuDevice, ...] = ()
    driver: Optional[str] = None
    driver_cuda: Optional[str] = None
    toolkit_root: Optional[str] = None
    nvcc: Optional[str] = None
    cpu_count: Optional[int] = None
    probed: bool = False
    reason: Optional[str] = None

    @classmethod
    def stated(cls, gpu: Optional[str] = None, driver: Optional[str] = None) -> "Hardware":
        """The hardware a user names: ``gpu`` a compute capability ("8.9", "sm_89") or a GPU
        name ("RTX 4090"), None for no GPU; ``driver`` a driver version, checked even without
        a GPU. BadValue (field "gpu" or "driver") for an unknown GPU or a bad version."""
        hw = cls()
        if gpu is not None:
            try:
                cc, name = compat.gpu_cc(gpu)
            except ReproError as e:
                raise BadValue(str(e), "gpu", gpu) from None
            hw = cls(gpus=(GpuDevice(name=name, cc=compat.cc_str(cc)),))
        return hw if driver is None else hw.with_driver(driver)

    def with_driver(self, driver: str) -> "Hardware":
        """This hardware with a stated driver version ("535.104.05"; the newest CUDA it
        supports becomes unknown); BadValue (field "driver") for one that is not a version."""
        try:
            version = compat.driver_version(driver)
        except ReproError as e:
            raise BadValue(str(e), "driver", driver) from None
        return replace(self, driver=version, driver_cuda=None)

    @property
    def gpu(self) -> Optional[GpuDevice]:
        """The first GPU (the one plans are made for), or None."""
        return self.gpus[0] if self.gpus else None

    def gpu_facts(self) -> Dict[str, Any]:
        """The GPUs and driver in the form of ``probe_gpus()`` (doctor's "gpus" section)."""
        return {"gpus": [{"index": g.index, "name": g.name, "cc": g.cc,
                          "memory_mib": g.memory_mib} for g in self.gpus],
                "driver": self.driver, "driver_cuda": self.driver_cuda, "reason": self.reason}

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Hardware":
        try:
            d = json.loads(text)
            return cls(**{**d, "gpus": tuple(GpuDevice(**g) for g in d.get("gpus", ()))})
        except (ValueError, TypeError, AttributeError) as e:
            raise ReproError(f"not a hardware description ({e})") from None
