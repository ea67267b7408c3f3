"""`repro reproduce PATH`: from a paper repository to a passing smoke run, with a report."""

import argparse
import sys

from repro_cli.commands.plan import hardware
from repro_cli.render import print_json
from repro_core.errors import flags
from repro_core.reproduce import STRATEGIES, reproduce, summary

NAME = "reproduce"
HELP = ("Scan, plan, lock, build the env, copy, migrate, rebuild extensions and run a smoke "
        "test, diagnosing and fixing failures; writes reproduce-report.json/.md.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the repository folder (only read)")
    parser.add_argument("--gpu", metavar="auto|CC|NAME|none", default="auto",
                        help="plan and build for this GPU: auto (probe this machine, the "
                             "default), a compute capability (8.9), a name, or none (CPU)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="auto",
                        help="which plan candidates to try: auto (exact ones first, then "
                             "forward-ports, newest torch first), exact, or forward-port")
    parser.add_argument("--workdir", metavar="DIR",
                        help="where the envs, the code copy and the report go (default: "
                             "./reproduce-NAME)")
    parser.add_argument("--smoke", metavar="CMD",
                        help="the smoke command, run by bash in the code copy with the new "
                             "env first on PATH (default: inferred from the repository)")
    parser.add_argument("--max-rounds", type=int, default=3, metavar="N",
                        help="smoke runs per candidate, each after a diagnosed fix (default 3)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted or failed run in --workdir from the "
                             "stage that did not complete")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON (the ReproduceReport value)")


def run(args: argparse.Namespace) -> int:
    with flags(gpu="--gpu"):
        hw = hardware(args.gpu, None)
    try:
        rep = reproduce(args.path, hw, strategy=args.strategy, workdir=args.workdir,
                        smoke=args.smoke, max_rounds=args.max_rounds, resume=args.resume,
                        progress=True)
    except KeyboardInterrupt:
        print("repro reproduce: interrupted; the workdir is resumable: run again with "
              "--resume (same --workdir)", file=sys.stderr)
        raise
    if args.json:
        print_json(rep.to_dict(), sys.stdout)
    else:
        print(summary(rep))
    return 0 if rep.passed else 1
