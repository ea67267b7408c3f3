"""Facts about the Python interpreter that runs this file, printed as one JSON line.

Run BY the target interpreter (``python interpreter.py``), never imported by repro: it may be
any CPython 3.6+, so it uses the standard library only. torch is imported here, in that child
process; a torch that fails to import is reported as an error string.
"""

import json
import os
import platform
import sys

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]  # do not let this folder shadow anything the target imports


def dist_version(name):
    """Installed distribution version, or None (importlib.metadata, else pkg_resources)."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        try:
            import pkg_resources
        except ImportError:
            return None
        try:
            return pkg_resources.get_distribution(name).version
        except Exception:
            return None
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def glibc():
    try:
        name, ver = os.confstr("CS_GNU_LIBC_VERSION").split()
        return ver if name == "glibc" else None
    except (AttributeError, ValueError, OSError):
        lib, ver = platform.libc_ver()
        return ver if lib == "glibc" and ver else None


def _try(fn):
    try:
        return fn()
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}


def torch_facts():
    facts = {"installed": dist_version("torch")}
    if facts["installed"] is None:
        return facts
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch
    except BaseException as e:  # ImportError, OSError (missing .so), SystemExit...
        last = (str(e).strip().splitlines() or [""])[-1]
        facts["error"] = f"{type(e).__name__}: {last}"
        return facts
    cuda = getattr(torch, "cuda", None)
    facts["version"] = str(torch.__version__)
    facts["cuda"] = getattr(torch.version, "cuda", None)
    cudnn = _try(lambda: torch.backends.cudnn.version())
    facts["cudnn"] = cudnn
    # get_arch_list() exists from 1.6 and returns [] while CUDA is unavailable before 2.x;
    # the compiled-in list is the same string it splits.
    flags = None
    if hasattr(torch._C, "_cuda_getArchFlags"):
        flags = _try(torch._C._cuda_getArchFlags)
    if isinstance(flags, str):
        facts["arch_list"] = flags.split()
    elif hasattr(cuda, "get_arch_list"):
        facts["arch_list"] = _try(cuda.get_arch_list)
    else:
        facts["arch_list"] = None
    facts["cuda_available"] = _try(cuda.is_available) if cuda else False
    if facts["cuda_available"] is True:
        facts["device_count"] = _try(cuda.device_count)
    return facts


def main():
    impl = platform.python_implementation()
    out = {
        "executable": sys.executable,
        "python": platform.python_version(),
        "implementation": impl,
        "platform": platform.platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "glibc": glibc(),
        "packages": {
            "torch": torch_facts(),
            "numpy": {"installed": dist_version("numpy")},
            "timm": {"installed": dist_version("timm")},
        },
    }
    sys.stdout.write("\n" + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
