"""Pre-training data whose randomness is a function of (seed, epoch, sample index).

The sampler yields ``(epoch, index)`` keys; the dataset derives the sample's
augmentation and its mask noise from that key, and the sample order from (seed, epoch).
So what a sample looks like never depends on the number of processes, the batch size,
the number of data-loader workers or where a run was resumed.
"""

import os
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from repro_core.errors import ReproError

# streams: independent random numbers for one (seed, epoch, index)
ORDER, AUGMENT, MASK, IMAGE = 0, 1, 2, 3

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Key = Tuple[int, int]  # (epoch, sample index)


def derived_seed(seed: int, epoch: int, index: int, stream: int) -> int:
    """A 63-bit seed from the tuple, via numpy's SeedSequence (stable across versions)."""
    state = np.random.SeedSequence([seed, epoch, index, stream]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def generator(seed: int, epoch: int, index: int, stream: int) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(seed, epoch, index, stream))


class SyntheticImages(Dataset):
    """``n`` smooth random RGB images (3, size, size), normalised like ImageNet inputs;
    image i depends only on (seed, i). Items are ``(image, 0)`` like ImageFolder."""

    def __init__(self, n: int, size: int, seed: int = 0) -> None:
        self.n, self.size, self.seed = n, size, seed

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        g = generator(self.seed, 0, index, IMAGE)
        low = torch.randn(1, 3, 8, 8, generator=g)
        img = F.interpolate(low, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return img[0] + 0.1 * torch.randn(3, self.size, self.size, generator=g), 0


def flip_transform(img: torch.Tensor) -> torch.Tensor:
    """Horizontal flip with probability 1/2 (global torch RNG), for tensor images."""
    return img.flip(-1) if torch.rand(1).item() < 0.5 else img


def imagefolder(root: str, input_size: int) -> Tuple[Dataset, Callable]:
    """``root/train`` as published (falls back to ``root`` itself if it has no ``train``),
    with the published augmentation: RandomResizedCrop(0.2-1, bicubic), flip, normalise."""
    try:
        import torchvision.datasets as datasets
        import torchvision.transforms as transforms
    except ImportError as e:
        raise ReproError(f"--data_path needs torchvision ({e})") from e
    path = os.path.join(root, "train")
    path = path if os.path.isdir(path) else root
    if not os.path.isdir(path):
        raise ReproError(f"--data_path {root}: no such folder")
    transform = transforms.Compose([
        transforms.RandomResizedCrop(input_size, scale=(0.2, 1.0), interpolation=3),  # bicubic
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
    ])
    try:
        dataset = datasets.ImageFolder(path)
    except (FileNotFoundError, RuntimeError) as e:
        raise ReproError(f"--data_path {path}: {e}") from e
    return dataset, transform


class PretrainData(Dataset):
    """Wraps ``images`` (items ``(img, label)``); ``data[(epoch, index)]`` ->
    ``(augmented image (3, H, W), mask noise (num_patches,))``. The transform runs under
    the global torch RNG seeded from (seed, epoch, index), restored afterwards."""

    def __init__(self, images: Dataset, transform: Callable, num_patches: int, seed: int):
        self.images, self.transform = images, transform
        self.num_patches, self.seed = num_patches, seed

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: Key) -> Tuple[torch.Tensor, torch.Tensor]:
        epoch, index = key
        img = self.images[index][0]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derived_seed(self.seed, epoch, index, AUGMENT))
            img = self.transform(img)
        noise = torch.rand(self.num_patches, generator=generator(self.seed, epoch, index, MASK))
        return img, noise


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of one epoch: a permutation of range(n) from (seed, epoch)."""
    return torch.randperm(n, generator=generator(seed, epoch, 0, ORDER))


class StepBatchSampler:
    """This rank's micro-batches of ``(epoch, index)`` keys for optimizer steps
    ``[start_step, stop_step)``.

    Each epoch's order is cut into global batches of ``batch_size * accum_iter *
    world_size`` (the incomplete tail is dropped, as with ``drop_last``); optimizer step s
    takes the s-th global batch. Rank r takes the r-th contiguous slice of it and splits
    that into ``accum_iter`` micro-batches. Hence step s sees the same samples for any
    layout with the same global batch size.
    """

    def __init__(self, n: int, batch_size: int, accum_iter: int, rank: int, world_size: int,
                 seed: int, start_step: int, stop_step: int) -> None:
        self.n, self.batch_size, self.accum_iter = n, batch_size, accum_iter
        self.rank, self.world_size, self.seed = rank, world_size, seed
        self.start_step, self.stop_step = start_step, stop_step
        self.global_batch = batch_size * accum_iter * world_size
        self.steps_per_epoch = n // self.global_batch
        if self.steps_per_epoch == 0:
            raise ReproError(
                f"dataset has {n} images, fewer than one global batch "
                f"(batch_size x accum_iter x processes = {self.global_batch})"
            )

    def __len__(self) -> int:
        return max(0, self.stop_step - self.start_step) * self.accum_iter

    def __iter__(self) -> Iterator[List[Key]]:
        order: Optional[Sequence[int]] = None
        order_epoch = -1
        per_rank = self.batch_size * self.accum_iter
        for step in range(self.start_step, self.stop_step):
            epoch, s = divmod(step, self.steps_per_epoch)
            if epoch != order_epoch:
                order, order_epoch = epoch_order(self.n, self.seed, epoch).tolist(), epoch
            start = s * self.global_batch + self.rank * per_rank
            mine = order[start : start + per_rank]
            for a in range(self.accum_iter):
                chunk = mine[a * self.batch_size : (a + 1) * self.batch_size]
                yield [(epoch, i) for i in chunk]
