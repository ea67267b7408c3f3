"""`repro snapshot`: an environment's signature, taken by its own interpreter."""

import argparse
import sys

from repro_core.snapshot import take_snapshot, write_snapshot

NAME = "snapshot"
HELP = ("Record an environment: Python, platform, every distribution, torch build, GPUs, "
        "result-changing variables, and a hash of it all.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="PATH",
                        help="the environment's interpreter or folder (default: this one)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write it to FILE (default: print it)")
    parser.add_argument("--format", choices=("json", "freeze"), default="json",
                        help="json (the full signature, the default) or freeze (pip freeze)")


def run(args: argparse.Namespace) -> int:
    snap = take_snapshot(args.python)
    if args.output:
        write_snapshot(snap, args.output, args.format)
        print(f"wrote {args.output}: {len(snap.distributions)} distributions, Python "
              f"{snap.python}, {snap.hash}")
    else:
        sys.stdout.write(snap.to_json() + "\n" if args.format == "json" else snap.freeze())
    return 0
