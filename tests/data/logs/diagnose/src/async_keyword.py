import torch

x = torch.ones(2)
y = x.cuda(async=True)
print(y)
