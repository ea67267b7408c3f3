"""The public ops: wrappers over ``torch.ops.repro.*`` with fake kernels and autograd.

torch 2.4+: ``torch.library.register_fake`` + ``register_autograd`` on the C++ ops (so
``torch.compile(fullgraph=True)`` traces them); torch 2.1-2.3: ``impl_abstract`` and an
``autograd.Function``; torch 1.10-2.0 (no torch.library Python API): the
``autograd.Function`` alone. Either way the backward ops are differentiable too (double
backward). Devices without a compiled library run ``reference`` (warned once; ``meta``
tensors, shapes only, silently). Bad input is one ``ValueError`` line, raised before anything
runs: every tensor on one device, dtypes, shapes, ids in range.
"""

import operator
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
    fused = backend(_device(x)) != "reference"
    check_gather(x, ids_keep, values=not fused)  # the C++ op checks the values itself
    if not fused:
        _warn_reference(x.device)
        return reference.gather_patches(x, ids_keep)
    if _NATIVE_AUTOGRAD:
        return _one_line(torch.ops.repro.gather_patches, x, ids_keep)
    return _one_line(_GatherPatches.apply, x, ids_keep)


def masked_patch_loss(imgs: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor,
                      patch_size: int, norm_pix_loss: bool = True,
                      eps: float = 1e-6) -> torch.Tensor:
    """The published MAE ``forward_loss``, fused: imgs (N, C, H, W), pred (N, L, p*p*C) in
    (h, w, p, q, c) order, mask (N, L) with 0 keep, 1 remove -> 0-dim mean loss on removed
    patches. Inputs of mixed floating dtypes are promoted to one; differentiable in pred
    (twice: the backward is differentiable too)."""
    _check_tensors("masked_patch_loss", imgs=imgs, pred=pred, mask=mask)
    for name, t in (("imgs", imgs), ("mask", mask)):
        if t.requires_grad:
            raise ValueError(f"masked_patch_loss is differentiable in pred only, but "
                             f"{name}.requires_grad is True (pass {name}.detach())")
    patch_size, eps = _int_arg("patch_size", patch_size), _float_arg("eps", eps)
    imgs, pred, mask = _promote(imgs, pred, mask)
    check_loss(imgs, pred, mask, patch_size, eps)
    if backend(pred.device) == "reference":
        _warn_reference(pred.device)
        return reference.masked_patch_loss(imgs, pred, mask, patch_size, norm_pix_loss, eps)
    args = (imgs, pred, mask, patch_size, bool(norm_pix_loss), eps)
    if _NATIVE_AUTOGRAD:
        return _one_line(torch.ops.repro.masked_patch_loss, *args)
    return _one_line(_MaskedPatchLoss.apply, *args)


def _device(t) -> torch.device:
    return t.device if torch.is_tensor(t) else torch.device("cpu")


def _warn_reference(device: torch.device) -> None:
    if device.type != "meta":  # meta tensors carry shapes only: the reference is the kernel
        warn_reference(device.type)


def _one_line(fn, *args):
    """Run a compiled op; its own input checks (``repro::...`` TORCH_CHECK messages, which old
    torch follows with a C++ stack trace) surface as one line."""
    try:
        return fn(*args)
    except RuntimeError as e:
        msg = str(e)
        if msg.startswith("repro::") and "\n" in msg:
            raise RuntimeError(msg.splitlines()[0]) from None
        raise


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


# --- input checks, before anything runs (the C++ ops check the same in csrc/checks.h) -----


_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _check_tensors(op: str, **tensors) -> None:
    """Every argument a tensor, all on one device (a ``meta`` tensor among CPU ones would
    otherwise be dispatched to the fake kernel and return uninitialised memory)."""
    for name, t in tensors.items():
        if not torch.is_tensor(t):
            raise ValueError(f"{op}: {name} must be a tensor, got {type(t).__name__}")
    devices = {t.device for t in tensors.values()}
    if len(devices) > 1:
        where = ", ".join(f"{name} on {t.device}" for name, t in tensors.items())
        raise ValueError(f"{op}: all tensors must be on one device, got {where}")


def _int_arg(name: str, value) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"masked_patch_loss: {name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"masked_patch_loss: {name} must be an integer, "
                         f"got {value!r}") from None


