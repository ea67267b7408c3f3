"""``repro-mae``: ``pretrain`` (the published main_pretrain.py flags) and ``convert``."""

import argparse
import sys
from typing import List, Optional

from repro_core.cli_support import run_command
from repro_core.errors import ReproError
from repro_core.fsutil import OutputExistsError, check_destination


def _convert(args: argparse.Namespace) -> int:
    from repro_mae import convert

    try:
        check_destination(args.dst, overwrite=args.force)  # before the (long) load
        state = convert.load_state_dict(args.src)
        convert.save_state_dict(args.dst, state, layout=args.to, overwrite=args.force)
    except OutputExistsError as e:
        raise ReproError(f"{e} (pass --force to replace it)") from e
    print(f"wrote {args.dst} ({args.to} layout, {len(state)} tensors)")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from repro_mae import pretrain

    return pretrain.run(args)


def main_parser() -> argparse.ArgumentParser:
    from repro_mae import pretrain

    parser = argparse.ArgumentParser(prog="repro-mae", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("pretrain", help="MAE pre-training (main_pretrain.py flags)")
    pretrain.add_arguments(p)
    p.set_defaults(func=_pretrain)
    c = sub.add_parser("convert", help="convert weights between MAE and HuggingFace layouts")
    c.add_argument("src", help="published/repro-mae checkpoint or HuggingFace state dict")
    c.add_argument("dst", help="output file")
    c.add_argument("--to", choices=["mae", "hf"], default="mae",
                   help='"mae": {"model": state} as published; "hf": ViTMAE state dict')
    c.add_argument("--force", action="store_true", help="replace DST if it is a file")
    c.set_defaults(func=_convert)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = main_parser().parse_args(argv)
    return run_command(lambda: args.func(args), prog="repro-mae")


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
