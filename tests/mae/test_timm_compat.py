"""timm_compat on the installed timm (0.4.12 in the torch 1.10 env, newest elsewhere)."""

import timm
import torch.nn as nn

from repro_mae import timm_compat

BLOCK_PARAMS = {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias",
                "attn.proj.weight", "attn.proj.bias", "norm2.weight", "norm2.bias",
                "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"}


def test_block_has_the_published_parameter_names_and_shapes():
    blk = timm_compat.make_block(64, 4, 4.0, nn.LayerNorm)
    params = dict(blk.named_parameters())
    assert set(params) == BLOCK_PARAMS
    assert params["attn.qkv.weight"].shape == (192, 64)
    assert params["attn.qkv.bias"].shape == (192,)  # qkv_bias=True as published
    assert params["mlp.fc1.weight"].shape == (256, 64)
    assert blk.attn.num_heads == 4 and abs(blk.attn.scale - 16 ** -0.5) < 1e-12


def test_patch_embed_names_and_patch_count():
    pe = timm_compat.make_patch_embed(64, 16, 3, 32)
    assert pe.num_patches == 16
    assert {n for n, _ in pe.named_parameters()} == {"proj.weight", "proj.bias"}
    assert timm_compat.TIMM_VERSION == timm.__version__


def test_qk_scale_is_passed_only_to_timm_versions_that_take_it(monkeypatch):
    seen = {}

    class OldBlock(nn.Module):  # the timm 0.3.x signature
        def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, qk_scale=None,
                     norm_layer=nn.LayerNorm):
            super().__init__()
            seen.update(qkv_bias=qkv_bias, qk_scale=qk_scale, has_qk_scale=True)

    monkeypatch.setattr(timm_compat, "Block", OldBlock)
    monkeypatch.setattr(timm_compat, "_BLOCK_ARGS", {"self", "dim", "qk_scale"})
    timm_compat.make_block(8, 2, 4.0, nn.LayerNorm)
    assert seen == {"qkv_bias": True, "qk_scale": None, "has_qk_scale": True}
