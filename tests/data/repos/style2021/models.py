from functools import partial

import cv2
import numpy as np
import torch
import torch.nn as nn
import yaml
from sklearn.metrics import accuracy_score
from timm.models.layers.helpers import to_2tuple
from timm.models.vision_transformer import Block, PatchEmbed
from torch._six import container_abcs

from utils.pos import grid


class Encoder(nn.Module):
    def __init__(self, dim=192, depth=4, heads=3):
        super().__init__()
        self.patch = PatchEmbed(224, 16, 3, dim)
        self.blocks = nn.ModuleList([
            Block(dim, heads, 4.0, qkv_bias=True, qk_scale=None,
                  norm_layer=partial(nn.LayerNorm, eps=1e-6))
            for _ in range(depth)])
        self.pos = torch.from_numpy(grid(dim).astype(np.float))

    def forward(self, x):
        assert isinstance(x.shape, container_abcs.Sequence)
        return self.blocks(self.patch(x) + self.pos)


def load(path):
    cfg = yaml.safe_load(open(path))
    img = cv2.imread(cfg["image"])
    return to_2tuple(img.shape[0]), accuracy_score([1], [1])
