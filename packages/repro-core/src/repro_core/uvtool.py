"""The uv binary (resolver and installer) and its errors as one line."""

import os
import shutil
import subprocess
from typing import Dict, List, Optional, Sequence

from repro_core.errors import ReproError


def uv_bin() -> str:
    """The uv executable: the one the ``uv`` package ships, else ``uv`` on PATH."""
    try:
        import uv  # the PyPI package: a binary plus find_uv_bin()

        path = uv.find_uv_bin()
        if path and os.path.isfile(path):
            return str(path)
    except (ImportError, FileNotFoundError):
        pass
    path = shutil.which("uv")
    if path:
        return path
    raise ReproError("uv is not installed (pip install uv): repro uses it to resolve and install")


def one_line(stderr: str) -> str:
    """uv's error report (``error: ...``, ``cause: ...`` lines, ``hint: ...``) as one line:
    the first and the innermost cause, and the hint's last sentence."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    head = next((ln[len("error:"):].strip() for ln in lines if ln.startswith("error:")), "")
    causes = [ln[len("cause:"):].strip() for ln in lines if ln.startswith("cause:")]
    hints = [ln[len("hint:"):].strip() for ln in lines if ln.startswith("hint:")]
    parts = [] if head.startswith("No solution found") or not head else [head]
    if causes:
        parts += [causes[0]] if not parts else []
        parts += [causes[-1]] if causes[-1] not in parts else []
    text = ": ".join(parts) or (lines[-1] if lines else "no output")
    text = text.replace(", we can conclude that your requirements are unsatisfiable", "")
    if hints:
        said = [s for s in hints[0].split(". ") if s and not s.startswith("Consider")]
        if said:  # the facts; "Consider using <uv flag>" advice does not apply to repro
            text += f" ({'. '.join(said).rstrip('.')})"
    return text


def run_uv(args: Sequence[str], what: str, env: Optional[Dict[str, str]] = None,
           capture: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run ``uv ARGS``; on failure raise ReproError("WHAT: <uv's error in one line>")."""
    cmd: List[str] = [uv_bin(), *args]
    full_env = dict(os.environ, **(env or {}))
    try:
        r = subprocess.run(cmd, env=full_env, text=True, timeout=timeout,
                           stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE if capture else None)
    except subprocess.TimeoutExpired:
        raise ReproError(f"{what}: uv did not finish in {timeout:.0f} s") from None
    if r.returncode != 0:
        why = one_line(r.stderr) if capture else f"uv exited with {r.returncode} (see above)"
        raise ReproError(f"{what}: {why}")
    return r
