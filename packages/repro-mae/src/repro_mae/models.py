"""Masked Autoencoder with a ViT backbone (He et al., https://arxiv.org/abs/2111.06377).

Parameter names, architecture and initialisation follow the published
facebookresearch/mae ``models_mae.py``, so its released checkpoints load with
``strict=True``. The methods follow the data flow: ``patchify`` -> ``random_masking`` ->
``forward_encoder`` -> ``forward_decoder`` -> ``forward_loss``.

Differences, all opt-in or numerically neutral: ``forward`` takes an optional ``noise``
(N, L) that fixes the mask; masking/loss go through ``repro_cuda`` (fused kernels when
built, else pure PyTorch); attention may use ``F.scaled_dot_product_attention``; blocks
may be checkpointed (``set_grad_checkpointing``).
"""

import inspect
from functools import partial
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

from repro_cuda import gather_patches, masked_patch_loss, reference
from repro_mae.timm_compat import make_block, make_patch_embed

__all__ = [
    "MODELS",
    "MaskedAutoencoderViT",
    "create_model",
    "has_sdpa",
    "mae_vit_base_patch16",
    "mae_vit_huge_patch14",
    "mae_vit_large_patch16",
    "mae_vit_tiny_patch16",
    "sincos_pos_embed_2d",
]

# torch >= 1.11: the non-reentrant implementation; 1.10 has only the reentrant one
_CKPT_KWARGS = (
    {"use_reentrant": False}
    if "use_reentrant" in inspect.signature(torch.utils.checkpoint.checkpoint).parameters
    else {}
)


def has_sdpa() -> bool:
    """True when torch has ``F.scaled_dot_product_attention`` (2.0+)."""
    return hasattr(F, "scaled_dot_product_attention")


