"""Probes: facts about the target interpreter (run in a child process), GPUs and host tools,
and ``hardware()``: this machine as a ``Hardware`` record."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from repro_core.errors import BadValue
from repro_core.hardware import GpuDevice, Hardware
from repro_core.probe import gpu, host
from repro_core.probe.gpu import probe_gpus
from repro_core.probe.host import probe_host

SCRIPT = Path(__file__).resolve().parent / "interpreter.py"

__all__ = ["probe_interpreter", "probe_gpus", "probe_host", "hardware", "SCRIPT"]


def hardware() -> Hardware:
    """This machine: GPUs and driver (NVML), the CUDA toolkit root and its nvcc, CPU count."""
    found = gpu.probe_gpus()
    root = host.toolkit_root()
    return Hardware(
        gpus=tuple(GpuDevice(name=g["name"], cc=g["cc"], memory_mib=g["memory_mib"],
                             index=g["index"]) for g in found["gpus"]),
        driver=found["driver"], driver_cuda=found["driver_cuda"], toolkit_root=root,
        nvcc=host.nvcc_version(root) if root else None, cpu_count=os.cpu_count(),
        probed=True, reason=found["reason"])


def _bad(exe: str, problem: str) -> BadValue:
    message = f"{exe}: {problem}"
    return BadValue(message, "python", exe, after_flag=message)


def probe_interpreter(python: Optional[str] = None, timeout: float = 300) -> Dict[str, Any]:
    """Run interpreter.py with ``python`` (a path or a name on PATH; default: this interpreter)
    and return its JSON. BadValue (field "python") if it cannot run or the probe fails."""
    exe = python or sys.executable
    if os.sep not in exe and not os.path.isfile(exe):
        exe = shutil.which(exe) or exe  # a bare name such as "python3.9" is looked up on PATH
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise _bad(exe, "not an executable file")
    try:
        r = subprocess.run([exe, str(SCRIPT)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise _bad(exe, f"the probe did not finish in {timeout:.0f} s") from None
    except OSError as e:
        raise _bad(exe, f"cannot run it ({e.strerror})") from None
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    try:
        facts = json.loads(lines[-1])
    except (IndexError, ValueError):
        err = r.stderr.strip().splitlines() or ["no output"]
        tail = err[-1] if "Traceback" in r.stderr else err[0]  # exception line, else headline
        raise _bad(exe, f"the probe failed (exit {r.returncode}): {tail}") from None
    return facts