def _float_arg(name: str, value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"masked_patch_loss: {name} must be a number, got {value!r}") from None
    if not out >= 0:  # NaN too
        raise ValueError(f"masked_patch_loss: {name} must be >= 0, got {value!r}")
    return out


def check_gather(x: torch.Tensor, ids_keep: torch.Tensor, values: bool = True) -> None:
    """Shapes, dtypes and devices of gather_patches; with ``values`` also that every id is in
    [0, L) (reads ids_keep; skipped on ``meta``)."""
    _check_tensors("gather_patches", x=x, ids_keep=ids_keep)
    if x.dim() != 3:
        raise ValueError(f"gather_patches: x must be (N, L, D), got shape {tuple(x.shape)}")
    if x.dtype not in _FLOATS:
        raise ValueError(f"gather_patches: x must be float16, bfloat16, float32 or float64, "
                         f"got {x.dtype}")
    if ids_keep.dtype != torch.int64:
        raise ValueError(f"gather_patches: ids_keep must be int64, got {ids_keep.dtype}")
    if ids_keep.dim() != 2 or ids_keep.shape[0] != x.shape[0]:
        raise ValueError(f"gather_patches: ids_keep must be (N, K) with N={x.shape[0]}, "
                         f"got shape {tuple(ids_keep.shape)}")
    if values and ids_keep.numel() and ids_keep.device.type != "meta":
        lo, hi = (int(v) for v in torch.stack([ids_keep.min(), ids_keep.max()]).tolist())
        if lo < 0 or hi >= x.shape[1]:
            raise ValueError(f"gather_patches: ids_keep values must be in [0, L={x.shape[1]}), "
                             f"found min {lo} and max {hi}")


def check_loss(imgs, pred, mask, patch_size: int, eps: float) -> None:
    """Devices, shapes and arguments of masked_patch_loss (dtypes: see ``_promote``)."""
    _check_tensors("masked_patch_loss", imgs=imgs, pred=pred, mask=mask)
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
    if not eps >= 0:
        raise ValueError(f"masked_patch_loss: eps must be >= 0, got {eps}")


# --- autograd: the backward of each op is another op, itself differentiable --------------
#
# gather_patches' backward scatters (gather_patches_backward), whose backward gathers again.
# masked_patch_loss' gradient g = grad * G(pred), G(pred) = 2 w (pred - target) / P with
# w = mask / sum(mask), is linear in grad and in pred, so the backward of
# masked_patch_loss_backward is d/dgrad = sum(gg * G) and d/dpred = gg * grad * 2 w / P.


def _loss_backward_backward(ctx, gg, backward_op):
    """(d/dgrad, d/dpred) of masked_patch_loss_backward, from what the setup saved."""
    grad, imgs, pred, mask = ctx.saved_tensors
    needs = getattr(ctx, "needs_input_grad", None) or (True,) * 3
    d_grad = d_pred = None
    if needs[0]:
        ones = torch.ones_like(grad)
        d_grad = (gg * backward_op(ones, imgs, pred, mask, *ctx.args)).sum().reshape(grad.shape)
    if needs[2]:
        p = ctx.args[0]
        w = mask * (2.0 / (p * p * imgs.shape[1])) / mask.sum()
        d_pred = gg * grad * w.unsqueeze(-1)
    return d_grad, None, d_pred, None, None, None, None


def _pred_only(op: str, imgs, mask) -> None:
    for name, t in (("imgs", imgs), ("mask", mask)):
        if t.requires_grad:
            raise ValueError(f"{op} is differentiable in pred only, but {name}.requires_grad "
                             f"is True (pass {name}.detach())")


# torch < 2.4: autograd.Functions over the ops


class _GatherPatches(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, ids_keep):
        ctx.save_for_backward(ids_keep)
        ctx.num_patches = x.shape[1]
        return torch.ops.repro.gather_patches(x, ids_keep)

    @staticmethod
    def backward(ctx, grad):
        (ids_keep,) = ctx.saved_tensors
        return _ScatterPatches.apply(grad, ids_keep, ctx.num_patches), None


class _ScatterPatches(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad, ids_keep, num_patches):
        ctx.save_for_backward(ids_keep)
        return torch.ops.repro.gather_patches_backward(grad, ids_keep, num_patches)

    @staticmethod
    def backward(ctx, gg):
        (ids_keep,) = ctx.saved_tensors
        return _GatherPatches.apply(gg, ids_keep), None, None


