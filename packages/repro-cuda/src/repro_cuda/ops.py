"""The public ops: wrappers over ``torch.ops.repro.*`` with fake kernels and autograd.

torch 2.4+: ``torch.library.register_fake`` + ``register_autograd`` on the C++ ops (so
``torch.compile(fullgraph=True)`` traces them); torch 2.1-2.3: ``impl_abstract`` and an
``autograd.Function``; torch 1.10-2.0 (no torch.library Python API): the
``autograd.Function`` alone. Devices without a compiled library run ``reference`` (warned once).
"""

from typing import Tuple

import torch

from repro_cuda import reference
from repro_cuda.library import backend, warn_reference

_LIB = getattr(torch, "library", None)
_REGISTER_FAKE = getattr(_LIB, "register_fake", None) or getattr(_LIB, "impl_abstract", None)
_NATIVE_AUTOGRAD = hasattr(_LIB, "register_autograd")
_registered = False


def gather_patches(x: torch.Tensor, ids_keep: torch.Tensor) -> torch.Tensor:
    """x: (N, L, D) float16/bfloat16/float32/float64, ids_keep: (N, K) int64 in [0, L)
    -> (N, K, D), ``out[n, k] = x[n, ids_keep[n, k]]``; differentiable in x."""
    if backend(x.device) == "reference":
        warn_reference(x.device.type)
        check_gather(x, ids_keep)
        return reference.gather_patches(x, ids_keep)
    if _NATIVE_AUTOGRAD:
        return torch.ops.repro.gather_patches(x, ids_keep)
    return _GatherPatches.apply(x, ids_keep)


def masked_patch_loss(imgs: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor,
                      patch_size: int, norm_pix_loss: bool = True,
                      eps: float = 1e-6) -> torch.Tensor:
    """The published MAE ``forward_loss``, fused: imgs (N, C, H, W), pred (N, L, p*p*C) in
    (h, w, p, q, c) order, mask (N, L) with 0 keep, 1 remove -> 0-dim mean loss on removed
    patches. Inputs of mixed floating dtypes are promoted to one; differentiable in pred."""
    for name, t in (("imgs", imgs), ("mask", mask)):
        if t.requires_grad:
            raise ValueError(f"masked_patch_loss is differentiable in pred only, but "
                             f"{name}.requires_grad is True (pass {name}.detach())")
    imgs, pred, mask = _promote(imgs, pred, mask)
    if backend(pred.device) == "reference":
        warn_reference(pred.device.type)
        check_loss(imgs, pred, mask, patch_size, eps)
        return reference.masked_patch_loss(imgs, pred, mask, patch_size, norm_pix_loss, eps)
    args = (imgs, pred, mask, int(patch_size), bool(norm_pix_loss), float(eps))
    if _NATIVE_AUTOGRAD:
        return torch.ops.repro.masked_patch_loss(*args)
    return _MaskedPatchLoss.apply(*args)


def _promote(imgs, pred, mask) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    for name, t in (("imgs", imgs), ("pred", pred)):
        if not t.is_floating_point():
            raise ValueError(f"masked_patch_loss: {name} must be a floating tensor, "
                             f"got {t.dtype}")
    if not (mask.is_floating_point() or mask.dtype == torch.bool):
        raise ValueError(f"masked_patch_loss: mask must be floating or bool, got {mask.dtype}")
    dt = torch.promote_types(imgs.dtype, pred.dtype)
    if mask.is_floating_point():
        dt = torch.promote_types(dt, mask.dtype)
    return imgs.to(dt), pred.to(dt), mask.to(dt)


# --- input checks for the reference path (the C++ ops check the same in csrc/checks.h) ----


_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_gather(x: torch.Tensor, ids_keep: torch.Tensor) -> None:
    if x.dim() != 3:
        raise ValueError(f"gather_patches: x must be (N, L, D), got shape {tuple(x.shape)}")
    if x.dtype not in _FLOATS:
        raise ValueError(f"gather_patches: x must be float16, bfloat16, float32 or float64, "
                         f"got {x.dtype}")
    if ids_keep.device != x.device:
        raise ValueError(f"gather_patches: ids_keep is on {ids_keep.device} but x is on "
                         f"{x.device}")
    if ids_keep.dtype != torch.int64:
        raise ValueError(f"gather_patches: ids_keep must be int64, got {ids_keep.dtype}")
    if ids_keep.dim() != 2 or ids_keep.shape[0] != x.shape[0]:
        raise ValueError(f"gather_patches: ids_keep must be (N, K) with N={x.shape[0]}, "
                         f"got shape {tuple(ids_keep.shape)}")
    if ids_keep.numel():
        lo, hi = int(ids_keep.min()), int(ids_keep.max())
        if lo < 0 or hi >= x.shape[1]:
            raise ValueError(f"gather_patches: ids_keep values must be in [0, L={x.shape[1]}), "
                             f"found min {lo} and max {hi}")


