"""`repro tree`: an environment's dependency tree with version conflicts marked."""

import argparse
import sys

from repro_core.tree import dependency_tree

NAME = "tree"
HELP = "Show an environment's dependency tree (via pipdeptree), conflicts marked."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="PATH",
                        help="the environment's interpreter or folder (default: this one)")
    parser.add_argument("--format", choices=("text", "json", "dot", "mermaid"), default="text",
                        help="text (the default), json, dot (Graphviz) or mermaid")


def run(args: argparse.Namespace) -> int:
    t = dependency_tree(args.python)
    render = {"text": t.text, "json": t.to_json, "dot": t.dot, "mermaid": t.mermaid}
    sys.stdout.write(render[args.format]() + "\n")
    return 0
