"""How many of a repository's Python modules import, which ``nn.Module`` factories in it
build, and which of those take one forward/backward step, for `repro migrate` before/after
figures in docs/migrate.md.

Usage: python scripts/import_modules.py REPO [--build NAME[:SHAPE] ...]
Imports each module in one interpreter (repository code runs: use it on trees you trust);
prints one line per module and a total. ``--build`` calls each named zero-argument factory
(e.g. ``models_mae.mae_vit_base_patch16``) and reports which built; with ``:SHAPE``
(``3x224x224``, or ``1024x3`` for a point cloud) it also runs the built model in train mode
on a random float batch of 2 such samples (seed 0), sums the mean of every floating-point
tensor in the output (a tensor, or tuples/lists/dicts of them), calls ``backward()`` and
reports ``step`` when some parameter got a finite gradient.
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


def _floats(out):
    """Every floating-point tensor in a model's output, in order."""
    import torch

    if isinstance(out, torch.Tensor):
        return [out] if out.is_floating_point() else []
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _floats(o)]
    return []


def step(model, shape):
    """One forward/backward of ``model`` on a random batch of 2 samples of ``shape``."""
    import torch

    torch.manual_seed(0)
    model.train()
    out = model(torch.randn(2, *shape))
    ts = [t for t in _floats(out) if t.requires_grad]
    if not ts:
        raise RuntimeError("the output has no floating-point tensor that needs a gradient")
    sum(t.mean() for t in ts).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads or not all(bool(torch.isfinite(g).all()) for g in grads):
        raise RuntimeError("no parameter got a finite gradient")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("--build", nargs="*", default=[], metavar="NAME[:SHAPE]")
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
    built = stepped = steps = 0
    for spec in a.build:
        name, _, shape = spec.partition(":")
        mod, _, fn = name.rpartition(".")
        try:
            model = getattr(importlib.import_module(mod), fn)()
            built += 1
            print(f"built {name}")
        except BaseException as e:
            print(f"NOBUILD {name}: {_why(e)}")
            model = None
        if not shape:
            continue
        steps += 1
        if model is None:
            print(f"NOSTEP {name}: not built")
            continue
        try:
            step(model, tuple(int(n) for n in shape.split("x")))
            stepped += 1
            print(f"step  {name} on 2x{shape}")
        except BaseException as e:
            print(f"NOSTEP {name}: {_why(e)}")
    print(f"imported {ok}/{total}" + (f", built {built}/{len(a.build)}" if a.build else "")
          + (f", forward/backward {stepped}/{steps}" if steps else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
