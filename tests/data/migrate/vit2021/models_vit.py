# A 2021-style ViT (MAE/DeiT era: timm 0.3.2, torch._six, np.float).
from functools import partial

import numpy as np
import torch
import torch.nn as nn
from torch._six import container_abcs, inf

from timm.models.layers import trunc_normal_  # moved to timm.layers
from timm.models.vision_transformer import Block, PatchEmbed


class TinyViT(nn.Module):
    def __init__(self, img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, 3, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, 4.0, qkv_bias=True, qk_scale=None,
                  norm_layer=partial(nn.LayerNorm, eps=1e-6))
            for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim)
        trunc_normal_(self.cls_token, std=.02)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 0]


def grad_norm(parameters, norm_type=2.0):
    if isinstance(parameters, container_abcs.Iterable):
        parameters = [p for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if norm_type == inf:
        return max(p.grad.abs().max() for p in parameters)
    return torch.norm(torch.stack([torch.norm(p.grad, norm_type) for p in parameters]), norm_type)


def pos_scale(n):
    return np.arange(n, dtype=np.float) / n
