"""`repro lock`: a hashed requirements lock (resolved by uv) for a plan candidate."""

import argparse
import sys

from repro_cli.render import print_json
from repro_core.lock import lock_path, write_lock

NAME = "lock"
HELP = "Lock a plan candidate or requirements files as of a date, with hashes (via uv)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="PATH|PLAN.json|REQS",
                        help="a repository (scanned and planned), a saved `repro plan --json` "
                             "file, or requirements files")
    parser.add_argument("--candidate", type=int, default=1, metavar="N",
                        help="which plan candidate to lock (1 = the first, as `repro plan` "
                             "numbers them)")
    parser.add_argument("--date", metavar="YYYY-MM-DD",
                        help="resolve as of this day (default: the scan's reference date, "
                             "else today)")
    parser.add_argument("--python", metavar="X.Y",
                        help="target Python (default: the candidate's, else this interpreter's)")
    parser.add_argument("--cuda", metavar="X.Y|cpu",
                        help="torch build variant (default: the candidate's)")
    parser.add_argument("--platform", default="linux",
                        help="target platform: linux (x86_64, the default), linux-aarch64, macos,"
                             " windows or a uv target triple")
    parser.add_argument("-o", "--output", default="requirements.lock", metavar="FILE",
                        help="where to write the lock (default: requirements.lock)")
    parser.add_argument("--json", action="store_true",
                        help="print the lock as JSON (the Lock value) instead of a summary")


def run(args: argparse.Namespace) -> int:
    lk = lock_path(args.inputs, candidate=args.candidate, date=args.date, python=args.python,
                   cuda=args.cuda, platform=args.platform)
    write_lock(lk, args.output)
    for w in lk.warnings:
        print(f"repro lock: warning: {w}", file=sys.stderr)
    if args.json:
        print_json(lk.to_dict(), sys.stdout)
    else:
        print(f"wrote {args.output}: {len(lk.pins)} pins for Python {lk.python} on "
              f"{lk.platform}, variant {lk.variant or 'none'}, as of {lk.date}")
        for p in lk.pins:
            print(f"  {p.name}=={p.version}" + ("" if p.hashes else "  (unhashed)"))
    return 0
