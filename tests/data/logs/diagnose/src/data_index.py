import torch

loss = torch.tensor(1.5)
print(loss.data[0])
