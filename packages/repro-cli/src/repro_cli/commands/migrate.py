"""`repro migrate PATH`: rewrite deprecated APIs for the target stack (libcst codemods)."""

import argparse
import sys
from typing import List

from repro_cli.render import print_json
from repro_core.migrate import MigrationResult, migrate

NAME = "migrate"
HELP = ("Rewrite deprecated torch/timm/numpy/Pillow/stdlib and C++ extension APIs for a newer "
        "stack (check, diff or write).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the repository folder (or one file)")
    parser.add_argument("--target", metavar="PKG==VER,...",
                        help="the stack to migrate to, e.g. torch==2.14,timm==1.0,numpy==2.3 "
                             "(default: the installed one)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", dest="mode", action="store_const", const="check",
                      help="report what would change; exit 1 if anything would (default)")
    mode.add_argument("--diff", dest="mode", action="store_const", const="diff",
                      help="print a unified diff of what would change")
    mode.add_argument("--write", dest="mode", action="store_const", const="write",
                      help="apply the changes (atomically, file by file)")
    parser.add_argument("--rules", metavar="ID,...",
                        help="only these rules; needs-review rules named here are applied too")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    mode = args.mode or "check"
    rules = [r.strip() for r in args.rules.split(",") if r.strip()] if args.rules else None

    def progress(done: int, total: int, path: str) -> None:
        if total >= 500 and (done % 500 == 0 or done == total):
            print(f"repro migrate: {done}/{total} files", file=sys.stderr)

    result = migrate(args.path, target=args.target, mode=mode, rules=rules, progress=progress)
    if args.json:
        print_json(result.to_json(), sys.stdout)
    elif mode == "diff":
        sys.stdout.write(result.diff)
        print(summary(result), file=sys.stderr)
    else:
        print(render(result))
    if mode in ("check", "diff") and result.changes:
        return 1
    return 0


def summary(r: MigrationResult) -> str:
    verb = "changed" if r.mode == "write" else "would change"
    out = [f"{len(r.changes)} rewrites in {len(r.files_changed)} files ({verb}); "
           f"{len(r.review)} for review; {len(r.failed)} files left alone; "
           f"{r.files_scanned} files scanned"]
    return "\n".join(out)


def render(r: MigrationResult) -> str:
    tgt = ", ".join(f"{k}=={v}" for k, v in sorted(r.target.items()))
    out: List[str] = [f"repro migrate {r.path}  (target {tgt})"]
    if r.changes:
        out += ["", "changed:" if r.mode == "write" else "would change:"]
        for c in r.changes:
            out.append(f"  {c.path}:{c.line}  [{c.rule}]  {_flat(c.before)[:70]}  ->  "
                       f"{_flat(c.after)[:70]}" + (f"  ({c.note})" if c.note else ""))
    if r.review:
        out += ["", "for review (apply with --rules ID):"]
        for c in r.review:
            sug = _flat(c.after) if c.after else "fix: " + _fix(c.rule)
            out.append(f"  {c.path}:{c.line}  [{c.rule}]  {_flat(c.before)[:70]}  ->  {sug[:90]}")
    if r.failed:
        out += ["", "left alone:"] + [f"  {f.path}: {f.error}" for f in r.failed]
    out += ["", summary(r)]
    return "\n".join(out)


def _flat(code: str) -> str:
    """Code on one line (blanks and line breaks squeezed) for the listing."""
    return " ".join(code.split()) or "(removed)"


def _fix(rule_id: str) -> str:
    from repro_core import kb

    return kb.rule(rule_id).fix
