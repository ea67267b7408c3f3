import time

import torch
from torch._six import container_abcs, string_classes


def to_device(batch, device):
    """Move a nested batch (tensors in lists/dicts) to a device."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, string_classes):
        return batch
    if isinstance(batch, container_abcs.Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, container_abcs.Sequence):
        return [to_device(v, device) for v in batch]
    return batch


class AverageMeter(object):
    def __init__(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


class Timer(object):
    def __init__(self):
        self.start = time.time()

    def elapsed(self):
        return time.time() - self.start
