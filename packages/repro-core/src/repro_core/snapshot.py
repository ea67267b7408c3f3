"""``repro snapshot``: an environment signature taken BY the target interpreter.

    from repro_core.snapshot import take_snapshot
    snap = take_snapshot("/path/to/env/bin/python")   # Snapshot; to_json()/from_json()
    snap.hash                                         # sha256 of everything but its paths
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text

SCRIPT = Path(__file__).resolve().parent / "probe" / "snapshot.py"
#: fields that say where the environment lives (paths, the kernel's release in ``platform``),
#: not what it is: left out of the hash, so one env on two machines hashes the same
_LOCATION = ("executable", "prefix", "platform", "hash")


@dataclass(frozen=True)
class Dist:
    name: str
    version: str
    installer: Optional[str] = None
    direct_url: Optional[str] = None
    editable: bool = False

    def freeze_line(self) -> str:
        if self.direct_url:
            return f"{'-e ' if self.editable else ''}{self.name} @ {self.direct_url}"
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class TorchInfo:
    installed: str
    version: Optional[str] = None
    cuda: Optional[str] = None
    cudnn: Optional[int] = None
    arch_list: Tuple[str, ...] = ()
    error: Optional[str] = None


@dataclass(frozen=True)
class GpuInfo:
    name: str
    cc: str
    memory_mib: Optional[int] = None


@dataclass(frozen=True)
class Snapshot:
    python: str
    implementation: str
    platform: str
    system: str
    machine: str
    glibc: Optional[str]
    distributions: Tuple[Dist, ...]
    torch: Optional[TorchInfo] = None
    gpus: Tuple[GpuInfo, ...] = ()
    driver: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)
    executable: str = ""
    prefix: str = ""
    hash: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Snapshot":
        t = d.get("torch")
        torch = None
        if t:
            t = {k: v for k, v in t.items() if k in TorchInfo.__dataclass_fields__}
            arch = t.get("arch_list")
            t["arch_list"] = tuple(arch) if isinstance(arch, list) else ()
            cudnn = t.get("cudnn")
            t["cudnn"] = cudnn if isinstance(cudnn, int) else None  # an {"error"} becomes None
            torch = TorchInfo(**t)
        return cls(
            python=d["python"], implementation=d.get("implementation", ""),
            platform=d.get("platform", ""), system=d.get("system", ""),
            machine=d.get("machine", ""), glibc=d.get("glibc"),
            distributions=tuple(Dist(**x) for x in d["distributions"]), torch=torch,
            gpus=tuple(GpuInfo(**g) for g in d.get("gpus", ())), driver=d.get("driver"),
            env=dict(d.get("env", {})), executable=d.get("executable", ""),
            prefix=d.get("prefix", ""), hash=d.get("hash", ""))

    @classmethod
    def from_json(cls, text: str) -> "Snapshot":
        return cls.from_dict(json.loads(text))

    def signature(self) -> str:
        """sha256 of the canonical JSON of everything but paths and the kernel release."""
        d = {k: v for k, v in self.to_dict().items() if k not in _LOCATION}
        return "sha256:" + hashlib.sha256(
            json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def freeze(self) -> str:
        """pip freeze format, with a comment head (python, platform, torch build, hash)."""
        head = [f"# python {self.python} ({self.implementation}) on {self.platform}"]
        if self.torch and self.torch.version:
            head.append(f"# torch {self.torch.version}, CUDA {self.torch.cuda or 'none'}")
        head.append(f"# snapshot {self.hash}")
        return "\n".join(head + [d.freeze_line() for d in self.distributions]) + "\n"


def target_environ() -> Dict[str, str]:
    """This process's environment minus what would graft other code onto a target
    interpreter (``PYTHONPATH``, ``PYTHONHOME``): a snapshot or tree describes the
    environment itself, not the caller's session."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _interpreter(python: Optional[str]) -> str:
    exe = python or sys.executable
    if os.path.isdir(exe):  # an environment folder: its bin/python
        exe = os.path.join(exe, "bin", "python")
    if os.sep not in exe and not os.path.isfile(exe):
        exe = shutil.which(exe) or exe
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise ReproError(f"{exe}: not an executable Python interpreter")
    return exe


def take_snapshot(python: Optional[str] = None, timeout: float = 300) -> Snapshot:
    """Run the snapshot probe with ``python`` (an interpreter, or an environment folder;
    default: this interpreter) and return its signature, hashed."""
    exe = _interpreter(python)
    try:
        r = subprocess.run([exe, str(SCRIPT)], capture_output=True, text=True, timeout=timeout,
                           env=target_environ())
    except subprocess.TimeoutExpired:
        raise ReproError(f"{exe}: the snapshot did not finish in {timeout:.0f} s") from None
    except OSError as e:
        raise ReproError(f"{exe}: cannot run it ({e.strerror})") from None
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    try:
        snap = Snapshot.from_dict(json.loads(lines[-1]))
    except (IndexError, ValueError, KeyError, TypeError):
        err = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReproError(f"{exe}: the snapshot probe failed (exit {r.returncode}): {err}") \
            from None
    return Snapshot(**{**snap.__dict__, "hash": snap.signature()})


def read_snapshot(path: str) -> Snapshot:
    try:
        with open(path, encoding="utf-8") as f:
            return Snapshot.from_json(f.read())
    except OSError as e:
        raise ReproError(f"{path}: cannot read ({e.strerror})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ReproError(f"{path}: not a snapshot ({e})") from None


def write_snapshot(snap: Snapshot, path: str, fmt: str = "json") -> None:
    """Write ``snap`` as JSON or pip freeze text, atomically."""
    atomic_write_text(path, snap.to_json() + "\n" if fmt == "json" else snap.freeze())


__all__ = ["Snapshot", "Dist", "TorchInfo", "GpuInfo", "take_snapshot", "read_snapshot",
           "write_snapshot"]
