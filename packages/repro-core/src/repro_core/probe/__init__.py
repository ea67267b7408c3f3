"""Probes: facts about the target interpreter (run in a child process), GPUs and host tools."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from repro_core.errors import ReproError
from repro_core.probe.gpu import probe_gpus
from repro_core.probe.host import probe_host

SCRIPT = Path(__file__).resolve().parent / "interpreter.py"

__all__ = ["probe_interpreter", "probe_gpus", "probe_host", "SCRIPT"]


def probe_interpreter(python: Optional[str] = None, timeout: float = 300) -> Dict[str, Any]:
    """Run interpreter.py with ``python`` (a path or a name on PATH; default: this interpreter)
    and return its JSON."""
    exe = python or sys.executable
    if os.sep not in exe and not os.path.isfile(exe):
        exe = shutil.which(exe) or exe  # a bare name such as "python3.9" is looked up on PATH
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise ReproError(f"--python {exe}: not an executable file")
    try:
        r = subprocess.run([exe, str(SCRIPT)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ReproError(f"--python {exe}: the probe did not finish in {timeout:.0f} s") from None
    except OSError as e:
        raise ReproError(f"--python {exe}: cannot run it ({e.strerror})") from None
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    try:
        facts = json.loads(lines[-1])
    except (IndexError, ValueError):
        err = r.stderr.strip().splitlines() or ["no output"]
        tail = err[-1] if "Traceback" in r.stderr else err[0]  # exception line, else headline
        raise ReproError(
            f"--python {exe}: the probe failed (exit {r.returncode}): {tail}") from None
    return facts
