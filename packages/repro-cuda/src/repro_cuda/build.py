"""Compile the kernels for this torch and these GPUs into the cache (``repro-cuda build``).

Toggles (environment): ``REPRO_CUDA_CACHE`` (cache folder), ``CUDA_HOME`` (toolkit root;
else the folder above the nvcc on PATH, else /usr/local/cuda), ``MAX_JOBS`` (parallel
compiles; default from free memory), ``TORCH_CUDA_ARCH_LIST`` is set by us from ``--arch``.
"""

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch

from repro_core.compat import best_arch, cc_str, nvcc_torch_ok, parse_cc
from repro_core.errors import BadValue, ReproError
from repro_core.fsutil import atomic_write_json
from repro_core.hardware import Hardware
from repro_core.probe.host import parse_nvcc_version, toolkit_root
from repro_cuda import cache, library, ops

Progress = Callable[[str], None]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- toolkit discovery ---------------------------------------------------------------------


def nvcc_version(cuda_home: str) -> str:
    out = subprocess.run([str(Path(cuda_home, "bin", "nvcc")), "--version"],
                         capture_output=True, text=True).stdout
    v = parse_nvcc_version(out)
    if not v:
        raise ReproError(f"could not read the version of {cuda_home}/bin/nvcc")
    return v


def nvidia_wheel_includes() -> List[str]:
    """Header folders of pip-installed NVIDIA wheels (site-packages/nvidia/*/include)."""
    seen: List[str] = []
    for entry in sys.path:
        for inc in sorted(Path(entry or ".").glob("nvidia/*/include")):
            if inc.is_dir() and str(inc) not in seen:
                seen.append(str(inc))
    return seen


# --- arch selection ------------------------------------------------------------------------


def gpu_ccs() -> List[str]:
    """Compute capabilities of the GPUs present (NVML, falling back to torch)."""
    return library._gpu_ccs()


def resolve_arch(arch: Optional[str], nvcc: Optional[str], say: Progress = _say,
                 hardware: Optional[Hardware] = None) -> Optional[str]:
    """TORCH_CUDA_ARCH_LIST for ``arch`` (None/"auto": the GPUs of ``hardware``, default the
    GPUs present), each lowered to what ``nvcc`` supports, "+PTX" on the newest; None for a
    CPU-only build."""
    if arch in (None, "auto"):
        ccs = [g.cc for g in hardware.gpus] if hardware is not None else gpu_ccs()
        if not ccs:
            say("no GPU found: CPU-only build (pass --arch 8.9 etc. to cross-compile)")
            return None
        say(f"GPUs present: compute capability {', '.join(sorted(set(ccs)))}")
    else:
        ccs = [a for a in re.split(r"[;,\s]+", arch.replace("+PTX", "").replace("+ptx", ""))
               if a]
        if not ccs:
            msg = f"{arch!r} names no compute capability"
            raise BadValue(msg, "arch", arch, after_flag=msg)
    if not torch.version.cuda:
        raise ReproError(f"torch {torch.__version__} is a CPU-only build: it cannot compile "
                         f"CUDA kernels (install a CUDA torch or use --cpu-only)")
    if nvcc is None:
        raise ReproError("no CUDA toolkit found (no nvcc in $CUDA_HOME/bin, on PATH or in "
                         "/usr/local/cuda); set CUDA_HOME or use --cpu-only")
    chosen = set()
    for cc in ccs:
        c = cc_str(parse_cc(cc))
        best, why = best_arch(c, nvcc)
        if best is None:
            raise ReproError(f"cannot compile for compute capability {c}: {why}")
        if best != c:
            say(f"lowering {c} to {best}: {why}")
        chosen.add(parse_cc(best))
    archs = [cc_str(c) for c in sorted(chosen)]
    archs[-1] += "+PTX"
    return ";".join(archs)


# --- compiling -----------------------------------------------------------------------------


