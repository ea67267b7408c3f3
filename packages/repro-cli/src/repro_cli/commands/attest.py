"""`repro attest PATH --run CMD`: run a command and record code, lock, environment, data,
seeds, metrics and hardware in one document signed by its own hash."""

import argparse
import sys

from repro_core.attest import attest, flatten

NAME = "attest"
HELP = ("Run a command and record, in one hash-signed document, the code, lock, environment "
        "snapshot, data manifest, seeds, metrics, exit code, wall time and hardware.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the repository folder (the command runs "
                                                     "there)")
    parser.add_argument("--run", required=True, metavar="CMD",
                        help="the command, run by the shell in PATH")
    parser.add_argument("--data", metavar="DIR", help="the data folder to hash and record")
    parser.add_argument("--lock", metavar="FILE",
                        help="the lock file: its hash is recorded and, without --python, the "
                             "command runs in the env built from it (`repro env create`)")
    parser.add_argument("--python", metavar="PATH",
                        help="the interpreter (or env folder) to run with (default: the "
                             "lock's env, else this one); its folder goes first on PATH")
    parser.add_argument("--metrics", metavar="FILE",
                        help="a JSON (or JSON Lines) file the command writes, relative to "
                             "PATH (default: the last JSON line the command prints)")
    parser.add_argument("--seed", type=int, metavar="N", help="the seed the run uses, declared")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="a path or glob in PATH left out of the code hash (outputs); "
                             "repeatable")
    parser.add_argument("--ignore", action="append", default=[], metavar="GLOB",
                        help="a metric key (dotted, glob: '*.imgs_per_s') verify does not "
                             "compare; repeatable")
    parser.add_argument("-o", "--output", default="attestation.json", metavar="FILE",
                        help="where to write the document (default: attestation.json)")


def run(args: argparse.Namespace) -> int:
    a = attest(args.path, args.run, data=args.data, lock=args.lock, python=args.python,
               metrics=args.metrics, seed=args.seed, exclude=args.exclude, ignore=args.ignore,
               output=args.output)
    a.write(args.output)
    n = len(flatten(a.metrics)) if a.metrics is not None else 0
    print(f"wrote {args.output}: exit {a.exit_code} in {a.wall_time_s:.1f} s, {n} metric"
          f"{'s' if n != 1 else ''}, Python {a.python_version} ({a.python_source}: {a.python})")
    print(f"  code {a.code_hash} ({a.code_files} file{'s' if a.code_files != 1 else ''}"
          + (f", commit {a.code_commit[:12]})" if a.code_commit else ", not a git repository)"))
    print(f"  environment {a.snapshot_hash}")
    if a.lock_hash:
        print(f"  lock {a.lock} {a.lock_hash}")
    if a.data_hash:
        print(f"  data {a.data} {a.data_hash} ({len(a.data_manifest['files'])} files)")
    print(f"  document {a.hash}")
    if a.exit_code != 0:
        print(f"repro attest: the command exited with {a.exit_code} (recorded)", file=sys.stderr)
        return 1
    return 0
