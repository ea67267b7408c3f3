"""`repro diff A B`: two environments side by side; exit 1 when they differ."""

import argparse
import sys
from typing import List, Optional

from repro_cli.render import print_json
from repro_core.diff import Diff, diff_files

NAME = "diff"
HELP = ("Compare two environments (snapshots, locks or requirements files): packages added, "
        "removed, changed; Python/CUDA/GPU differences. Exit 1 when they differ.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="snapshot JSON, lock, or requirements file")
    parser.add_argument("b", metavar="B", help="snapshot JSON, lock, or requirements file")
    parser.add_argument("--json", action="store_true", help="print the differences as JSON")


def run(args: argparse.Namespace) -> int:
    d = diff_files(args.a, args.b)
    if args.json:
        print_json(d.to_dict(), sys.stdout)
    else:
        print(render(d))
    return 0 if d.equal else 1


def render(d: Diff) -> str:
    """Side by side like ``diff -y``: ``|`` changed, ``<`` only in A, ``>`` only in B."""
    rows = [(c.name, c.old, c.new) for c in d.facts] + [(c.name, c.old, c.new)
                                                        for c in d.packages]
    if not rows:
        return f"{d.a} and {d.b}: the same ({d.same} packages)"

    def cell(v: Optional[str]) -> str:
        return "" if v is None else v

    wn = max([len(r[0]) for r in rows] + [7])
    wa = max([len(cell(r[1])) for r in rows] + [len(d.a)])
    out: List[str] = [f"{'':<{wn}}  {d.a:<{wa}}   {d.b}"]
    for name, old, new in rows:
        mark = "<" if new is None else ">" if old is None else "|"
        out.append(f"{name:<{wn}}  {cell(old):<{wa}} {mark} {cell(new)}".rstrip())
    n_add = sum(c.kind == "added" for c in d.packages)
    n_rm = sum(c.kind == "removed" for c in d.packages)
    n_ch = len(d.packages) - n_add - n_rm
    out.append(f"{n_add} added, {n_rm} removed, {n_ch} changed, {d.same} the same"
               + (f"; {len(d.facts)} environment differences" if d.facts else ""))
    return "\n".join(out)
