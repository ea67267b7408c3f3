"""The two timm pieces the MAE is built from, for every timm from 0.3.2 to the newest.

timm moved its layers from ``timm.models.layers`` to ``timm.layers`` (0.9) and dropped
``Block(qk_scale=...)`` (0.4.x); the parameter names (``norm1``, ``attn.qkv``,
``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``, ``patch_embed.proj``) never changed.
"""

import inspect
from typing import Callable

import timm
import torch.nn as nn

try:  # timm >= 0.9
    from timm.layers import PatchEmbed
except ImportError:  # timm 0.3 - 0.8
    from timm.models.vision_transformer import PatchEmbed
from timm.models.vision_transformer import Block

__all__ = ["TIMM_VERSION", "Block", "PatchEmbed", "make_block", "make_patch_embed"]

TIMM_VERSION = timm.__version__
_BLOCK_ARGS = set(inspect.signature(Block.__init__).parameters)


def make_block(dim: int, num_heads: int, mlp_ratio: float, norm_layer: Callable) -> nn.Module:
    """A pre-norm ViT block with a biased qkv, as the published MAE builds it."""
    kwargs = {"qkv_bias": True, "norm_layer": norm_layer}
    if "qk_scale" in _BLOCK_ARGS:  # timm < 0.4.10: None means head_dim ** -0.5
        kwargs["qk_scale"] = None
    return Block(dim, num_heads, mlp_ratio, **kwargs)


def make_patch_embed(img_size: int, patch_size: int, in_chans: int, embed_dim: int) -> nn.Module:
    return PatchEmbed(img_size, patch_size, in_chans, embed_dim)
