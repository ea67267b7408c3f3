"""Pure-PyTorch reference of the fused ops: the fallback and the tests' oracle.

Written from the published MAE ``random_masking`` / ``forward_loss`` definitions.
"""

import torch


def gather_patches(x: torch.Tensor, ids_keep: torch.Tensor) -> torch.Tensor:
    """x: (N, L, D), ids_keep: (N, K) int64 -> (N, K, D)."""
    return torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def patchify(imgs: torch.Tensor, p: int) -> torch.Tensor:
    """imgs: (N, C, H, W) -> (N, L, p*p*C) in (h, w, p, q, c) order."""
    n, c, hh, ww = imgs.shape
    h, w = hh // p, ww // p
    x = imgs.reshape(n, c, h, p, w, p)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(n, h * w, p * p * c)


def masked_patch_loss(
    imgs: torch.Tensor,
    pred: torch.Tensor,
    mask: torch.Tensor,
    patch_size: int,
    norm_pix_loss: bool = True,
    eps: float = 1e-6,
) -> torch.Tensor:
    """imgs: (N, C, H, W), pred: (N, L, p*p*C), mask: (N, L), 0 is keep, 1 is remove."""
    target = patchify(imgs, patch_size)
    if norm_pix_loss:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + eps) ** 0.5
    loss = ((pred - target) ** 2).mean(dim=-1)
    return (loss * mask).sum() / mask.sum()
