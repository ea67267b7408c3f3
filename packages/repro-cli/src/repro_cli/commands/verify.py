"""`repro verify attestation.json`: re-run an attested command and compare every recorded hash
and metric; exit 1 on any difference beyond tolerance."""

import argparse
import json
import sys

from repro_core.attest import VerifyReport, read_attestation, verify_attestation

NAME = "verify"
HELP = ("Re-create and re-run an attested command (repro attest) and compare code, lock, "
        "environment, data, seeds, exit code and metrics; exit 1 on any difference.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("attestation", metavar="FILE", help="the attestation.json")
    parser.add_argument("--rtol", type=float, default=1e-6,
                        help="relative tolerance for numeric metrics (default 1e-6)")
    parser.add_argument("--atol", type=float, default=0.0,
                        help="absolute tolerance for numeric metrics (default 0)")
    parser.add_argument("--python", metavar="PATH",
                        help="run with this interpreter instead of the lock's env / the "
                             "recorded one")
    parser.add_argument("--path", metavar="DIR",
                        help="where the attested repository is now (default: as recorded)")
    parser.add_argument("--data", metavar="DIR",
                        help="where the data is now (default: as recorded)")
    parser.add_argument("--ignore", action="append", default=[], metavar="GLOB",
                        help="a metric key (dotted, glob) not to compare; repeatable")
    parser.add_argument("--json", action="store_true", help="print the VerifyReport as JSON")


def render(r: VerifyReport) -> str:
    lines = [f"{r.attestation}: re-ran with {r.python} ({r.python_source}) in "
             f"{r.wall_time_s:.1f} s"]
    diffs = r.differences
    if diffs:
        rows = [("", "recorded", "now")] + [(c.name, c.recorded, c.now) for c in diffs]
        w0, w1 = (max(len(row[i]) for row in rows) for i in (0, 1))
        lines += [f"  {a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows]
        lines.append(f"{len(diffs)} difference{'s' if len(diffs) != 1 else ''} in "
                     f"{len(r.checks)} checks (rtol {r.rtol:g}, atol {r.atol:g})")
    else:
        metrics = sum(1 for c in r.checks if c.name.startswith("metric "))
        lines.append(f"OK: {len(r.checks)} checks match ({metrics} metrics within rtol "
                     f"{r.rtol:g}, atol {r.atol:g})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    a = read_attestation(args.attestation)
    r = verify_attestation(a, rtol=args.rtol, atol=args.atol, python=args.python,
                           path=args.path, data=args.data, ignore=args.ignore,
                           where=args.attestation)
    if args.json:
        sys.stdout.write(json.dumps(r.to_json(), indent=2) + "\n")
    else:
        print(render(r))
    return 0 if r.ok else 1