def _sincos_1d(dim: int, pos: np.ndarray) -> np.ndarray:
    """pos: (M,) -> (M, dim): [sin(pos * w), cos(pos * w)], w_k = 10000 ** (-2k / dim)."""
    omega = 1.0 / 10000 ** (np.arange(dim // 2, dtype=np.float64) / (dim / 2.0))
    out = np.outer(pos.reshape(-1).astype(np.float64), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_pos_embed_2d(dim: int, grid_size: int, cls_token: bool = False) -> np.ndarray:
    """-> (grid_size**2 [+ 1], dim), row-major patches; first dim/2 encode the column,
    the last dim/2 the row (the published convention); the cls row is zeros."""
    assert dim % 4 == 0, "embedding dim must be a multiple of 4"
    rows, cols = np.meshgrid(np.arange(grid_size), np.arange(grid_size), indexing="ij")
    emb = np.concatenate([_sincos_1d(dim // 2, cols), _sincos_1d(dim // 2, rows)], axis=1)
    if cls_token:
        emb = np.concatenate([np.zeros([1, dim]), emb], axis=0)
    return emb


def _attention(attn: nn.Module, x: torch.Tensor, fused: bool) -> torch.Tensor:
    """timm ``Attention`` forward from its own parameters. x: (N, T, C) -> (N, T, C)."""
    n, t, c = x.shape
    heads = attn.num_heads
    qkv = attn.qkv(x).reshape(n, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # (N, heads, T, c/heads)
    if fused:
        x = F.scaled_dot_product_attention(q, k, v)
    else:
        a = (q @ k.transpose(-2, -1)) * attn.scale
        x = a.softmax(dim=-1) @ v
    return attn.proj(x.transpose(1, 2).reshape(n, t, c))


def _block(blk: nn.Module, x: torch.Tensor, fused: bool) -> torch.Tensor:
    """Pre-norm ViT block (no dropout, drop-path or layer-scale, as in MAE pre-training)."""
    x = x + _attention(blk.attn, blk.norm1(x), fused)
    return x + blk.mlp(blk.norm2(x))


class MaskedAutoencoderViT(nn.Module):
    """Masked Autoencoder with VisionTransformer backbone.

    Args:
        fused_attn: use ``F.scaled_dot_product_attention``; None = when torch has it.
        fused_ops: masking/loss through ``repro_cuda`` ops (False: plain PyTorch).
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 16,
        in_chans: int = 3,
        embed_dim: int = 1024,
        depth: int = 24,
        num_heads: int = 16,
        decoder_embed_dim: int = 512,
        decoder_depth: int = 8,
        decoder_num_heads: int = 16,
        mlp_ratio: float = 4.0,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
        norm_pix_loss: bool = False,
        fused_attn: Optional[bool] = None,
        fused_ops: bool = True,
    ) -> None:
        super().__init__()
        if fused_attn and not has_sdpa():
            raise ValueError("fused_attn=True needs torch>=2.0 (scaled_dot_product_attention)")
        self.fused_attn = has_sdpa() if fused_attn is None else fused_attn
        self.fused_ops = fused_ops
        self.grad_checkpointing = False
        self.in_chans = in_chans

        # --------------------------------------------------------------------------
        # MAE encoder specifics
        self.patch_embed = make_patch_embed(img_size, patch_size, in_chans, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # fixed sin-cos embedding
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, embed_dim), requires_grad=False
        )
        self.blocks = nn.ModuleList(
            [make_block(embed_dim, num_heads, mlp_ratio, norm_layer) for _ in range(depth)]
        )
        self.norm = norm_layer(embed_dim)

        # --------------------------------------------------------------------------
        # MAE decoder specifics
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, decoder_embed_dim), requires_grad=False
        )
        self.decoder_blocks = nn.ModuleList(
            [
                make_block(decoder_embed_dim, decoder_num_heads, mlp_ratio, norm_layer)
                for _ in range(decoder_depth)
            ]
        )
        self.decoder_norm = norm_layer(decoder_embed_dim)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size**2 * in_chans, bias=True)
        # --------------------------------------------------------------------------

        self.norm_pix_loss = norm_pix_loss
        self.initialize_weights()

    @property
    def patch_size(self) -> int:
        p = self.patch_embed.patch_size
        return p[0] if isinstance(p, (tuple, list)) else p

    def initialize_weights(self) -> None:
        """Fixed sin-cos position embeddings; xavier-uniform linears and patch projection
        (following the official JAX ViT); normal(0.02) cls/mask tokens; unit LayerNorms.
        Draws from the global torch RNG in the published order."""
        grid = int(self.patch_embed.num_patches**0.5)
        for param in (self.pos_embed, self.decoder_pos_embed):
            emb = sincos_pos_embed_2d(param.shape[-1], grid, cls_token=True)
            param.data.copy_(torch.from_numpy(emb).float().unsqueeze(0))

        # patch_embed like nn.Linear (instead of nn.Conv2d)
        w = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        # timm's trunc_normal_(std=.02) is effectively normal_(std=.02): cutoff 2 is huge
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in backward (saves memory, same grads)."""
        self.grad_checkpointing = enable

    # ------------------------------------------------------------------------------

    def patchify(self, imgs: torch.Tensor) -> torch.Tensor:
        """imgs: (N, C, H, W) -> (N, L, p*p*C)"""
        p = self.patch_size
        assert imgs.shape[2] == imgs.shape[3] and imgs.shape[2] % p == 0
        return reference.patchify(imgs, p)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, L, p*p*C) -> imgs: (N, C, H, W)"""
        p, c = self.patch_size, self.in_chans
        h = int(x.shape[1] ** 0.5)
        assert h * h == x.shape[1]
        x = x.reshape(x.shape[0], h, h, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], c, h * p, h * p)

    def _gather(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        fn = gather_patches if self.fused_ops else reference.gather_patches
        return fn(x, ids)

    def random_masking(
        self, x: torch.Tensor, mask_ratio: float, noise: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample masking by argsorting noise (small is keep, large is remove).

        x: (N, L, D), noise: (N, L) in [0, 1) or None (drawn from the global RNG)
        -> x_masked (N, K, D), mask (N, L) with 0 is keep, 1 is remove, ids_restore (N, L)
        """
        n, length, _ = x.shape
        len_keep = int(length * (1 - mask_ratio))
        if noise is None:
            noise = torch.rand(n, length, device=x.device)
        elif noise.shape != (n, length):
            raise ValueError(f"noise must have shape {(n, length)}, got {tuple(noise.shape)}")
        ids_shuffle = torch.argsort(noise.to(x.device), dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x_masked = self._gather(x, ids_shuffle[:, :len_keep].contiguous())
        # a patch is kept iff its rank in the shuffle is < len_keep
        mask = (ids_restore >= len_keep).float()
        return x_masked, mask, ids_restore

    def _run_blocks(self, blocks: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        for blk in blocks:
            if self.grad_checkpointing and torch.is_grad_enabled():
                fn = partial(_block, blk, fused=self.fused_attn)
                x = torch.utils.checkpoint.checkpoint(fn, x, **_CKPT_KWARGS)
            else:
                x = _block(blk, x, self.fused_attn)
        return x

    # --------------------------------------------------------------------------
    # encoder

    def forward_encoder(
        self, imgs: torch.Tensor, mask_ratio: float, noise: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """imgs: (N, C, H, W) -> latent (N, 1 + K, D), mask (N, L), ids_restore (N, L)"""
        x = self.patch_embed(imgs)
        x = x + self.pos_embed[:, 1:, :]
        x, mask, ids_restore = self.random_masking(x, mask_ratio, noise)
        cls_token = self.cls_token + self.pos_embed[:, :1, :]
        x = torch.cat((cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self._run_blocks(self.blocks, x)
        return self.norm(x), mask, ids_restore

    # --------------------------------------------------------------------------
    # decoder

    def forward_decoder(self, x: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """x: (N, 1 + K, D), ids_restore: (N, L) -> pred (N, L, p*p*C)"""
        x = self.decoder_embed(x)
        n_mask = ids_restore.shape[1] + 1 - x.shape[1]
        mask_tokens = self.mask_token.expand(x.shape[0], n_mask, -1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)  # no cls token
        x_ = self._gather(x_, ids_restore)  # unshuffle
        x = torch.cat([x[:, :1, :], x_], dim=1) + self.decoder_pos_embed
        x = self._run_blocks(self.decoder_blocks, x)
        x = self.decoder_pred(self.decoder_norm(x))
        return x[:, 1:, :]  # remove cls token

    def forward_loss(
        self, imgs: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """imgs: (N, C, H, W), pred: (N, L, p*p*C), mask: (N, L) -> mean loss on removed
        patches (per-patch normalised targets when ``norm_pix_loss``)."""
        fn = masked_patch_loss if self.fused_ops else reference.masked_patch_loss
        return fn(imgs, pred, mask, self.patch_size, self.norm_pix_loss)

    def forward(
        self, imgs: torch.Tensor, mask_ratio: float = 0.75, noise: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """imgs: (N, C, H, W) -> loss (), pred (N, L, p*p*C), mask (N, L)"""
        latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio, noise)
        pred = self.forward_decoder(latent, ids_restore)
        loss = self.forward_loss(imgs, pred, mask)
        return loss, pred, mask


# ------------------------------------------------------------------------------
# factories: the published configurations (decoder 512 dim, 8 blocks) and small ones

_LN = partial(nn.LayerNorm, eps=1e-6)


def mae_vit_base_patch16(**kwargs) -> MaskedAutoencoderViT:
    """ViT-B/16 encoder, decoder 512-d x 8 blocks (published ``..._dec512d8b``)."""
    return MaskedAutoencoderViT(
        patch_size=16, embed_dim=768, depth=12, num_heads=12,
        decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16,
        mlp_ratio=4, norm_layer=_LN, **kwargs,
    )


def mae_vit_large_patch16(**kwargs) -> MaskedAutoencoderViT:
    """ViT-L/16 encoder, decoder 512-d x 8 blocks (published)."""
    return MaskedAutoencoderViT(
        patch_size=16, embed_dim=1024, depth=24, num_heads=16,
        decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16,
        mlp_ratio=4, norm_layer=_LN, **kwargs,
    )


def mae_vit_huge_patch14(**kwargs) -> MaskedAutoencoderViT:
    """ViT-H/14 encoder, decoder 512-d x 8 blocks (published)."""
    return MaskedAutoencoderViT(
        patch_size=14, embed_dim=1280, depth=32, num_heads=16,
        decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16,
        mlp_ratio=4, norm_layer=_LN, **kwargs,
    )


def mae_vit_tiny_patch16(**kwargs) -> MaskedAutoencoderViT:
    """Not published; for CPU runs and tests: ViT-Ti/16 encoder (192-d, 4 blocks, 3 heads),
    decoder 128-d x 2 blocks, 4 heads. 2.4M trainable parameters."""
    return MaskedAutoencoderViT(
        patch_size=16, embed_dim=192, depth=4, num_heads=3,
        decoder_embed_dim=128, decoder_depth=2, decoder_num_heads=4,
        mlp_ratio=4, norm_layer=_LN, **kwargs,
    )


# short names, plus the published long ones (``mae_vit_base_patch16_dec512d8b``)
MODELS: Dict[str, Callable[..., MaskedAutoencoderViT]] = {
    "mae_vit_tiny_patch16": mae_vit_tiny_patch16,
    "mae_vit_base_patch16": mae_vit_base_patch16,
    "mae_vit_large_patch16": mae_vit_large_patch16,
    "mae_vit_huge_patch14": mae_vit_huge_patch14,
}
for _name in ("base_patch16", "large_patch16", "huge_patch14"):
    MODELS[f"mae_vit_{_name}_dec512d8b"] = MODELS[f"mae_vit_{_name}"]


def create_model(name: str, **kwargs) -> MaskedAutoencoderViT:
    """Build a model by factory name (``MODELS``); ValueError names the choices."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
