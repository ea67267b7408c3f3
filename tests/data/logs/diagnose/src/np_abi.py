import numpy as np
import torch

x = torch.from_numpy(np.zeros(3, dtype=np.float32))