def _max_jobs() -> str:
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2 ** 30
    except (ValueError, OSError):
        avail = 4.0
    return str(max(1, min(os.cpu_count() or 1, int(avail // 2))))


def _failure(output: str) -> Tuple[Optional[str], str]:
    """(the failed command, the compiler's first error) from ninja's output."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("FAILED:") and i + 1 < len(lines):
            body = [x.strip() for x in lines[i + 2:] if x.strip()
                    and not x.startswith("ninja: build stopped")]
            errs = [x for x in body
                    if re.search(r"\berror\b|cannot find|undefined reference", x, re.I)]
            return lines[i + 1].strip(), (errs or body or ["(no compiler output)"])[0]
    return None, (lines[-1] if lines else "(no compiler output)")


def _report_failure(name: str, folder: Path, err: RuntimeError) -> ReproError:
    output = str(err)
    if "FAILED:" not in output and (folder / "build.ninja").is_file():
        ninja = shutil.which("ninja") or "ninja"
        r = subprocess.run([ninja, "-v"], cwd=str(folder), capture_output=True, text=True)
        output = r.stdout + r.stderr
    cmd, first = _failure(output)
    repro = f"cd {folder} && {cmd}" if cmd else f"cd {folder} && ninja -v"
    return ReproError(f"compiling {name} failed: {first}\n"
                      f"  reproduce with: {repro}")


def _watch(folder: Path, total: int, label: str, done: threading.Event, say: Progress) -> None:
    """Print how many of the ``total`` objects exist, every few seconds, until ``done``."""
    start, last = time.time(), ""
    while not done.wait(5.0):
        n = len(list(folder.glob("*.o")))
        msg = f"  {label}: {min(n, total)}/{total} objects, {time.time() - start:.0f} s"
        if msg != last:
            say(msg)
            last = msg


def compile_library(kind: str, arch_list: Optional[str] = None, verbose: bool = False,
                    say: Progress = _say) -> Path:
    """Build one library (``cpu``: schemas + CPU kernels, ``cuda``: CUDA kernels) into its
    cache folder, or return the cached one when nothing changed."""
    from torch.utils import cpp_extension

    folder = cache.build_dir(kind, arch_list)
    lib = cache.library_file(kind, folder)
    man = cache.read_manifest(folder)
    if man and lib.is_file():
        say(f"{kind} library up to date: {lib}")
        return lib
    cache.make_dir(folder)
    srcs = [str(s) for s in cache.sources(kind)]
    name = cache.LIB_NAMES[kind]
    label = f"{name} ({arch_list})" if arch_list else name
    say(f"compiling {label}: {len(srcs)} sources into {folder}")
    includes = [str(cache.csrc_dir())]
    env_backup = {k: os.environ.get(k) for k in ("TORCH_CUDA_ARCH_LIST", "MAX_JOBS")}
    os.environ.setdefault("MAX_JOBS", _max_jobs())
    if kind == "cuda":
        os.environ["TORCH_CUDA_ARCH_LIST"] = arch_list or ""
        includes += nvidia_wheel_includes()
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(folder, len(srcs), label, done, say),
                               daemon=True)
    watcher.start()
    started = time.time()
    try:
        cpp_extension.load(
            name=name, sources=srcs, extra_cflags=cache.compile_flags("cpu"),
            extra_cuda_cflags=cache.compile_flags("cuda"),
            extra_include_paths=includes, build_directory=str(folder), verbose=verbose,
            with_cuda=(kind == "cuda"), is_python_module=False)
    except RuntimeError as e:
        raise _report_failure(name, folder, e) from None
    finally:
        done.set()
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    atomic_write_json(folder / "manifest.json", {
        "kind": kind, "torch": torch.__version__, "cuda": torch.version.cuda,
        "arch_list": arch_list or "", "sources": cache.source_hash(kind),
        "library": lib.name, "python": "{}.{}".format(*sys.version_info[:2]),
    })
    say(f"built {lib} in {time.time() - started:.0f} s")
    return lib


def _setup_cuda_env(say: Progress = _say) -> Tuple[Optional[str], Optional[str]]:
    """Point torch at the real toolkit root; (CUDA_HOME, nvcc version) or (None, None).
    A ``$CUDA_HOME`` that is not a toolkit is passed over, and said so."""
    home = toolkit_root()
    given = os.environ.get("CUDA_HOME")
    if given and (home is None or Path(given) != Path(home)):
        say(f"CUDA_HOME={given} is not a CUDA toolkit (needs bin/nvcc and "
            f"include/cuda_runtime_api.h): " + (f"using {home}" if home else
                                                 "no other toolkit found"))
    if home is None:
        return None, None
    os.environ["CUDA_HOME"] = home
    log = logging.getLogger("torch.utils.cpp_extension")
    level = log.level
    log.setLevel(logging.ERROR)  # its import warns "No CUDA runtime is found" without a GPU
    try:
        from torch.utils import cpp_extension
    finally:
        log.setLevel(level)
    cpp_extension.CUDA_HOME = home  # computed at its import, possibly from a wrong guess
    return home, nvcc_version(home)


def build(arch: Optional[str] = None, cpu_only: bool = False, verbose: bool = False,
          say: Progress = _say, hardware: Optional[Hardware] = None) -> Dict[str, Optional[str]]:
    """Build (or reuse) the CPU library and, unless CPU-only, the CUDA library for ``arch``
    (None/"auto": the GPUs of ``hardware``, default those present); load them.
    Returns {"cpu": path, "cuda": path or None, "arch_list": str or None}."""
    arch_list = None
    home, nvcc = _setup_cuda_env(say) if torch.version.cuda else (None, None)
    if not cpu_only:
        if home:
            say(f"CUDA toolkit: {home} (nvcc {nvcc})")
        arch_list = resolve_arch(arch, nvcc, say, hardware)
        if arch_list:
            ok, why = nvcc_torch_ok(nvcc, torch.version.cuda)
            if not ok:
                raise ReproError(f"cannot build CUDA kernels for torch {torch.__version__}: {why}")
    cpu_lib = compile_library("cpu", verbose=verbose, say=say)
    cuda_lib = compile_library("cuda", arch_list, verbose=verbose, say=say) if arch_list else None
    library.ensure_loaded()  # what this process would use anyway, before the new builds
    for kind, lib in (("cpu", cpu_lib), ("cuda", cuda_lib)):
        if lib is not None and not library.load(kind, lib):
            say(f"this process already uses {library.library_path(kind)} for {kind}; "
                f"{lib} serves the next start")
    ops.register()
    return {"cpu": str(cpu_lib), "cuda": str(cuda_lib) if cuda_lib else None,
            "arch_list": arch_list}
