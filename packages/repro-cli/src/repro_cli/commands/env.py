"""`repro env create LOCK`: an isolated environment from a lock (uv venv + hashed install)."""

import argparse
import sys

from repro_cli.render import print_json, table
from repro_core.envs import create_env, find_pythons, write_environment_yml

NAME = "env"
HELP = "Create an environment from a lock (`repro env create`), or list Pythons (`pythons`)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    c = sub.add_parser("create", help="create a venv from a lock, hashes required",
                       description="Create a venv from a lock with an interpreter of exactly "
                                   "its Python version (pyenv, uv-managed or PATH; never "
                                   "downloaded), installing every pin with its hash.")
    c.add_argument("lock", metavar="LOCK", help="a lock written by `repro lock`")
    c.add_argument("--python", metavar="X.Y|PATH",
                   help="interpreter version or path (default: the lock's Python)")
    where = c.add_mutually_exclusive_group()
    where.add_argument("--prefix", metavar="DIR", help="create the environment at DIR")
    where.add_argument("--name", metavar="NAME",
                       help="create it at ~/.cache/repro/envs/NAME (with --conda: its name)")
    c.add_argument("--conda", action="store_true",
                   help="write a conda environment.yml instead (conda is not needed)")
    c.add_argument("-o", "--output", default="environment.yml", metavar="FILE",
                   help="where --conda writes (default: environment.yml)")
    c.add_argument("--json", action="store_true", help="print the environment as JSON")
    sub.add_parser("pythons", help="list the Python interpreters env create can use")


def run(args: argparse.Namespace) -> int:
    if args.env_command == "pythons":
        print(table([(i.version, i.source, i.path) for i in find_pythons()],
                    ["python", "source", "path"]))
        return 0
    if args.conda:
        write_environment_yml(args.lock, args.output, args.name)
        print(f"wrote {args.output}")
        return 0
    env = create_env(args.lock, python=args.python, prefix=args.prefix, name=args.name,
                     progress=not args.json)
    if args.json:
        print_json(env.to_dict(), sys.stdout)
    else:
        print(f"created {env.path}: Python {env.python}, {env.packages} packages "
              f"({'hashes required' if env.hashes_required else 'some unhashed'}); "
              f"run {env.python_bin}")
    return 0
