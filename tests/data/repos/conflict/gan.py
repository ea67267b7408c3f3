import torch

z = torch.randn(4, 8)
