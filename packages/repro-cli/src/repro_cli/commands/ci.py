"""`repro ci [PATH]`: a GitHub Actions workflow and a noxfile running a version matrix."""

import argparse
import sys
from pathlib import Path
from typing import List

from repro_core import ci
from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text

NAME = "ci"
HELP = ("Write a GitHub Actions workflow (and a noxfile for the same matrix) that runs a "
        "repository's smoke command over torch/Python versions.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", nargs="?", default=".",
                        help="the repository (default: the current folder)")
    parser.add_argument("--matrix", metavar="ROW", action="append", default=[],
                        help="a row such as torch=1.10.0,python=3.8 (also torchvision=, timm=, "
                             "numpy=, name=); repeat for more; default: the plan's candidates "
                             "as CPU builds")
    parser.add_argument("--run", metavar="CMD", default=ci.DEFAULT_RUN,
                        help="the smoke command (default: import torch and print its version)")
    parser.add_argument("--requirements", metavar="FILE",
                        help="also install this requirements file (relative to PATH) in each row")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="the workflow file (default: PATH/.github/workflows/repro.yml)")
    parser.add_argument("--nox", metavar="FILE",
                        help="the noxfile (default: PATH/noxfile.py)")
    parser.add_argument("--force", action="store_true",
                        help="replace a workflow or noxfile that repro did not write")


def _rows(args: argparse.Namespace) -> List[ci.CiRow]:
    if args.matrix:
        return [ci.parse_row(r) for r in args.matrix]
    from repro_core.hardware import Hardware
    from repro_core.plan import plan_path
    return ci.rows_from_plan(plan_path(args.path, Hardware.stated(None)))


def _check(path: Path, force: bool) -> None:
    if path.is_file() and not force:
        head = path.read_text(encoding="utf-8", errors="replace")[:400]
        if ci.MARK not in head:
            raise ReproError(f"{path}: exists and was not written by repro; use another path "
                             f"or --force")


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.is_dir():
        raise ReproError(f"{root}: not a folder")
    if args.requirements and not (root / args.requirements).is_file():
        raise ReproError(f"{root / args.requirements}: no such requirements file")
    rows = _rows(args)
    wf_path = Path(args.output) if args.output else root / ".github" / "workflows" / "repro.yml"
    nox_path = Path(args.nox) if args.nox else root / "noxfile.py"
    doc = ci.workflow(rows, args.run, args.requirements)
    errors = ci.validate(doc)
    if errors:
        raise ReproError(f"{wf_path}: the workflow breaks the GitHub workflow schema: {errors[0]}"
                         + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    for p in (wf_path, nox_path):
        _check(p, args.force)
    try:
        shown = wf_path.relative_to(root).as_posix()
    except ValueError:
        shown = str(wf_path)
    atomic_write_text(wf_path, ci.to_yaml(doc, f"{ci.MARK}: the smoke command over {len(rows)} "
                                           f"torch/Python rows (CPU)."))
    atomic_write_text(nox_path, ci.noxfile(rows, args.run, args.requirements, shown))
    print(f"wrote {wf_path} and {nox_path}: {len(rows)} rows")
    for r in rows:
        print(f"  {r.name}: Python {r.python} {' '.join(r.pins)}")
    if errors is None:
        print("note: not validated against the GitHub workflow schema (install "
              "'repro-core[ci]' for check-jsonschema's copy)", file=sys.stderr)
    else:
        print("validated against the GitHub workflow schema (check-jsonschema's copy)")
    return 0
