"""Probes: facts about the target interpreter (run in a child process), GPUs and host tools,
and ``hardware()``: this machine as a ``Hardware`` record."""

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from repro_core.errors import BadValue
from repro_core.hardware import GpuDevice, Hardware
from repro_core.probe import gpu, host
from repro_core.probe.gpu import probe_gpus
from repro_core.probe.host import probe_host

SCRIPT = Path(__file__).resolve().parent / "interpreter.py"

__all__ = ["probe_interpreter", "probe_gpus", "probe_host", "hardware", "SCRIPT",
           "PROBE_TIMEOUT", "MAX_PROBE_OUTPUT"]


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


PROBE_TIMEOUT = 20.0  # seconds: an interpreter that imports torch answers in a few
MAX_PROBE_OUTPUT = 1 << 20  # bytes per stream: the probe prints one JSON line of a few KB


def probe_interpreter(python: Optional[str] = None,
                      timeout: float = PROBE_TIMEOUT) -> Dict[str, Any]:
    """Run interpreter.py with ``python`` (a path or a name on PATH; default: this interpreter)
    and return its JSON. BadValue (field "python") if it cannot run, does not finish within
    ``timeout`` seconds, prints more than ``MAX_PROBE_OUTPUT`` bytes, or the probe fails."""
    exe = python or sys.executable
    if os.sep not in exe and not os.path.isfile(exe):
        exe = shutil.which(exe) or exe  # a bare name such as "python3.9" is looked up on PATH
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise _bad(exe, "not an executable file")
    try:
        code, out, err = _run_capped([exe, str(SCRIPT)], timeout, MAX_PROBE_OUTPUT)
    except OSError as e:
        raise _bad(exe, f"cannot run it ({e.strerror})") from None
    except _Stopped as e:
        raise _bad(exe, f"the probe {e}") from None
    lines = [ln for ln in out.splitlines() if ln.strip()]
    try:
        facts = json.loads(lines[-1])
    except (IndexError, ValueError):
        errs = err.strip().splitlines() or ["no output"]
        tail = errs[-1] if "Traceback" in err else errs[0]  # exception line, else headline
        raise _bad(exe, f"the probe failed (exit {code}): {tail}") from None
    if not isinstance(facts, dict):
        raise _bad(exe, f"the probe failed (exit {code}): its last line is not a JSON object")
    return facts


class _Stopped(Exception):
    """The child was killed: it ran too long or printed too much (the message says which)."""


def _run_capped(cmd: List[str], timeout: float, limit: int) -> Tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``cmd``, reading at most ``limit`` bytes of each stream;
    _Stopped (after killing its process group) when it exceeds ``timeout`` or ``limit``."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    bufs = {"stdout": bytearray(), "stderr": bytearray()}
    late = f"did not finish in {timeout:g} s (it was ended)"
    deadline = time.monotonic() + timeout
    problem = None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "stdout")  # type: ignore[arg-type]
        sel.register(proc.stderr, selectors.EVENT_READ, "stderr")  # type: ignore[arg-type]
        while sel.get_map() and problem is None:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = late
                break
            for key, _ in sel.select(left):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                elif len(bufs[key.data]) + len(chunk) > limit:
                    problem = (f"printed more than {limit:,} bytes on {key.data} (it prints one "
                               f"JSON line of a few KB): stopped reading and ended it")
                    break
                else:
                    bufs[key.data] += chunk
    if problem is None:
        try:
            proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            problem = late
    if problem is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    if problem is not None:
        raise _Stopped(problem)
    out, err = (bytes(bufs[k]).decode("utf-8", "replace") for k in ("stdout", "stderr"))
    return proc.returncode, out, err
