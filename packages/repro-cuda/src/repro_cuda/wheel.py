"""``repro-cuda build --wheel``: a platform wheel of repro_cuda carrying the compiled
libraries (in ``repro_cuda/_lib/<kind>/``), for cluster nodes without a compiler."""

import base64
import hashlib
import shutil
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

from repro_cuda import __version__, cache

_SKIP = {"__pycache__", "_lib"}


def _package_files() -> List[Tuple[str, Path]]:
    """(archive name, file) of the repro_cuda package itself and its kernel sources."""
    out = []
    for f in sorted(cache.PACKAGE_DIR.rglob("*")):
        rel = f.relative_to(cache.PACKAGE_DIR)
        if f.is_file() and not _SKIP.intersection(rel.parts) and f.suffix not in (".pyc",):
            out.append((f"repro_cuda/{rel.as_posix()}", f))
    if not (cache.PACKAGE_DIR / "csrc").is_dir():  # source checkout: take the repo's csrc/
        root = cache.csrc_dir()
        for f in sorted(root.rglob("*")):
            if f.is_file():
                out.append((f"repro_cuda/csrc/{f.relative_to(root).as_posix()}", f))
    return out


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def local_version() -> str:
    """0.1.0+torch2.14.1.cu130: the wheel only fits this torch build."""
    tv = torch.__version__.split("+")[0]
    cu = "cu" + torch.version.cuda.replace(".", "") if torch.version.cuda else "cpu"
    return f"{__version__}+torch{tv}.{cu}"


def write_wheel(libs: Dict[str, Optional[str]], out_dir: Path) -> Path:
    """Write the wheel for the built ``libs`` ({"cpu": path, "cuda": path or None})."""
    version = local_version()
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    name = f"repro_cuda-{version}-{py}-{py}-{plat}.whl"
    dist_info = f"repro_cuda-{version}.dist-info"
    files: List[Tuple[str, bytes]] = [(a, f.read_bytes()) for a, f in _package_files()]
    for kind, lib in libs.items():
        if lib:
            folder = Path(lib).parent
            for f in (Path(lib), folder / "manifest.json"):
                files.append((f"repro_cuda/_lib/{kind}/{f.name}", f.read_bytes()))
    tv = torch.__version__.split("+")[0]
    meta = (f"Metadata-Version: 2.1\nName: repro-cuda\nVersion: {version}\n"
            f"Summary: repro-cuda with compiled kernels for torch {torch.__version__}\n"
            f"Requires-Python: >=3.8\nRequires-Dist: repro-core==0.1.0\n"
            f"Requires-Dist: torch=={tv}\nRequires-Dist: ninja\nRequires-Dist: setuptools\n")
    wheel_meta = (f"Wheel-Version: 1.0\nGenerator: repro-cuda {__version__}\n"
                  f"Root-Is-Purelib: false\nTag: {py}-{py}-{plat}\n")
    entry = "[console_scripts]\nrepro-cuda = repro_cuda.cli:entrypoint\n"
    files += [(f"{dist_info}/METADATA", meta.encode()), (f"{dist_info}/WHEEL", wheel_meta.encode()),
              (f"{dist_info}/entry_points.txt", entry.encode())]
    record = [_record_line(a, d) for a, d in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    tmp = out_dir / f".{name}.tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in files:
            zf.writestr(arc, data)
    shutil.move(str(tmp), str(target))
    return target
