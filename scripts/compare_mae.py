"""repro-mae against the published MAE code: weights converted from facebookresearch/mae's
model give the same loss and predictions on the same images and the same mask.

Usage (from the repository root; repository code runs, use it on a checkout you trust):
    PYTHONPATH=packages/repro-core/src:packages/repro-cli/src:packages/repro-cuda/src:\
packages/repro-mae/src python scripts/compare_mae.py /path/to/mae [--models tiny,base]

1. The checkout is copied to a temp folder (never changed in place) and migrated there with
   ``repro migrate --write`` for the installed torch/timm/numpy, so that its ``models_mae``
   imports; nothing of it is copied into this project. ``--no_migrate``: the checkout is
   already migrated (the code copy of a ``repro reproduce`` workdir, run with that
   workdir's env, which has no libcst for ``repro migrate``).
2. For each model and each ``norm_pix_loss``: the reference model is built after
   ``torch.manual_seed(seed)`` (its own random initialisation: released checkpoints cannot
   be downloaded here) and saved as the published checkpoint is, ``torch.save({"model":
   state_dict})``, and also in the HuggingFace ViTMAE layout by ``repro_mae.convert``.
3. Each file is read with ``repro_mae.convert.load_state_dict`` into a repro-mae model built
   after a different seed (its weights differ until loaded), with ``strict=True``.
4. Both models run on the same images. The mask: the reference's ``random_masking`` draws
   ``torch.rand(N, L)``; that draw is recorded (``torch.rand`` wrapped for the reference's
   forward only, values unchanged; exactly one draw of shape (N, L) is required) and given
   to repro-mae as ``noise=``, so both keep and remove the same patches.

One line per case: both losses, |dloss|, max|dpred|, whether the masks are equal. Exit 1
when a loss or a prediction differs by more than ``--rtol`` (relative to the reference's
loss and largest |pred|) or a mask differs; 2 on a usage error.
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Callable, List, Tuple, TypeVar

import torch

T = TypeVar("T")

# repro-mae's mae_vit_tiny_patch16, built from the reference's own class (not a published
# configuration: a fast case for CPU)
TINY = dict(patch_size=16, embed_dim=192, depth=4, num_heads=3, decoder_embed_dim=128,
            decoder_depth=2, decoder_num_heads=4, mlp_ratio=4)
OURS = {"tiny": "mae_vit_tiny_patch16", "base": "mae_vit_base_patch16"}


@dataclass(frozen=True)
class Comparison:
    """One model pair on one batch: losses, the largest prediction difference, masks."""

    ref_loss: float
    our_loss: float
    max_dpred: float
    pred_scale: float  # max |pred| of the reference
    masks_equal: bool

    def ok(self, rtol: float) -> bool:
        return (self.masks_equal
                and abs(self.ref_loss - self.our_loss) <= rtol * abs(self.ref_loss)
                and self.max_dpred <= rtol * self.pred_scale)


def draw_noise_once(fn: Callable[[], T]) -> Tuple[T, torch.Tensor]:
    """Run ``fn`` with ``torch.rand`` recorded (not changed): its result and the one tensor
    drawn. Anything but exactly one draw is an error (the mask would not be reproducible)."""
    drawn: List[torch.Tensor] = []
    real_rand = torch.rand

    def rand(*args, **kwargs):
        out = real_rand(*args, **kwargs)
        drawn.append(out.detach().clone())
        return out

    torch.rand = rand
    try:
        result = fn()
    finally:
        torch.rand = real_rand
    if len(drawn) != 1:
        raise RuntimeError(f"the reference drew torch.rand {len(drawn)} times, expected once")
    return result, drawn[0]


def compare(ref: torch.nn.Module, ours: torch.nn.Module, imgs: torch.Tensor,
            mask_ratio: float = 0.75) -> Comparison:
    """Run the reference (its own mask draw, recorded) and repro-mae with that noise."""
    ref.eval()
    ours.eval()
    with torch.no_grad():
        (ref_loss, ref_pred, ref_mask), noise = draw_noise_once(lambda: ref(imgs, mask_ratio))
        if noise.shape != ref_mask.shape:
            raise RuntimeError(f"the reference drew noise of shape {tuple(noise.shape)}, "
                               f"expected the mask's {tuple(ref_mask.shape)}")
        our_loss, our_pred, our_mask = ours(imgs, mask_ratio, noise=noise)
    return Comparison(
        ref_loss=float(ref_loss), our_loss=float(our_loss),
        max_dpred=float((ref_pred - our_pred).abs().max()),
        pred_scale=float(ref_pred.abs().max()),
        masks_equal=bool(torch.equal(ref_mask, our_mask)),
    )


def migrated_copy(checkout: str, dest: str, migrate: bool = True) -> str:
    """Copy the checkout (without .git) to ``dest`` and, with ``migrate``, run ``repro
    migrate --write`` there for the installed stack; returns migrate's summary line."""
    if not os.path.isfile(os.path.join(checkout, "models_mae.py")):
        raise SystemExit(f"compare_mae: {checkout}: no models_mae.py (not a facebookresearch/mae "
                         "checkout)")
    shutil.copytree(checkout, dest, ignore=shutil.ignore_patterns(".git"))
    if not migrate:
        return "not run (--no_migrate)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "repro_cli", "migrate", "--write", dest]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"compare_mae: repro migrate --write failed ({run.returncode}):\n"
                         f"{run.stdout}{run.stderr}")
    return (run.stdout.strip().splitlines() or [""])[-1]


