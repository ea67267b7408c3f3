import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, trunc_normal_


class Attention(nn.Module):
    def __init__(self, dim, heads=8):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.drop = DropPath(0.1)
        trunc_normal_(self.qkv.weight, std=0.02)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.drop(y.transpose(1, 2).reshape(b, n, c))


def train_step(model, x, opt):
    with torch.amp.autocast("cuda", dtype=torch.bfloat16):
        loss = model(x).mean()
    loss.backward()
    opt.step()
    print(f"loss {loss.item():.3f}")
    return loss


compiled = torch.compile(Attention(64))
state = torch.load("ckpt.pt", weights_only=True)
