import numpy as np


def grid(n):
    return np.arange(n, dtype=np.float32)
