"""repro-cuda: fused masked-patch gather and MAE loss (CPU/CUDA kernels, PyTorch fallback).

    gather_patches(x, ids_keep)                     torch.gather of kept patches, fused
    masked_patch_loss(imgs, pred, mask, p, ...)     the published MAE forward_loss, fused
    backend(device) -> "cuda" | "cpu" | "reference"
    library_path(kind) -> str | None                kind "cpu" or "cuda"

The compiled libraries come from ``repro-cuda build`` (see docs/cuda.md); without them the
ops run the pure-PyTorch reference in ``repro_cuda.reference`` and warn once. Importing
does no work: the GPUs are probed and the libraries loaded on first use.
"""

from repro_cuda.library import backend, library_path
from repro_cuda.ops import gather_patches, masked_patch_loss

__version__ = "0.1.0"
__all__ = ["gather_patches", "masked_patch_loss", "backend", "library_path"]
