import numpy as np
import torch


def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float)
    omega /= embed_dim / 2.
    return np.einsum('m,d->md', pos.reshape(-1), 1. / 10000**omega)


def interpolate_pos_embed(model, checkpoint_model):
    pos_tokens = torch.nn.functional.interpolate(checkpoint_model, size=(14, 14), mode='bicubic')
    return pos_tokens