def reference_model(models_mae, name: str, norm_pix_loss: bool) -> torch.nn.Module:
    if name == "base":
        return models_mae.mae_vit_base_patch16(norm_pix_loss=norm_pix_loss)
    return models_mae.MaskedAutoencoderViT(norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                                           norm_pix_loss=norm_pix_loss, **TINY)


def differs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return any(not torch.equal(sa[k], sb[k]) for k in sa)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkout", help="a checkout of facebookresearch/mae")
    ap.add_argument("--models", default="tiny,base", help="tiny, base or both (default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--mask_ratio", type=float, default=0.75)
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--no_migrate", action="store_true",
                    help="the checkout is already migrated for this stack")
    args = ap.parse_args(argv)
    names = [n for n in args.models.split(",") if n]
    if not names or any(n not in OURS for n in names):
        ap.error(f"--models: choose from {', '.join(OURS)}")

    from repro_mae import convert, models

    failed = 0
    with tempfile.TemporaryDirectory(prefix="compare-mae-") as tmp:
        code = os.path.join(tmp, "mae")
        summary = migrated_copy(args.checkout, code, migrate=not args.no_migrate)
        print(f"{args.checkout} copied to {code}; repro migrate --write: {summary}")
        for mod in [m for m in sys.modules if m == "models_mae" or m.split(".")[0] == "util"]:
            del sys.modules[mod]  # a copy imported by an earlier call
        sys.path.insert(0, code)
        try:
            models_mae = importlib.import_module("models_mae")
        finally:
            sys.path.remove(code)
        print(f"reference: {models_mae.__file__}; torch {torch.__version__}, "
              f"timm {importlib.import_module('timm').__version__}")
        g = torch.Generator().manual_seed(args.seed + 2)
        imgs = torch.randn(args.batch, 3, 224, 224, generator=g)
        for name in names:
            for npl in (False, True):
                torch.manual_seed(args.seed)
                ref = reference_model(models_mae, name, npl)
                paths = {"mae": os.path.join(tmp, "official.pth"),
                         "hf": os.path.join(tmp, "hf.bin")}
                torch.save({"model": ref.state_dict()}, paths["mae"])  # the published layout
                convert.save_state_dict(paths["hf"], ref.state_dict(), layout="hf")
                for layout, path in paths.items():
                    torch.manual_seed(args.seed + 1)
                    ours = models.create_model(OURS[name], norm_pix_loss=npl)
                    before = differs(ref, ours)
                    ours.load_state_dict(convert.load_state_dict(path), strict=True)
                    c = compare(ref, ours, imgs, args.mask_ratio)
                    ok = before and c.ok(args.rtol)
                    failed += not ok
                    print(f"{name:4} norm_pix_loss={npl!s:5} {layout:3} layout: reference loss "
                          f"{c.ref_loss:.6f}  repro-mae {c.our_loss:.6f}  "
                          f"|dloss| {abs(c.ref_loss - c.our_loss):.2e}  "
                          f"max|dpred| {c.max_dpred:.2e} (max|pred| {c.pred_scale:.2f})  "
                          f"masks equal {c.masks_equal}  weights differed before load "
                          f"{before}  {'ok' if ok else 'DIFFERENT'}")
                    del ours
                del ref
    print(f"compare_mae: {'all agree' if not failed else f'{failed} case(s) differ'} "
          f"(rtol {args.rtol:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
