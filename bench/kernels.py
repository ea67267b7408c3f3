"""Benchmark of the fused ops against the eager PyTorch reference at MAE ViT-B shapes.

    python bench/kernels.py [--device cpu|cuda|all] [--threads 2] [--repeat 20]

Prints one table per device: each op, forward and forward+backward, eager reference vs fused
(ms, median of --repeat interleaved runs), the speedup, the bytes that must move, and the fused op's
achieved GB/s against them, also as a share of the device's copy bandwidth measured in the
same run (a 256 MB copy_). Builds the libraries first if needed (repro-cuda build).
"""

import argparse
import statistics
import time
from typing import Callable, Dict, List

import torch

import repro_cuda
from repro_cuda import build, reference

N, L, D, K = 64, 196, 768, 49
IMG, C, P = 224, 3, 16


def timeit(fns: List[Callable[[], object]], device: str, repeat: int) -> List[float]:
    """Median wall time in ms of each fn, runs interleaved (so load from other processes
    hits all alike; CUDA: synchronised around each run)."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for fn in fns:
        for _ in range(3):
            fn()
    sync()
    times: List[List[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(ts) for ts in times]


def copy_bandwidth(device: str, repeat: int) -> float:
    """GB/s of copying one 256 MB tensor into another (read + write, no allocation)."""
    x = torch.ones(64 * 2 ** 20, dtype=torch.float32, device=device)
    y = torch.zeros_like(x)
    (ms,) = timeit([lambda: y.copy_(x)], device, repeat)
    return 2 * x.numel() * 4 / ms / 1e6


def cases(device: str) -> List[Dict]:
    es = 4  # float32
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, L, D, generator=g).to(device)
    ids = torch.argsort(torch.rand(N, L, generator=g), dim=1)[:, :K].to(device)
    gk = torch.randn(N, K, D, generator=g).to(device)
    imgs = torch.randn(N, C, IMG, IMG, generator=g).to(device)
    pred = torch.randn(N, L, P * P * C, generator=g).to(device)
    mask = torch.ones(N, L)
    mask[:, :K] = 0  # 75% removed, as MAE
    mask = mask.to(device)
    xg, pg = x.clone().requires_grad_(), pred.clone().requires_grad_()

    def gather_bwd(fn):
        def run():
            xg.grad = None
            fn(xg, ids).backward(gk)
        return run

    def loss_bwd(fn):
        def run():
            pg.grad = None
            fn(imgs, pg, mask, P).backward()
        return run

    kept = N * K * D * es
    img_b, pred_b, mask_b = imgs.numel() * es, pred.numel() * es, mask.numel() * es
    return [
        dict(op="gather_patches", pass_="fwd", bytes=2 * kept + ids.numel() * 8,
             eager=lambda: reference.gather_patches(x, ids),
             fused=lambda: repro_cuda.gather_patches(x, ids)),
        dict(op="gather_patches", pass_="fwd+bwd",
             bytes=3 * kept + x.numel() * es + 2 * ids.numel() * 8,
             eager=gather_bwd(reference.gather_patches),
             fused=gather_bwd(repro_cuda.gather_patches)),
        dict(op="masked_patch_loss", pass_="fwd", bytes=img_b + pred_b + mask_b,
             eager=lambda: reference.masked_patch_loss(imgs, pred, mask, P),
             fused=lambda: repro_cuda.masked_patch_loss(imgs, pred, mask, P)),
        dict(op="masked_patch_loss", pass_="fwd+bwd", bytes=img_b + 2 * pred_b + mask_b,
             eager=loss_bwd(reference.masked_patch_loss),
             fused=loss_bwd(repro_cuda.masked_patch_loss)),
    ]


def run(device: str, repeat: int) -> List[str]:
    copy = copy_bandwidth(device, repeat)
    rows = []
    for c in cases(device):
        ctx = torch.no_grad() if c["pass_"] == "fwd" else torch.enable_grad()
        with ctx:
            eager, fused = timeit([c["eager"], c["fused"]], device, repeat)
        gbs = c["bytes"] / fused / 1e6
        rows.append(f"| {device} | {c['op']} | {c['pass_']} | {eager:.2f} | {fused:.2f} | "
                    f"{eager / fused:.1f}x | {c['bytes'] / 1e6:.1f} | {gbs:.1f} | "
                    f"{100 * gbs / copy:.0f}% |")
    return [f"copy bandwidth ({device}, 256 MB copy_): {copy:.1f} GB/s", "",
            "| device | op | pass | eager ms | fused ms | speedup | required MB | fused GB/s "
            "| of copy BW |", "|---|---|---|---|---|---|---|---|---|"] + rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    build.build(arch="auto" if "cuda" in devices else None, cpu_only="cuda" not in devices)
    print(f"torch {torch.__version__}, N={N} L={L} D={D} K={K}, imgs {N}x{C}x{IMG}x{IMG} "
          f"p={P}, float32, {args.threads} CPU threads, median of {args.repeat}")
    for d in devices:
        name = torch.cuda.get_device_name() if d == "cuda" else "CPU"
        print(f"\n{name}: backend {repro_cuda.backend(d)}")
        print("\n".join(run(d, args.repeat)))


if __name__ == "__main__":
    main()
