"""How many of a repository's Python modules import (and, with --build, which ``nn.Module``
factories in them build), for `repro migrate` before/after figures in docs/migrate.md.

Usage: python scripts/import_modules.py REPO [--build NAME ...]
Imports each module in one interpreter (repository code runs: use it on trees you trust);
prints one line per module and a total; with --build calls the named zero-argument
factories (e.g. ``models_mae.mae_vit_base_patch16``) and reports which built.
"""

import argparse
import importlib
import os
import sys
import warnings


def modules(root: str):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "build")
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and not os.path.isfile(os.path.join(dirpath, "__init__.py")):
            continue  # not a package: import only top-level scripts and packages
        for f in sorted(filenames):
            if f.endswith(".py") and f not in ("setup.py", "__init__.py"):
                yield ".".join(parts + [f[:-3]])


def _why(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:100] if text else ''}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("--build", nargs="*", default=[])
    a = ap.parse_args()
    root = os.path.abspath(a.repo)
    sys.path.insert(0, root)
    os.chdir(root)
    sys.argv = [sys.argv[0]]
    warnings.simplefilter("ignore")
    ok = total = 0
    for name in modules(root):
        total += 1
        try:
            importlib.import_module(name)
            ok += 1
            print(f"ok    {name}")
        except BaseException as e:  # SystemExit from argparse at import, asserts, ...
            print(f"FAIL  {name}: {_why(e)}")
    built = 0
    for spec in a.build:
        mod, _, fn = spec.rpartition(".")
        try:
            getattr(importlib.import_module(mod), fn)()
            built += 1
            print(f"built {spec}")
        except BaseException as e:
            print(f"NOBUILD {spec}: {_why(e)}")
    print(f"imported {ok}/{total}" + (f", built {built}/{len(a.build)}" if a.build else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
