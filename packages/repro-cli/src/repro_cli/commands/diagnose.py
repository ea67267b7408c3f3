"""`repro diagnose [LOG|-]`: read a traceback or build log and name the fix."""

import argparse
import os
import stat
import sys
from typing import List

from repro_cli.commands.plan import hardware
from repro_cli.render import print_json
from repro_core.diagnose import Diagnosis, diagnose
from repro_core.errors import ReproError, flags

NAME = "diagnose"
HELP = "Read a traceback or build log (file or stdin) and name what broke and the fix."

UNRECOGNISED = 3  # exit code: nothing in the log was recognised


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", metavar="LOG", nargs="?", default="-",
                        help="the log file, or - for stdin (default)")
    parser.add_argument("--json", action="store_true", help="print the Diagnosis as JSON")
    parser.add_argument("--gpu", metavar="CC|NAME|auto|none", default="none",
                        help="the GPU the log came from, for TORCH_CUDA_ARCH_LIST fixes "
                             "(auto: this machine's; default none: only what the log says)")


def read_log(path: str) -> str:
    """The log's text (``-``: stdin); ReproError for a missing or non-regular file."""
    if path == "-":
        return sys.stdin.read()
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ReproError(f"{path}: not a regular file")
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise ReproError(f"{path}: cannot read: {e.strerror}") from None


def run(args: argparse.Namespace) -> int:
    text = read_log(args.log)
    with flags(gpu="--gpu"):
        hw = hardware(args.gpu, None)
    d = diagnose(text, hw)
    if args.json:
        print_json(d.to_dict(), sys.stdout)
    else:
        print(render(d))
    return 0 if d.recognised else UNRECOGNISED


def render(d: Diagnosis) -> str:
    """Ranked findings, each with its fixes and the log lines it used."""
    out: List[str] = []
    for n, f in enumerate(d.findings, 1):
        label = f"rule {f.id}" if f.source == "rule" else f.id
        out.append(f"{n}. [{f.severity}] {label}: {f.what}")
        out.append(f"   why: {f.why}")
        if f.advice and all(f.advice != x.note for x in f.fixes):
            out.append(f"   advice: {f.advice}")
        for x in f.fixes:
            how = f"  ->  {x.command}" if x.command else ""
            note = f"  ({x.note})" if x.note else ""
            out.append(f"   fix ({x.kind}): {x.value}{how}{note}")
        if not f.fixes:
            out.append("   fix: none automatic")
        for line in f.lines:
            out.append(f"   {line.number:>5} | {line.text.strip()[:160]}")
        out.append("")
    if not d.findings:
        out.append(f"unrecognised: {d.summary}")
        for line in d.examined:
            out.append(f"   {line.number:>5} | {line.text.strip()[:160]}")
    else:
        out.append(d.summary)
    return "\n".join(out)
