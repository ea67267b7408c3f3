"""``repro-mae pretrain``: the published ``main_pretrain.py`` flags, reproducible.

Per-step losses depend on (seed, global batch size, data, model flags) only: not on the
number of processes, how the global batch is split into accumulation steps, the number
of workers, or whether the run was stopped and resumed (see ``data``).
"""

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, Optional

import numpy as np
import torch
import torch.distributed as dist

from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text
from repro_mae import checkpoint, data, engine
from repro_mae.models import MODELS, create_model

CHECKPOINT_NAME = "checkpoint.pth"
LOG_NAME = "log.jsonl"
# args that must match for a resumed run to continue the same trajectory
_RESUME_MUST_MATCH = ("model", "input_size", "mask_ratio", "norm_pix_loss", "seed",
                      "synthetic", "synthetic_size", "epochs", "warmup_epochs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("published main_pretrain.py flags")
    g.add_argument("--batch_size", default=64, type=int,
                   help="batch size per process (effective: batch_size * accum_iter * procs)")
    g.add_argument("--epochs", default=400, type=int)
    g.add_argument("--accum_iter", default=1, type=int,
                   help="micro-batches accumulated per optimizer step")
    g.add_argument("--model", default="mae_vit_large_patch16", choices=sorted(MODELS),
                   metavar="MODEL", help="one of: " + ", ".join(sorted(MODELS)))
    g.add_argument("--input_size", default=224, type=int, help="image size")
    g.add_argument("--mask_ratio", default=0.75, type=float,
                   help="fraction of patches removed")
    g.add_argument("--norm_pix_loss", action="store_true",
                   help="per-patch normalised pixels as targets")
    g.add_argument("--weight_decay", default=0.05, type=float)
    g.add_argument("--lr", default=None, type=float, help="absolute lr")
    g.add_argument("--blr", default=1e-3, type=float,
                   help="base lr: lr = blr * effective batch size / 256")
    g.add_argument("--min_lr", default=0.0, type=float)
    g.add_argument("--warmup_epochs", default=40, type=int)
    g.add_argument("--data_path", default=None,
                   help="ImageFolder root (uses DATA_PATH/train if present)")
    g.add_argument("--output_dir", default="./output_dir",
                   help="where checkpoint.pth and log.jsonl go")
    g.add_argument("--log_dir", default=None, help="accepted for compatibility; unused")
    g.add_argument("--device", default=None,
                   help="cuda or cpu (default: cuda when available)")
    g.add_argument("--seed", default=0, type=int)
    g.add_argument("--resume", default="", help="checkpoint to continue from")
    g.add_argument("--start_epoch", default=0, type=int,
                   help="accepted for compatibility; the checkpoint decides")
    g.add_argument("--num_workers", default=10, type=int)
    g.add_argument("--pin_mem", action="store_true", default=True)
    g.add_argument("--no_pin_mem", action="store_false", dest="pin_mem")
    g.add_argument("--world_size", default=1, type=int, help="set by torchrun")
    g.add_argument("--local_rank", default=-1, type=int, help="set by torchrun")
    g.add_argument("--dist_on_itp", action="store_true", help="unused")
    g.add_argument("--dist_url", default="env://")

    r = parser.add_argument_group("repro-mae additions")
    r.add_argument("--synthetic", action="store_true",
                   help="generated images instead of --data_path (no download)")
    r.add_argument("--synthetic_size", default=1024, type=int,
                   help="number of synthetic images (one epoch)")
    r.add_argument("--steps", default=None, type=int,
                   help="stop once N optimizer steps are done in total (the schedule still "
                        "follows --epochs)")
    r.add_argument("--checkpoint_activations", action="store_true",
                   help="recompute block activations in backward (less memory)")
    r.add_argument("--amp", default=None, choices=["off", "bf16", "fp16"],
                   help="mixed precision (default: fp16 on CUDA as published, off on CPU)")
    r.add_argument("--save_every", default=None, type=int,
                   help="write checkpoint.pth every N steps (default: once per epoch) "
                        "and at the end")
    r.add_argument("--dry_run", action="store_true",
                   help="one optimizer step, print its loss, write nothing, exit 0")


# ------------------------------------------------------------------------------------


def _init_distributed(args: argparse.Namespace) -> None:
    """Set args.rank/world_size/distributed/device from torchrun's environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    args.rank = int(os.environ.get("RANK", "0"))
    args.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    args.world_size, args.distributed = world, world > 1
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ReproError(f"--device {device}: torch {torch.__version__} sees no CUDA GPU")
        if device == "cuda":
            device = f"cuda:{args.local_rank}"
        torch.cuda.set_device(torch.device(device))
    args.device = device
    if args.distributed:
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend, init_method=args.dist_url)


def _build_data(args: argparse.Namespace, num_patches: int) -> data.PretrainData:
    if args.synthetic:
        images = data.SyntheticImages(args.synthetic_size, args.input_size, args.seed)
        return data.PretrainData(images, data.flip_transform, num_patches, args.seed)
    if not args.data_path:
        raise ReproError("give --data_path DIR (an ImageFolder) or --synthetic")
    images, transform = data.imagefolder(args.data_path, args.input_size)
    return data.PretrainData(images, transform, num_patches, args.seed)


def _check_resume(ckpt: Dict[str, Any], args: argparse.Namespace, global_batch: int) -> None:
    saved = ckpt.get("args") or {}
    if isinstance(saved, argparse.Namespace):  # written by the published main_pretrain.py
        saved = vars(saved)
    for name in _RESUME_MUST_MATCH:
        if name in saved and saved[name] != getattr(args, name):
            raise ReproError(
                f"{args.resume}: checkpoint has --{name} {saved[name]}, "
                f"this run {getattr(args, name)}"
            )
    if "global_batch" in saved and saved["global_batch"] != global_batch:
        raise ReproError(
            f"{args.resume}: checkpoint was trained with an effective batch of "
            f"{saved['global_batch']}, this run has {global_batch} "
            "(batch_size x accum_iter x processes must match to resume)"
        )


def _rewrite_log(path: str, keep_until_step: int) -> None:
    """Drop log lines of steps after the checkpoint (a killed run may have logged them)."""
    kept = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    if json.loads(line)["step"] <= keep_until_step:
                        kept.append(line if line.endswith("\n") else line + "\n")
                except (ValueError, KeyError, TypeError):
                    break  # a torn last line
    atomic_write_text(path, "".join(kept))


class _Progress:
    """A one-line progress bar on a terminal; a plain line every 20 steps otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.tty = enabled and sys.stderr.isatty()

    def update(self, rec: Dict[str, Any]) -> None:
        if not self.enabled:
            return
        step = rec["step"]
        text = (f"step {step}/{self.total} epoch {rec['epoch']} loss {rec['loss']:.4f} "
                f"lr {rec['lr']:.3e} {rec['imgs_per_s']:.1f} img/s")
        if self.tty:
            width = 24
            done = int(width * step / max(self.total, 1))
            sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {text}")
            if step == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif step % 20 == 0 or step == self.total:
            print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    """Train as the flags say; returns 0. Raises ReproError on bad input."""
    for name in ("batch_size", "accum_iter", "epochs", "input_size", "synthetic_size"):
        if getattr(args, name) < 1:
            raise ReproError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if not 0.0 <= args.mask_ratio < 1.0:
        raise ReproError(f"--mask_ratio must be in [0, 1), got {args.mask_ratio}")
    if args.save_every is not None and args.save_every < 1:
        raise ReproError(f"--save_every must be >= 1, got {args.save_every}")
    _init_distributed(args)
    try:
        return _train(args)
    finally:
        if args.distributed and dist.is_initialized():
            dist.destroy_process_group()


def _train(args: argparse.Namespace) -> int:
    device = torch.device(args.device)
    amp = args.amp or ("fp16" if device.type == "cuda" else "off")
    if amp == "fp16" and device.type != "cuda":
        raise ReproError("--amp fp16 needs a CUDA device; use --amp bf16 or off on CPU")
    main_proc = args.rank == 0

    # same seed on every rank: identical initial weights (data randomness is per sample)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    model = create_model(args.model, img_size=args.input_size, norm_pix_loss=args.norm_pix_loss)
    if args.input_size % model.patch_size:
        raise ReproError(f"--input_size {args.input_size} is not a multiple of the patch size "
                         f"{model.patch_size} of {args.model}")
    model.set_grad_checkpointing(args.checkpoint_activations)
    model.to(device)
    model_without_ddp = model
    if args.distributed:
        ids = [device.index] if device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    dataset = _build_data(args, model_without_ddp.patch_embed.num_patches)
    global_batch = args.batch_size * args.accum_iter * args.world_size
    if args.lr is None:
        args.lr = args.blr * global_batch / 256
    optimizer = torch.optim.AdamW(
        engine.param_groups(model_without_ddp, args.weight_decay), lr=args.lr, betas=(0.9, 0.95)
    )
    scaler = engine.grad_scaler(amp, device.type)

    steps_per_epoch = len(dataset) // global_batch
    if steps_per_epoch == 0:
        raise ReproError(f"dataset has {len(dataset)} images, fewer than one effective batch "
                         f"(batch_size x accum_iter x processes = {global_batch})")
    total_steps = args.epochs * steps_per_epoch
    start_step = 0
    if args.resume:
        ckpt = checkpoint.load(args.resume)
        _check_resume(ckpt, args, global_batch)
        model_without_ddp.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:
            optimizer.load_state_dict(ckpt["optimizer"])
        if "scaler" in ckpt and ckpt["scaler"]:
            scaler.load_state_dict(ckpt["scaler"])
        # a published checkpoint has only the finished epoch
        start_step = ckpt["step"] if "step" in ckpt else (ckpt["epoch"] + 1) * steps_per_epoch
        if "rng" in ckpt:
            checkpoint.set_rng_state(ckpt["rng"])
    stop_step = total_steps if args.steps is None else min(total_steps, args.steps)
    if args.dry_run:
        stop_step = min(start_step + 1, total_steps)
    save_every = args.save_every or steps_per_epoch

    sampler = data.StepBatchSampler(len(dataset), args.batch_size, args.accum_iter, args.rank,
                                    args.world_size, args.seed, start_step, stop_step)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=args.num_workers,
        pin_memory=args.pin_mem and device.type == "cuda",
    )

    log_path = os.path.join(args.output_dir, LOG_NAME)
    ckpt_path = os.path.join(args.output_dir, CHECKPOINT_NAME)
    if main_proc:
        print(f"repro-mae: {args.model} on {device} x{args.world_size}, effective batch "
              f"{global_batch}, lr {args.lr:.3e}, amp {amp}, steps {start_step}->{stop_step} "
              f"of {total_steps} ({steps_per_epoch}/epoch)", flush=True)
        if not args.dry_run:
            os.makedirs(args.output_dir, exist_ok=True)
            _rewrite_log(log_path, start_step if args.resume else 0)

    def save(step: int) -> None:
        plain = (int, float, str, bool, type(None))
        saved_args = {k: v for k, v in vars(args).items() if isinstance(v, plain)}
        saved_args["global_batch"] = global_batch
        checkpoint.save(ckpt_path, {
            "format": checkpoint.FORMAT,
            "model": model_without_ddp.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "epoch": (step - 1) // steps_per_epoch,  # of the last step, as published
            "step": step,
            "args": saved_args,
            "rng": checkpoint.rng_state(),
        })

    model.train(True)
    progress = _Progress(stop_step, main_proc)
    batches = iter(loader)
    loss: Optional[torch.Tensor] = None
    for step in range(start_step, stop_step):
        t0 = time.perf_counter()
        epoch, s = divmod(step, steps_per_epoch)
        lr = engine.lr_at(epoch + s / steps_per_epoch, args.lr, args.min_lr,
                          args.warmup_epochs, args.epochs)
        engine.set_lr(optimizer, lr)
        micro = []
        for _ in range(args.accum_iter):
            imgs, noise = next(batches)
            nb = device.type == "cuda"
            micro.append((imgs.to(device, non_blocking=nb), noise.to(device, non_blocking=nb)))
        loss = engine.train_step(model, micro, optimizer, scaler, amp, args.mask_ratio)
        if args.distributed:
            dist.all_reduce(loss, op=dist.ReduceOp.SUM)
            loss = loss / args.world_size
        loss_value = loss.item()  # also synchronises the device before timing
        rec = {"step": step + 1, "epoch": epoch, "loss": loss_value, "lr": lr,
               "imgs_per_s": global_batch / (time.perf_counter() - t0)}
        progress.update(rec)
        if args.dry_run:
            if main_proc:
                print(f"dry run: step {step + 1} loss {loss_value:.6f}", flush=True)
            return 0
        if main_proc:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            if (step + 1) % save_every == 0 or step + 1 == stop_step:
                save(step + 1)
    if main_proc:
        final = f"{loss.item():.6f}" if loss is not None else "n/a"
        print(f"done: {stop_step} steps, last loss {final}, checkpoint {ckpt_path}", flush=True)
    return 0
