"""`repro data hash DIR` and `repro data verify DIR MANIFEST`: pin a dataset by content."""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

from repro_core import datamanifest
from repro_core.datamanifest import Manifest, Verification

NAME = "data"
HELP = "Hash a dataset tree into a manifest (sha256, sizes), or verify a tree against one."

# Progress goes to stderr on a terminal, or elsewhere (logs) when the work is this large.
PROGRESS_BYTES = 1 << 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    h = sub.add_parser("hash", help="write the manifest of a folder (sha256 and size of "
                                    "every file)", description="Write the manifest of DIR.")
    h.add_argument("dir", metavar="DIR", help="the dataset folder")
    h.add_argument("-o", "--output", metavar="FILE",
                   help="write the manifest here (default: print it)")
    v = sub.add_parser("verify", help="check a folder against a manifest (exit 1 on any "
                                      "difference)",
                       description="Check DIR against MANIFEST: a repro manifest, a DVC .dvc "
                                   "file or dvc.lock. Exit 0 when all match, 1 otherwise.")
    v.add_argument("dir", metavar="DIR", help="the dataset folder")
    v.add_argument("manifest", metavar="MANIFEST",
                   help="data.manifest.json, a DVC .dvc file or dvc.lock")
    v.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    if args.action == "hash":
        return _hash(args)
    return _verify(args)


def _progress(verb: str) -> Callable[[int, int], None]:
    tty = sys.stderr.isatty()
    state = {"last": 0.0, "tenth": -1}

    def show(done: int, total: int) -> None:
        if not total or not (tty or total >= PROGRESS_BYTES):
            return
        now = time.monotonic()
        if tty:
            if now - state["last"] >= 0.2 or done == total:
                state["last"] = now
                end = "\n" if done == total else ""
                sys.stderr.write(f"\r{verb} {_size(done)} / {_size(total)} "
                                 f"({100 * done // total}%){end}")
                sys.stderr.flush()
        elif 10 * done // total > state["tenth"]:
            state["tenth"] = 10 * done // total
            print(f"{verb} {_size(done)} / {_size(total)} ({100 * done // total}%)",
                  file=sys.stderr)

    return show


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _hash(args: argparse.Namespace) -> int:
    out: Optional[Path] = Path(args.output) if args.output else None
    m = datamanifest.hash_tree(args.dir, _progress("hashing"), exclude=out)
    if out is None:
        sys.stdout.write(json.dumps(m.to_json(), indent=2) + "\n")
    else:
        m.write(out)
        print(f"{len(m.files)} files, {_size(m.total_size)} hashed -> {out}", file=sys.stderr)
    return 0


def _verify(args: argparse.Namespace) -> int:
    manifest: Manifest = datamanifest.load(args.manifest, args.dir)
    r = datamanifest.verify(args.dir, manifest, _progress("verifying"), exclude=args.manifest)
    if args.json:
        sys.stdout.write(json.dumps(r.to_json(), indent=2) + "\n")
    else:
        print(render(r, args.dir))
    return 0 if r.ok else 1


def render(r: Verification, directory: str) -> str:
    why = dict(r.details)
    lines: List[str] = [f"changed  {p}  ({why[p]})" if p in why else f"changed  {p}"
                        for p in r.changed]
    lines += [f"missing  {p}" for p in r.missing]
    lines += [f"extra    {p}" for p in r.extra]
    n = len(r.changed) + len(r.missing) + len(r.extra)
    if r.ok:
        lines.append(f"OK: all {r.checked} files in {directory} match")
    else:
        lines.append(f"{n} difference{'s' if n != 1 else ''}: {len(r.changed)} changed, "
                     f"{len(r.missing)} missing, {len(r.extra)} extra "
                     f"({r.checked} files listed)")
    return "\n".join(lines)