def check_loss(imgs, pred, mask, patch_size: int, eps: float) -> None:
    p = int(patch_size)
    if imgs.dim() != 4:
        raise ValueError(f"masked_patch_loss: imgs must be (N, C, H, W), got {tuple(imgs.shape)}")
    n, c, h, w = imgs.shape
    if p <= 0 or h % p or w % p:
        raise ValueError(f"masked_patch_loss: patch_size {p} must divide H={h} and W={w}")
    expect = (n, (h // p) * (w // p), p * p * c)
    if tuple(pred.shape) != expect:
        raise ValueError(f"masked_patch_loss: pred must be (N, L, p*p*C) = {expect}, "
                         f"got {tuple(pred.shape)}")
    if tuple(mask.shape) != expect[:2]:
        raise ValueError(f"masked_patch_loss: mask must be (N, L) = {expect[:2]}, "
                         f"got {tuple(mask.shape)}")
    if not (imgs.device == pred.device == mask.device):
        raise ValueError(f"masked_patch_loss: imgs, pred, mask on different devices "
                         f"({imgs.device}, {pred.device}, {mask.device})")
    if eps < 0:
        raise ValueError(f"masked_patch_loss: eps must be >= 0, got {eps}")


# --- autograd: backward of each op is another custom op ---------------------------------


class _GatherPatches(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, ids_keep):
        ctx.save_for_backward(ids_keep)
        ctx.num_patches = x.shape[1]
        return torch.ops.repro.gather_patches(x, ids_keep)

    @staticmethod
    def backward(ctx, grad):
        (ids_keep,) = ctx.saved_tensors
        return torch.ops.repro.gather_patches_backward(grad, ids_keep, ctx.num_patches), None


class _MaskedPatchLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, imgs, pred, mask, patch_size, norm_pix_loss, eps):
        ctx.save_for_backward(imgs, pred, mask)
        ctx.args = (patch_size, norm_pix_loss, eps)
        return torch.ops.repro.masked_patch_loss(imgs, pred, mask, patch_size, norm_pix_loss,
                                                 eps)

    @staticmethod
    def backward(ctx, grad):
        imgs, pred, mask = ctx.saved_tensors
        g = torch.ops.repro.masked_patch_loss_backward(grad, imgs, pred, mask, *ctx.args)
        return None, g, None, None, None, None


def _gather_setup(ctx, inputs, output):
    x, ids_keep = inputs
    ctx.save_for_backward(ids_keep)
    ctx.num_patches = x.shape[1]


def _gather_backward(ctx, grad):
    (ids_keep,) = ctx.saved_tensors
    return torch.ops.repro.gather_patches_backward(grad, ids_keep, ctx.num_patches), None


def _scatter_setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[1])


def _scatter_backward(ctx, grad):
    (ids_keep,) = ctx.saved_tensors
    return torch.ops.repro.gather_patches(grad, ids_keep), None, None


def _loss_setup(ctx, inputs, output):
    imgs, pred, mask, patch_size, norm_pix_loss, eps = inputs
    ctx.save_for_backward(imgs, pred, mask)
    ctx.args = (patch_size, norm_pix_loss, eps)


def _loss_backward(ctx, grad):
    imgs, pred, mask = ctx.saved_tensors
    g = torch.ops.repro.masked_patch_loss_backward(grad, imgs, pred, mask, *ctx.args)
    return None, g, None, None, None, None


# --- fake (meta) kernels: output shapes for torch.compile / FakeTensor -----------------


def _gather_fake(x, ids_keep):
    torch._check(x.dim() == 3, lambda: "gather_patches: x must be (N, L, D)")
    torch._check(ids_keep.dim() == 2, lambda: "gather_patches: ids_keep must be (N, K)")
    return x.new_empty((x.shape[0], ids_keep.shape[1], x.shape[2]))


def _scatter_fake(grad, ids_keep, num_patches):
    torch._check(grad.dim() == 3, lambda: "gather_patches_backward: grad must be (N, K, D)")
    return grad.new_empty((grad.shape[0], num_patches, grad.shape[2]))


def _loss_fake(imgs, pred, mask, patch_size, norm_pix_loss=True, eps=1e-6):
    torch._check(pred.dim() == 3, lambda: "masked_patch_loss: pred must be (N, L, p*p*C)")
    return pred.new_empty(())


def _loss_backward_fake(grad, imgs, pred, mask, patch_size, norm_pix_loss, eps):
    return torch.empty_like(pred)


def register() -> None:
    """Attach fake kernels and autograd to the loaded C++ ops (once; no-op on old torch)."""
    global _registered
    if _registered:
        return
    _registered = True
    if _REGISTER_FAKE is not None:
        _REGISTER_FAKE("repro::gather_patches")(_gather_fake)
        _REGISTER_FAKE("repro::gather_patches_backward")(_scatter_fake)
        _REGISTER_FAKE("repro::masked_patch_loss")(_loss_fake)
        _REGISTER_FAKE("repro::masked_patch_loss_backward")(_loss_backward_fake)
    if _NATIVE_AUTOGRAD:
        _LIB.register_autograd("repro::gather_patches", _gather_backward,
                               setup_context=_gather_setup)
        _LIB.register_autograd("repro::gather_patches_backward", _scatter_backward,
                               setup_context=_scatter_setup)
        _LIB.register_autograd("repro::masked_patch_loss", _loss_backward,
                               setup_context=_loss_setup)
