"""Generated images: bars at one of four orientations; the orientation is the label."""
import numpy as np
import torch
from torch.utils.data import Dataset


class BarsDataset(Dataset):
    def __init__(self, length=1024, size=32, num_classes=4, seed=0):
        self.length = length
        self.size = size
        self.num_classes = num_classes
        self.seed = seed

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        rng = np.random.RandomState(self.seed + index)
        label = np.int(rng.randint(self.num_classes))
        yy, xx = np.mgrid[0:self.size, 0:self.size].astype(np.float)
        angle = np.pi * label / self.num_classes
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin((np.cos(angle) * xx + np.sin(angle) * yy) * 0.8 + phase)
        colour = rng.uniform(0.2, 1.0, size=(3, 1, 1)).astype(np.float)
        img = colour * wave[None] + 0.1 * rng.randn(3, self.size, self.size)
        return torch.from_numpy(img.astype(np.float32)), label
