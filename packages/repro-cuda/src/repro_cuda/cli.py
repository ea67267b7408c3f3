"""The ``repro-cuda`` command: ``build`` compiles the kernels, ``info`` says what is loaded."""

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from repro_core.cli_support import run_command
from repro_core.errors import flags


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="repro-cuda", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile the kernels for this torch and these GPUs")
    target = b.add_mutually_exclusive_group()
    target.add_argument("--arch", default=None, metavar="auto|8.9|'8.6;9.0'",
                        help="compute capabilities to compile for (auto: the GPUs present; "
                             "default: auto, CPU-only when there is no GPU)")
    target.add_argument("--cpu-only", action="store_true", help="build the CPU library only")
    b.add_argument("--verbose", action="store_true", help="show the compiler commands")
    b.add_argument("--wheel", action="store_true",
                   help="also write a platform wheel carrying the compiled libraries")
    b.add_argument("--wheel-dir", default="dist", type=Path, metavar="DIR",
                   help="where --wheel writes (default: ./dist)")
    sub.add_parser("info", help="print the libraries in use and the backend per device (JSON)")
    return parser


def _build(args: argparse.Namespace) -> int:
    from repro_cuda import build, wheel

    with flags(arch="--arch"):
        libs = build.build(arch=args.arch, cpu_only=args.cpu_only, verbose=args.verbose)
    print(f"cpu library:  {libs['cpu']}")
    print(f"cuda library: {libs['cuda'] or '(none: CPU-only build)'}")
    if args.wheel:
        path = wheel.write_wheel({"cpu": libs["cpu"], "cuda": libs["cuda"]}, args.wheel_dir)
        print(f"wheel: {path}")
    return 0


def _info() -> int:
    import torch

    import repro_cuda
    from repro_cuda import cache

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(json.dumps({
        "torch": torch.__version__, "cache": str(cache.cache_root()),
        "libraries": {k: repro_cuda.library_path(k) for k in ("cpu", "cuda")},
        "backend": {d: repro_cuda.backend(d) for d in devices},
    }, indent=2))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = main_parser().parse_args(argv)
    return run_command(lambda: _build(args) if args.command == "build" else _info(),
                       prog="repro-cuda")


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
