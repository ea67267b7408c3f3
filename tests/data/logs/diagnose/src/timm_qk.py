from timm.models.vision_transformer import Block

blk = Block(dim=64, num_heads=4, mlp_ratio=4.0, qkv_bias=True, qk_scale=None)
