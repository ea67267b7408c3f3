"""One optimizer step of MAE pre-training: accumulation, AMP, schedule, weight decay."""

import contextlib
import math
from typing import ContextManager, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from repro_core.errors import ReproError

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device_type: str, amp: str) -> ContextManager:
    """Mixed precision for ``amp`` in {off, bf16, fp16} (``torch.autocast``, torch>=1.10)."""
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=AMP_DTYPES[amp])


def grad_scaler(amp: str, device_type: str):
    """A loss scaler, enabled only for fp16 (bf16 has fp32's range)."""
    enabled = amp == "fp16"
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
        return torch.amp.GradScaler(device_type, enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled and device_type == "cuda")


def param_groups(model: nn.Module, weight_decay: float) -> List[Dict]:
    """timm's ``add_weight_decay`` as published: no decay for biases and 1-D parameters
    (norms); frozen parameters (the sin-cos position embeddings) left out."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


def lr_at(epoch: float, lr: float, min_lr: float, warmup_epochs: float, epochs: float) -> float:
    """Linear warmup, then half-cycle cosine to ``min_lr``; ``epoch`` is fractional."""
    if epoch < warmup_epochs:
        return lr * epoch / warmup_epochs
    t = (epoch - warmup_epochs) / (epochs - warmup_epochs)
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def train_step(
    model: nn.Module,
    micro_batches: Sequence[Tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    scaler,
    amp: str,
    mask_ratio: float,
) -> torch.Tensor:
    """Forward/backward each ``(imgs, noise)`` micro-batch, then one optimizer step.

    The gradient is that of the mean loss over the micro-batches (each loss divided by
    their number); under DDP, gradients are all-reduced on the last micro-batch only.
    Returns the mean loss (detached). ReproError on a non-finite loss, as published.
    """
    accum = len(micro_batches)
    device_type = next(model.parameters()).device.type
    losses = []
    for i, (imgs, noise) in enumerate(micro_batches):
        last = i == accum - 1
        no_sync = getattr(model, "no_sync", None)
        sync_ctx = no_sync() if (no_sync is not None and not last) else contextlib.nullcontext()
        with sync_ctx:
            with autocast(device_type, amp):
                loss, _, _ = model(imgs, mask_ratio=mask_ratio, noise=noise)
            if not math.isfinite(loss.item()):
                raise ReproError(f"loss is {loss.item()}, stopping training")
            scaler.scale(loss / accum).backward()
        losses.append(loss.detach().float())
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return torch.stack(losses).mean()
