"""The `repro` command: argument parsing and error mapping only.

Each module in ``repro_cli.commands`` is one subcommand. It defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``, and calls one library function.
"""

import argparse
import importlib
import os
import pkgutil
import sys
from typing import List, Optional, Sequence

from repro_cli import __version__, commands
from repro_core.errors import ReproError


def _command_modules() -> List[object]:
    names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.ispkg)
    return [importlib.import_module(f"repro_cli.commands.{n}") for n in names]


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repro", description="Make a machine-learning paper's code run, reproducibly."
    )
    parser.add_argument("--version", action="version", version=f"repro {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = main_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe surfaces here, not at interpreter exit
        return code
    except ReproError as e:
        print(f"repro {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("repro: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entrypoint() -> None:
    sys.exit(main())
