"""``repro-mae pretrain``: the published ``main_pretrain.py`` flags, reproducible.

Per-step losses depend on (seed, global batch size, data, model flags) only: not on the
number of processes, how the global batch is split into accumulation steps, the number
of workers, or whether the run was stopped and resumed (see ``data``).

From Python: ``pretrain(PretrainConfig(...))`` returns a ``PretrainResult``; it is
``setup`` (model, optimizer, data), ``resume`` (from a checkpoint) and ``loop``.
"""

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist

from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write, check_destination, remove_stale_temps
from repro_mae import checkpoint, data, engine
from repro_mae.models import MODELS, create_model

CHECKPOINT_NAME = "checkpoint.pth"
LOG_NAME = "log.jsonl"
# args that must match for a resumed run to continue the same trajectory
_RESUME_MUST_MATCH = ("model", "input_size", "mask_ratio", "norm_pix_loss", "seed",
                      "synthetic", "synthetic_size", "epochs", "warmup_epochs")
_MAX_DEFAULT_WORKERS = 10  # the published default


def default_num_workers() -> int:
    """The published 10 data-loader workers, or fewer: the CPUs this process may use."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(_MAX_DEFAULT_WORKERS, cpus))


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    """One pre-training run; the fields are the ``repro-mae pretrain`` flags (same names,
    same defaults, same meaning). Invalid values raise ReproError."""

    # published main_pretrain.py flags
    batch_size: int = 64
    epochs: int = 400
    accum_iter: int = 1
    model: str = "mae_vit_large_patch16"
    input_size: int = 224
    mask_ratio: float = 0.75
    norm_pix_loss: bool = False
    weight_decay: float = 0.05
    lr: Optional[float] = None
    blr: float = 1e-3
    min_lr: float = 0.0
    warmup_epochs: int = 40
    data_path: Optional[str] = None
    output_dir: str = "./output_dir"
    log_dir: Optional[str] = None
    device: Optional[str] = None
    seed: int = 0
    resume: str = ""
    start_epoch: int = 0
    num_workers: Optional[int] = None  # None: default_num_workers()
    pin_mem: bool = True
    world_size: int = 1
    local_rank: int = -1
    dist_on_itp: bool = False
    dist_url: str = "env://"
    # repro-mae additions
    synthetic: bool = False
    synthetic_size: int = 1024
    steps: Optional[int] = None
    checkpoint_activations: bool = False
    amp: Optional[str] = None
    save_every: Optional[int] = None
    dry_run: bool = False

    def __post_init__(self) -> None:
        for name in ("batch_size", "accum_iter", "epochs", "input_size", "synthetic_size"):
            if getattr(self, name) < 1:
                raise ReproError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ReproError(f"--mask_ratio must be in [0, 1), got {self.mask_ratio}")
        if self.save_every is not None and self.save_every < 1:
            raise ReproError(f"--save_every must be >= 1, got {self.save_every}")
        if self.num_workers is not None and self.num_workers < 0:
            raise ReproError(f"--num_workers must be >= 0, got {self.num_workers}")
        if self.model not in MODELS:
            raise ReproError(f"--model {self.model}: not one of {', '.join(sorted(MODELS))}")
        if self.amp not in (None, "off", "bf16", "fp16"):
            raise ReproError(f"--amp {self.amp}: not one of off, bf16, fp16")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "PretrainConfig":
        """The config of parsed ``repro-mae pretrain`` flags."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})

    def to_json(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "PretrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(obj) - names)
        if unknown:
            raise ReproError(f"pretrain config: unknown field(s) {', '.join(unknown)}")
        return cls(**obj)


@dataclasses.dataclass(frozen=True)
class PretrainResult:
    """What a run did: the losses of the steps it ran (``start_step + 1 ..``) and what it
    wrote (None for a dry run, and on processes other than rank 0)."""

    losses: Tuple[float, ...]
    start_step: int
    stop_step: int
    log_path: Optional[str]
    checkpoint_path: Optional[str]

    def to_json(self) -> Dict[str, Any]:
        return dict(dataclasses.asdict(self), losses=list(self.losses))

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "PretrainResult":
        return cls(**dict(obj, losses=tuple(obj["losses"])))


_D = PretrainConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags; their defaults are ``PretrainConfig``'s."""
    g = parser.add_argument_group("published main_pretrain.py flags")
    g.add_argument("--batch_size", default=_D.batch_size, type=int,
                   help="batch size per process (effective: batch_size * accum_iter * procs)")
    g.add_argument("--epochs", default=_D.epochs, type=int)
    g.add_argument("--accum_iter", default=_D.accum_iter, type=int,
                   help="micro-batches accumulated per optimizer step")
    g.add_argument("--model", default=_D.model, choices=sorted(MODELS),
                   metavar="MODEL", help="one of: " + ", ".join(sorted(MODELS)))
    g.add_argument("--input_size", default=_D.input_size, type=int, help="image size")
    g.add_argument("--mask_ratio", default=_D.mask_ratio, type=float,
                   help="fraction of patches removed")
    g.add_argument("--norm_pix_loss", action="store_true",
                   help="per-patch normalised pixels as targets")
    g.add_argument("--weight_decay", default=_D.weight_decay, type=float)
    g.add_argument("--lr", default=None, type=float, help="absolute lr")
    g.add_argument("--blr", default=_D.blr, type=float,
                   help="base lr: lr = blr * effective batch size / 256")
    g.add_argument("--min_lr", default=_D.min_lr, type=float)
    g.add_argument("--warmup_epochs", default=_D.warmup_epochs, type=int)
    g.add_argument("--data_path", default=None,
                   help="ImageFolder root (uses DATA_PATH/train if present)")
    g.add_argument("--output_dir", default=_D.output_dir,
                   help="where checkpoint.pth and log.jsonl go")
    g.add_argument("--log_dir", default=None, help="accepted for compatibility; unused")
    g.add_argument("--device", default=None,
                   help="cuda or cpu (default: cuda when available)")
    g.add_argument("--seed", default=_D.seed, type=int)
    g.add_argument("--resume", default=_D.resume, help="checkpoint to continue from")
    g.add_argument("--start_epoch", default=_D.start_epoch, type=int,
                   help="accepted for compatibility; the checkpoint decides")
    g.add_argument("--num_workers", default=None, type=int,
                   help="data-loader workers (default: 10, or the CPUs available if fewer)")
    g.add_argument("--pin_mem", action="store_true", default=True)
    g.add_argument("--no_pin_mem", action="store_false", dest="pin_mem")
    g.add_argument("--world_size", default=_D.world_size, type=int, help="set by torchrun")
    g.add_argument("--local_rank", default=_D.local_rank, type=int, help="set by torchrun")
    g.add_argument("--dist_on_itp", action="store_true", help="unused")
    g.add_argument("--dist_url", default=_D.dist_url)

    r = parser.add_argument_group("repro-mae additions")
    r.add_argument("--synthetic", action="store_true",
                   help="generated images instead of --data_path (no download)")
    r.add_argument("--synthetic_size", default=_D.synthetic_size, type=int,
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


def run(args: argparse.Namespace) -> int:
    """``repro-mae pretrain``: train as the flags say; returns 0. ReproError on bad input."""
    pretrain(PretrainConfig.from_args(args))
    return 0


def pretrain(config: PretrainConfig) -> PretrainResult:
    """Train as ``config`` says (under torchrun: this process's part of a DDP run)."""
    trainer = setup(config)
    try:
        start_step = resume(trainer, config.resume) if config.resume else 0
        return loop(trainer, start_step)
    finally:
        if trainer.distributed:
            _leave_group(trainer)


def _leave_group(trainer: "Trainer") -> None:
    """Leave the process group; the DDP wrapper goes while the last all-reduced tensor is
    still held. A gloo worker thread that drops the last reference to a tensor needs the
    GIL, which this thread holds while the group's destructor joins those threads: on
    torch 1.10 that deadlocked 1 run in 6 at exit."""
    if dist.is_initialized():
        dist.destroy_process_group()
    trainer.model = trainer.model_without_ddp  # the group's threads are joined here


@dataclasses.dataclass
class Trainer:
    """Everything ``setup`` builds; ``resume`` and ``loop`` work on it."""

    config: PretrainConfig
    rank: int
    local_rank: int
    world_size: int
    distributed: bool
    device: torch.device
    amp: str
    model: torch.nn.Module  # DDP-wrapped when distributed
    model_without_ddp: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: Any
    dataset: data.PretrainData
    num_workers: int
    global_batch: int
    lr: float
    steps_per_epoch: int
    total_steps: int
    reduced: Optional[torch.Tensor] = None  # the last tensor given to all_reduce

    @property
    def main_proc(self) -> bool:
        return self.rank == 0

    def saved_args(self) -> Dict[str, Any]:
        """The ``args`` of a checkpoint: the flags as this run resolved them."""
        return dict(self.config.to_json(), command="pretrain", lr=self.lr,
                    device=str(self.device), rank=self.rank, local_rank=self.local_rank,
                    world_size=self.world_size, distributed=self.distributed,
                    num_workers=self.num_workers, global_batch=self.global_batch)


def _init_distributed(config: PretrainConfig) -> Tuple[int, int, int, str]:
    """(rank, local rank, world size, device) from torchrun's environment; joins the
    process group when there is more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ReproError(f"--device {device}: torch {torch.__version__} sees no CUDA GPU")
        if device == "cuda":
            device = f"cuda:{local_rank}"
        torch.cuda.set_device(torch.device(device))
    if world > 1:
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend, init_method=config.dist_url)
    return rank, local_rank, world, device


def _build_data(config: PretrainConfig, num_patches: int) -> data.PretrainData:
    if config.synthetic:
        images = data.SyntheticImages(config.synthetic_size, config.input_size, config.seed)
        return data.PretrainData(images, data.flip_transform, num_patches, config.seed)
    if not config.data_path:
        raise ReproError("give --data_path DIR (an ImageFolder) or --synthetic")
    images, transform = data.imagefolder(config.data_path, config.input_size)
    return data.PretrainData(images, transform, num_patches, config.seed)


def setup(config: PretrainConfig) -> Trainer:
    """Seed, model (DDP under torchrun), optimizer, scaler and data of a run."""
    rank, local_rank, world_size, device_name = _init_distributed(config)
    distributed = world_size > 1
    try:
        return _setup(config, rank, local_rank, world_size, torch.device(device_name))
    except BaseException:
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
        raise


def _setup(config: PretrainConfig, rank: int, local_rank: int, world_size: int,
           device: torch.device) -> Trainer:
    amp = config.amp or ("fp16" if device.type == "cuda" else "off")
    if amp == "fp16" and device.type != "cuda":
        raise ReproError("--amp fp16 needs a CUDA device; use --amp bf16 or off on CPU")

    # same seed on every rank: identical initial weights (data randomness is per sample)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)

    model = create_model(config.model, img_size=config.input_size,
                         norm_pix_loss=config.norm_pix_loss)
    if config.input_size % model.patch_size:
        raise ReproError(f"--input_size {config.input_size} is not a multiple of the patch "
                         f"size {model.patch_size} of {config.model}")
    model.set_grad_checkpointing(config.checkpoint_activations)
    model.to(device)
    model_without_ddp = model
    if world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)

    dataset = _build_data(config, model_without_ddp.patch_embed.num_patches)
    global_batch = config.batch_size * config.accum_iter * world_size
    lr = config.lr if config.lr is not None else config.blr * global_batch / 256
    optimizer = torch.optim.AdamW(
        engine.param_groups(model_without_ddp, config.weight_decay), lr=lr, betas=(0.9, 0.95)
    )
    steps_per_epoch = len(dataset) // global_batch
    if steps_per_epoch == 0:
        raise ReproError(f"dataset has {len(dataset)} images, fewer than one effective batch "
                         f"(batch_size x accum_iter x processes = {global_batch})")
    num_workers = default_num_workers() if config.num_workers is None else config.num_workers
    return Trainer(
        config=config, rank=rank, local_rank=local_rank, world_size=world_size,
        distributed=world_size > 1, device=device, amp=amp, model=model,
        model_without_ddp=model_without_ddp, optimizer=optimizer,
        scaler=engine.grad_scaler(amp, device.type), dataset=dataset, num_workers=num_workers,
        global_batch=global_batch, lr=lr, steps_per_epoch=steps_per_epoch,
        total_steps=config.epochs * steps_per_epoch,
    )


# ---- resume ---------------------------------------------------------------------------


def resume(trainer: Trainer, path: str) -> int:
    """Load the checkpoint at ``path`` into the trainer; returns the step to continue at.
    The whole file is checked before anything is changed: a checkpoint of another run,
    of the wrong structure or corrupt is a one-line ReproError naming the file."""
    ckpt = checkpoint.load(path)
    start_step = _check_checkpoint(ckpt, trainer, path)
    try:
        trainer.model_without_ddp.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:
            trainer.optimizer.load_state_dict(ckpt["optimizer"])
        if _scaler_state(ckpt, trainer, path):
            trainer.scaler.load_state_dict(ckpt["scaler"])
        if "rng" in ckpt:
            checkpoint.set_rng_state(ckpt["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:  # not foreseen
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ReproError(f"{path}: does not fit this run: {first}") from e
    return start_step


def _check_checkpoint(ckpt: Dict[str, Any], trainer: Trainer, path: str) -> int:
    """ReproError unless ``ckpt`` continues this run; returns its step."""
    if "model" not in ckpt:
        raise ReproError(f"{path}: not a training checkpoint (it has no 'model')")
    fmt = ckpt.get("format", checkpoint.FORMAT)
    if not isinstance(fmt, str) or fmt != checkpoint.FORMAT:
        raise ReproError(f"{path}: format {_shown(fmt)} is not {checkpoint.FORMAT}")
    saved = ckpt.get("args")
    if isinstance(saved, argparse.Namespace):  # written by the published main_pretrain.py
        saved = vars(saved)
    if saved is None:
        saved = {}
    if not isinstance(saved, dict):
        raise ReproError(f"{path}: 'args' is a {type(saved).__name__}, expected a dict")
    _check_resume(saved, trainer.config, trainer.global_batch, path)
    start_step = _start_step(ckpt, trainer, path)
    checkpoint.check_like(trainer.model_without_ddp.state_dict(), ckpt["model"],
                          f"{path}: model")
    if "optimizer" in ckpt:
        _check_optimizer(trainer.optimizer, ckpt["optimizer"], f"{path}: optimizer")
    if _scaler_state(ckpt, trainer, path):
        checkpoint.check_like(trainer.scaler.state_dict(), ckpt["scaler"], f"{path}: scaler")
    if "rng" in ckpt:
        checkpoint.check_rng_state(ckpt["rng"], f"{path}: rng")
    return start_step


def _check_resume(saved: Dict[str, Any], config: PretrainConfig, global_batch: int,
                  path: str) -> None:
    for name in _RESUME_MUST_MATCH:
        if name in saved and _differs(saved[name], getattr(config, name)):
            raise ReproError(
                f"{path}: checkpoint has --{name} {_shown(saved[name])}, "
                f"this run {getattr(config, name)}"
            )
    if "global_batch" in saved and _differs(saved["global_batch"], global_batch):
        raise ReproError(
            f"{path}: checkpoint was trained with an effective batch of "
            f"{_shown(saved['global_batch'])}, this run has {global_batch} "
            "(batch_size x accum_iter x processes must match to resume)"
        )


_PLAIN = (bool, int, float, str, type(None))


def _differs(saved: Any, value: Any) -> bool:
    return not isinstance(saved, _PLAIN) or saved != value


def _shown(value: Any) -> str:
    """A saved value in one short line (files may hold anything)."""
    if not isinstance(value, _PLAIN):
        return f"a {type(value).__name__}"
    text = str(value)
    return text if len(text) <= 60 and text.isprintable() else repr(text)[:60] + "..."


def _start_step(ckpt: Dict[str, Any], trainer: Trainer, path: str) -> int:
    def count(name: str) -> int:
        value = ckpt[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ReproError(f"{path}: '{name}' must be a whole number >= 0, got "
                             f"{_shown(value)}")
        return value

    if "step" in ckpt:
        step = count("step")
    elif "epoch" in ckpt:  # a published checkpoint has only the finished epoch
        step = (count("epoch") + 1) * trainer.steps_per_epoch
    else:
        raise ReproError(f"{path}: has neither 'step' nor 'epoch'")
    if step > trainer.total_steps:
        raise ReproError(f"{path}: is at step {step}, past the {trainer.total_steps} steps "
                         "of this run")
    return step


def _scaler_state(ckpt: Dict[str, Any], trainer: Trainer, path: str) -> bool:
    """Does the checkpoint hold a loss-scaler state this run uses? (A published or
    repro-mae checkpoint without fp16 has none or an empty one.)"""
    saved = ckpt.get("scaler")
    if saved is None:
        return False
    if not isinstance(saved, dict):
        raise ReproError(f"{path}: scaler is a {type(saved).__name__}, expected a dict")
    return bool(saved) and bool(trainer.scaler.state_dict())


def _check_optimizer(optimizer: torch.optim.Optimizer, saved: Any, where: str) -> None:
    """What ``optimizer.load_state_dict`` and the following steps need: as many groups
    and parameters, hyper-parameters of the right types, per-parameter state of the
    parameter's shape with the entries this optimizer keeps."""
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list) \
            or not isinstance(saved.get("state"), dict):
        raise ReproError(f"{where}: expected a dict with 'state' and 'param_groups'")
    groups = optimizer.state_dict()["param_groups"]
    if len(saved["param_groups"]) != len(groups):
        raise ReproError(f"{where}: {len(saved['param_groups'])} parameter groups, "
                         f"this run has {len(groups)}")
    params: Dict[Any, torch.Tensor] = {}
    for i, (ref, got) in enumerate(zip(groups, saved["param_groups"])):
        at = f"{where}['param_groups'][{i}]"
        if not isinstance(got, dict) or not isinstance(got.get("params"), list):
            raise ReproError(f"{at}: expected a dict with 'params'")
        checkpoint.check_like(ref["params"], got["params"], f"{at}['params']")
        for key in ref:
            if key != "params" and key in got:
                checkpoint.check_like(ref[key], got[key], f"{at}[{key!r}]")
        params.update(zip(got["params"], optimizer.param_groups[i]["params"]))
    entry = _state_entry(optimizer)
    for pid, state in saved["state"].items():
        at = f"{where}['state'][{pid!r}]"
        if pid not in params:
            raise ReproError(f"{at}: no such parameter")
        if not isinstance(state, dict) or set(state) != set(entry):
            raise ReproError(f"{at}: expected a dict of {', '.join(sorted(entry))}")
        for key, param_shaped in entry.items():
            value, at_key = state[key], f"{at}[{key!r}]"
            if param_shaped:
                checkpoint.check_like(params[pid].detach(), value, at_key)
            elif not _is_number(value):
                raise ReproError(f"{at_key}: expected a number")


def _is_number(value: Any) -> bool:
    """A plain number or a one-element numeric tensor (not a bool)."""
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and value.dtype != torch.bool and not value.is_complex()
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _state_entry(optimizer: torch.optim.Optimizer) -> Dict[str, bool]:
    """The per-parameter state this optimizer type keeps: name -> parameter-shaped?
    (found by one step of a throwaway copy on a 2-element parameter)."""
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.zeros(2)
    probe = type(optimizer)([p], lr=optimizer.defaults["lr"])
    probe.param_groups[0].update(optimizer.defaults)  # amsgrad etc. decide the entries
    probe.step()
    return {k: isinstance(v, torch.Tensor) and v.dim() > 0
            for k, v in probe.state_dict()["state"][0].items()}


# ---- the loop ---------------------------------------------------------------------------


def _rewrite_log(path: str, keep_until_step: int) -> None:
    """Drop log lines of steps after the checkpoint (a killed run may have logged them)."""
    check_destination(path)  # never read from a FIFO or write over a device
    kept = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    if json.loads(line)["step"] <= keep_until_step:
                        kept.append(line if line.endswith("\n") else line + "\n")
                except (ValueError, KeyError, TypeError):
                    break  # a torn last line
    atomic_write(path, "".join(kept).encode("utf-8"))


def _prepare_output_dir(trainer: Trainer, log_path: str, ckpt_path: str,
                        resumed_at: Optional[int]) -> None:
    """Create the output folder, delete temp files a killed run left, cut the log."""
    out = trainer.config.output_dir
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ReproError(f"--output_dir {out}: cannot create it: {e.strerror}") from e
    check_destination(ckpt_path)
    for tmp in remove_stale_temps(ckpt_path) + remove_stale_temps(log_path):
        print(f"repro-mae: removed {tmp} (left by a killed run)", flush=True)
    _rewrite_log(log_path, resumed_at or 0)


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


def loop(trainer: Trainer, start_step: int = 0) -> PretrainResult:
    """Train from ``start_step`` to ``--steps`` (or the end of ``--epochs``), logging each
    step and checkpointing every ``--save_every`` steps and at the end."""
    config, device = trainer.config, trainer.device
    stop_step = trainer.total_steps if config.steps is None else min(trainer.total_steps,
                                                                      config.steps)
    if config.dry_run:
        stop_step = min(start_step + 1, trainer.total_steps)
    save_every = config.save_every or trainer.steps_per_epoch
    sampler = data.StepBatchSampler(len(trainer.dataset), config.batch_size, config.accum_iter,
                                    trainer.rank, trainer.world_size, config.seed, start_step,
                                    stop_step)
    loader = torch.utils.data.DataLoader(
        trainer.dataset, batch_sampler=sampler, num_workers=trainer.num_workers,
        pin_memory=config.pin_mem and device.type == "cuda",
    )
    log_path = os.path.join(config.output_dir, LOG_NAME)
    ckpt_path = os.path.join(config.output_dir, CHECKPOINT_NAME)
    writes = trainer.main_proc and not config.dry_run
    if trainer.main_proc:
        print(f"repro-mae: {config.model} on {device} x{trainer.world_size}, effective batch "
              f"{trainer.global_batch}, lr {trainer.lr:.3e}, amp {trainer.amp}, steps "
              f"{start_step}->{stop_step} of {trainer.total_steps} "
              f"({trainer.steps_per_epoch}/epoch)", flush=True)
    if writes:
        _prepare_output_dir(trainer, log_path, ckpt_path, start_step if config.resume else None)

    model = trainer.model
    model.train(True)
    progress = _Progress(stop_step, trainer.main_proc)
    batches = iter(loader)
    losses: List[float] = []
    for step in range(start_step, stop_step):
        t0 = time.perf_counter()
        epoch, s = divmod(step, trainer.steps_per_epoch)
        lr = engine.lr_at(epoch + s / trainer.steps_per_epoch, trainer.lr, config.min_lr,
                          config.warmup_epochs, config.epochs)
        engine.set_lr(trainer.optimizer, lr)
        micro = []
        for _ in range(config.accum_iter):
            imgs, noise = next(batches)
            nb = device.type == "cuda"
            micro.append((imgs.to(device, non_blocking=nb), noise.to(device, non_blocking=nb)))
        loss = engine.train_step(model, micro, trainer.optimizer, trainer.scaler, trainer.amp,
                                 config.mask_ratio)
        if trainer.distributed:
            dist.all_reduce(loss, op=dist.ReduceOp.SUM)
            trainer.reduced = loss  # held until the group is gone (see _leave_group)
            loss = loss / trainer.world_size
        loss_value = loss.item()  # also synchronises the device before timing
        losses.append(loss_value)
        rec = {"step": step + 1, "epoch": epoch, "loss": loss_value, "lr": lr,
               "imgs_per_s": trainer.global_batch / (time.perf_counter() - t0)}
        progress.update(rec)
        if config.dry_run:
            if trainer.main_proc:
                print(f"dry run: step {step + 1} loss {loss_value:.6f}", flush=True)
            return PretrainResult(tuple(losses), start_step, step + 1, None, None)
        if trainer.main_proc:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
            if (step + 1) % save_every == 0 or step + 1 == stop_step:
                _save(trainer, ckpt_path, step + 1)
    if trainer.main_proc:
        final = f"{losses[-1]:.6f}" if losses else "n/a"
        print(f"done: {stop_step} steps, last loss {final}, checkpoint {ckpt_path}", flush=True)
    return PretrainResult(tuple(losses), start_step, stop_step,
                          log_path if writes else None, ckpt_path if writes else None)


def _save(trainer: Trainer, path: str, step: int) -> None:
    checkpoint.save(path, {
        "format": checkpoint.FORMAT,
        "model": trainer.model_without_ddp.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scaler": trainer.scaler.state_dict(),
        "epoch": (step - 1) // trainer.steps_per_epoch,  # of the last step, as published
        "step": step,
        "args": trainer.saved_args(),
        "rng": checkpoint.rng_state(),
    })
