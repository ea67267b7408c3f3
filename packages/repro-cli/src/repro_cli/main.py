"""The `repro` command: argument parsing and error mapping only.

Each module in ``repro_cli.commands`` is one subcommand. It defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``, and calls one library function.
"""

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional, Sequence

from repro_cli import __version__, commands
from repro_core.cli_support import run_command


def _command_modules(only: Optional[str] = None) -> List[object]:
    names = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.ispkg)
    if only in names:
        names = [only]  # type: ignore[list-item]
    return [importlib.import_module(f"repro_cli.commands.{n}") for n in names]


def main_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser of every subcommand; given the name of one (``command``), of that one only,
    so ``repro scan PATH`` imports the scan library alone, not every command's."""
    parser = argparse.ArgumentParser(
        prog="repro", description="Make a machine-learning paper's code run, reproducibly."
    )
    parser.add_argument("--version", action="version", version=f"repro {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules(command):
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = main_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    return run_command(lambda: args._run(args), prog=f"repro {args.command}")


def entrypoint() -> None:
    sys.exit(main())