class _MaskedPatchLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, imgs, pred, mask, patch_size, norm_pix_loss, eps):
        _pred_only("repro::masked_patch_loss", imgs, mask)
        ctx.save_for_backward(imgs, pred, mask)
        ctx.args = (patch_size, norm_pix_loss, eps)
        return torch.ops.repro.masked_patch_loss(imgs, pred, mask, patch_size, norm_pix_loss,
                                                 eps)

    @staticmethod
    def backward(ctx, grad):
        imgs, pred, mask = ctx.saved_tensors
        g = _MaskedPatchLossBackward.apply(grad, imgs, pred, mask, *ctx.args)
        return None, g, None, None, None, None


class _MaskedPatchLossBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, grad, imgs, pred, mask, patch_size, norm_pix_loss, eps):
        ctx.save_for_backward(grad, imgs, pred, mask)
        ctx.args = (patch_size, norm_pix_loss, eps)
        return torch.ops.repro.masked_patch_loss_backward(grad, imgs, pred, mask, *ctx.args)

    @staticmethod
    def backward(ctx, gg):
        return _loss_backward_backward(ctx, gg, _MaskedPatchLossBackward.apply)


# torch 2.4+: register_autograd on the ops themselves


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
    _pred_only("repro::masked_patch_loss", imgs, mask)
    ctx.save_for_backward(imgs, pred, mask)
    ctx.args = (patch_size, norm_pix_loss, eps)


def _loss_backward(ctx, grad):
    imgs, pred, mask = ctx.saved_tensors
    g = torch.ops.repro.masked_patch_loss_backward(grad, imgs, pred, mask, *ctx.args)
    return None, g, None, None, None, None


def _loss_bwd_setup(ctx, inputs, output):
    grad, imgs, pred, mask, patch_size, norm_pix_loss, eps = inputs
    _pred_only("repro::masked_patch_loss_backward", imgs, mask)
    ctx.save_for_backward(grad, imgs, pred, mask)
    ctx.args = (patch_size, norm_pix_loss, eps)


def _loss_bwd_backward(ctx, gg):
    return _loss_backward_backward(ctx, gg, torch.ops.repro.masked_patch_loss_backward)


# --- fake (meta) kernels: output shapes for torch.compile / FakeTensor -----------------


def _same_device(op: str, **tensors) -> None:
    devices = [t.device for t in tensors.values()]
    torch._check(all(d == devices[0] for d in devices), lambda: f"{op}: all tensors must be "
                 f"on one device, got " + ", ".join(f"{k} on {t.device}"
                                                   for k, t in tensors.items()))


def _gather_fake(x, ids_keep):
    _same_device("repro::gather_patches", x=x, ids_keep=ids_keep)
    torch._check(x.dim() == 3, lambda: "gather_patches: x must be (N, L, D)")
    torch._check(ids_keep.dim() == 2, lambda: "gather_patches: ids_keep must be (N, K)")
    return x.new_empty((x.shape[0], ids_keep.shape[1], x.shape[2]))


def _scatter_fake(grad, ids_keep, num_patches):
    _same_device("repro::gather_patches_backward", grad=grad, ids_keep=ids_keep)
    torch._check(grad.dim() == 3, lambda: "gather_patches_backward: grad must be (N, K, D)")
    return grad.new_empty((grad.shape[0], num_patches, grad.shape[2]))


def _loss_fake(imgs, pred, mask, patch_size, norm_pix_loss=True, eps=1e-6):
    _same_device("repro::masked_patch_loss", imgs=imgs, pred=pred, mask=mask)
    torch._check(pred.dim() == 3, lambda: "masked_patch_loss: pred must be (N, L, p*p*C)")
    return pred.new_empty(())


def _loss_backward_fake(grad, imgs, pred, mask, patch_size, norm_pix_loss, eps):
    _same_device("repro::masked_patch_loss_backward", grad=grad, imgs=imgs, pred=pred,
                 mask=mask)
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
        _LIB.register_autograd("repro::masked_patch_loss_backward", _loss_bwd_backward,
                               setup_context=_loss_bwd_setup)
