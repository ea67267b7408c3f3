"""repro-cuda: fused masked-patch gather and MAE loss (CPU/CUDA kernels, PyTorch fallback)."""

__version__ = "0.1.0"
