"""`repro scan PATH`: what a paper repository needs, read statically (never executed)."""

import argparse
import sys
from typing import List

from repro_cli.render import print_json, table
from repro_core.scan import ScanReport, scan

NAME = "scan"
HELP = "Read a repository (requirements, setup.py, Dockerfile, README, sources) without running it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the repository folder")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    report = scan(args.path)
    if args.json:
        print_json(report.to_dict(), sys.stdout)
    else:
        print(render(report))
    return 0


def render(r: ScanReport) -> str:
    out: List[str] = [f"repro scan {r.path}  ({r.files_scanned} files)"]
    out.append(f"reference date: {r.reference_date or 'unknown'}"
               + (f"  [{'; '.join(r.date_sources)}]" if r.date_sources else ""))
    cons = [(k, v) for k, v in r.constraints.items() if v]
    if cons:
        out += ["", "constraints:", table(cons, ["package", "specifier"])]
    free = sorted(k for k, v in r.constraints.items() if not v)
    if free:
        out.append("also needs (any version): " + ", ".join(free))
    if r.conflicts:
        out += ["", "conflicts:"] + [f"  {c.message}" for c in r.conflicts]
    for x in r.extensions:
        out += ["", f"extension {x.path} ({x.kind}, {len(x.sources)} sources"
                + (f", built by {x.build}" if x.build else "") + ")"]
        out += [f"  {a.path}:{a.line}  {a.api}  [{a.rule}]" for a in x.legacy_apis[:20]]
        if len(x.legacy_apis) > 20:
            out.append(f"  ... {len(x.legacy_apis) - 20} more")
    if r.findings:
        out += ["", f"findings ({len(r.findings)}):"]
        for f in r.findings:
            out.append(f"  {f.path}:{f.line}  {f.rule}: {f.message}")
            out.append(f"      fix: {f.fix}")
    if r.warnings:
        out += ["", "warnings:"] + [f"  {w}" for w in r.warnings]
    return "\n".join(out)
