from functools import partial

import torch
import torch.nn as nn
from timm.models.vision_transformer import Block, PatchEmbed

from util.pos_embed import get_2d_sincos_pos_embed


class MaskedAutoencoderViT(nn.Module):
    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=1024, depth=24,
                 num_heads=16, mlp_ratio=4., norm_layer=nn.LayerNorm):
        super().__init__()
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, qk_scale=None, norm_layer=norm_layer)
            for i in range(depth)])
        pos = get_2d_sincos_pos_embed(embed_dim, int(self.patch_embed.num_patches ** .5))
        self.pos_embed = torch.from_numpy(pos).float().unsqueeze(0)


def mae_vit_base_patch16(**kwargs):
    return MaskedAutoencoderViT(embed_dim=768, depth=12, num_heads=12,
                                norm_layer=partial(nn.LayerNorm, eps=1e-6), **kwargs)
