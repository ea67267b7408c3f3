"""Host compilers: gcc, nvcc and CUDA_HOME (found the way torch.utils.cpp_extension does)."""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple


def _run(cmd: List[str]) -> Optional[str]:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


def cuda_home() -> Tuple[Optional[str], str]:
    """(CUDA home, where it came from), in torch's order: CUDA_HOME, CUDA_PATH, the folder
    above the nvcc on PATH, /usr/local/cuda."""
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            return os.environ[var], var
    nvcc = shutil.which("nvcc")
    if nvcc:
        return str(Path(nvcc).resolve().parent.parent), f"parent of {nvcc}"
    if Path("/usr/local/cuda").is_dir():
        return "/usr/local/cuda", "default /usr/local/cuda"
    return None, "not set, no nvcc on PATH, no /usr/local/cuda"


def _is_toolkit(root: Optional[str]) -> bool:
    return bool(root) and (Path(root, "bin", "nvcc").is_file()
                           and Path(root, "include", "cuda_runtime_api.h").is_file())


def _nvcc_roots(nvcc: str) -> List[str]:
    """Roots an nvcc on PATH points at: its folder's parent, and for a wrapper script
    (``exec /usr/local/cuda-13.0/bin/nvcc "$@"``) the parent of the nvcc it runs."""
    real = Path(nvcc).resolve()
    roots = [str(real.parent.parent)]
    try:
        if real.stat().st_size < 4096:
            roots += [m[: -len("/bin/nvcc")]
                      for m in re.findall(r"(/\S+/bin/nvcc)\b", real.read_text(errors="ignore"))]
    except OSError:
        pass
    return roots


def toolkit_root() -> Optional[str]:
    """The real toolkit root (bin/nvcc and include/cuda_runtime_api.h): $CUDA_HOME,
    $CUDA_PATH, the root behind the nvcc on PATH (following wrapper scripts), /usr/local/cuda.
    Unlike torch's guess (`cuda_home`), never a folder without headers."""
    cands = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")]
    nvcc = shutil.which("nvcc")
    if nvcc:
        cands += _nvcc_roots(nvcc)
    cands.append("/usr/local/cuda")
    for c in cands:
        if _is_toolkit(c):
            return str(Path(c))
    return None


def parse_nvcc_version(text: str) -> Optional[str]:
    """'... Cuda compilation tools, release 13.0, V13.0.88' -> '13.0.88' (or '13.0')."""
    m = re.search(r"release (\d+\.\d+)(?:, V(\d+\.\d+\.\d+))?", text)
    if not m:
        return None
    return m.group(2) or m.group(1)


def nvcc_version(root: str) -> Optional[str]:
    """The version of ``root``/bin/nvcc ("13.0.88"), None if it does not run."""
    text = _run([str(Path(root, "bin", "nvcc")), "--version"])
    return parse_nvcc_version(text) if text else None


def probe_host() -> Dict[str, Any]:
    """{"cuda_home": {path, source, has_nvcc, has_headers}, "nvcc": {path, version} | None,
    "gcc": version | None, "cxx": the compiler asked}."""
    home, source = cuda_home()
    home_nvcc = Path(home, "bin", "nvcc") if home else None
    nvcc_path = str(home_nvcc) if home_nvcc and home_nvcc.exists() else shutil.which("nvcc")
    nvcc = None
    if nvcc_path:
        text = _run([nvcc_path, "--version"])
        nvcc = {"path": nvcc_path, "version": parse_nvcc_version(text) if text else None}
    cxx = os.environ.get("CXX") or "g++"
    gcc = _run([cxx, "-dumpfullversion", "-dumpversion"]) if shutil.which(cxx) else None
    return {
        "cuda_home": {
            "path": home, "source": source,
            "has_nvcc": bool(home_nvcc and home_nvcc.exists()),
            "has_headers": bool(home and Path(home, "include", "cuda_runtime.h").exists()),
            "toolkit_root": toolkit_root(),
        },
        "nvcc": nvcc,
        "gcc": gcc.strip() if gcc else None,
        "cxx": cxx,
    }
