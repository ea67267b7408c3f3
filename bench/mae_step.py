"""Images/s of one MAE training step (forward + backward + AdamW step).

Compares this package (repro_cuda fused gather/loss when built, SDPA attention on
torch >= 2.0) with the same model on plain PyTorch ops (reference gather/loss, classic
attention), same weights, inputs, batch and precision, timed in alternating rounds.

    python bench/mae_step.py                                   # CPU: tiny and ViT-B
    python bench/mae_step.py --device cuda --configs base --batch 64 --amp bf16
"""

import argparse
import statistics
import time

import torch

import repro_cuda
from repro_mae import engine
from repro_mae.models import create_model, has_sdpa

CONFIGS = {"tiny": "mae_vit_tiny_patch16", "base": "mae_vit_base_patch16"}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _setup(name: str, fused: bool, device: torch.device, batch: int, amp: str, ckpt: bool):
    torch.manual_seed(0)
    model = create_model(name, fused_attn=fused and has_sdpa(), fused_ops=fused).to(device)
    model.set_grad_checkpointing(ckpt)
    opt = torch.optim.AdamW(engine.param_groups(model, 0.05), lr=1e-4, betas=(0.9, 0.95))
    scaler = engine.grad_scaler(amp, device.type)
    g = torch.Generator().manual_seed(1)
    imgs = torch.randn(batch, 3, 224, 224, generator=g).to(device)
    noise = torch.rand(batch, model.patch_embed.num_patches, generator=g).to(device)
    return model, opt, scaler, [(imgs, noise)]


def _time(state, amp: str, iters: int, device: torch.device) -> float:
    model, opt, scaler, micro = state
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        engine.train_step(model, micro, opt, scaler, amp, 0.75)
    _sync(device)
    return iters * micro[0][0].shape[0] / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--configs", default="tiny,base", help="comma list of: tiny, base")
    p.add_argument("--batch", type=int, default=None,
                   help="default: 8 (tiny) / 4 (base) on CPU, 64 on CUDA")
    p.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"])
    p.add_argument("--iters", type=int, default=3, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds; median taken")
    p.add_argument("--checkpoint_activations", action="store_true")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    for cfg in args.configs.split(","):
        batch = args.batch or (64 if device.type == "cuda" else {"tiny": 8, "base": 4}[cfg])
        states = {v: _setup(CONFIGS[cfg], v == "repro", device, batch, args.amp,
                            args.checkpoint_activations) for v in ("plain", "repro")}
        for v in states:  # warm-up: kernels, allocator, autotuning
            _time(states[v], args.amp, 1, device)
        speeds = {v: [] for v in states}
        for _ in range(args.rounds):
            for v in states:
                speeds[v].append(_time(states[v], args.amp, args.iters, device))
        plain, repro = (statistics.median(speeds[v]) for v in ("plain", "repro"))
        # ratio per round: both variants ran back to back under the same machine load
        ratios = sorted(r / p for p, r in zip(speeds["plain"], speeds["repro"]))
        rows.append((cfg, str(device), batch, args.amp, repro_cuda.backend(device),
                     "on" if has_sdpa() else "n/a", f"{plain:.1f}", f"{repro:.1f}",
                     f"{statistics.median(ratios):.2f}x",
                     f"{ratios[0]:.2f}-{ratios[-1]:.2f}"))
        del states
    head = ("config", "device", "batch", "amp", "repro_cuda backend", "SDPA",
            "plain img/s", "repro img/s", "speedup (median)", "per-round range")
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{torch.get_num_threads()} CPU threads")
    print(f"torch {torch.__version__}, {where}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(map(str, r)) + " |")


if __name__ == "__main__":
    main()
