import torch

a = torch.eye(2)
x = torch.symeig(a)
