"""The pre-training engine: layout independence, DDP, resume, schedule, bad input."""

import argparse
import json
import math
import os
import socket
import subprocess
import sys

import pytest
import torch

from repro_mae import checkpoint, cli, data, engine
from repro_mae.models import mae_vit_tiny_patch16

COMMON = ["pretrain", "--synthetic", "--synthetic_size", "64", "--model",
          "mae_vit_tiny_patch16", "--input_size", "32", "--epochs", "2",
          "--warmup_epochs", "1", "--blr", "1e-2", "--num_workers", "0", "--seed", "3"]


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    rc = cli.main(COMMON + ["--output_dir", str(out)] + list(extra))
    assert rc == 0
    return out


def _losses(out):
    with open(out / "log.jsonl") as f:
        recs = [json.loads(line) for line in f]
    assert [r["step"] for r in recs] == list(range(1, len(recs) + 1))
    return [r["loss"] for r in recs]


def test_log_lines_have_the_contract_keys(tmp_path):
    out = _run(tmp_path, "a", "--batch_size", "8", "--steps", "2")
    with open(out / "log.jsonl") as f:
        rec = json.loads(f.readline())
    assert set(rec) == {"step", "epoch", "loss", "lr", "imgs_per_s"}
    assert rec["step"] == 1 and rec["epoch"] == 0 and rec["lr"] == 0.0  # warmup starts at 0
    assert (out / "checkpoint.pth").exists()


def test_batch_split_into_accumulation_gives_the_same_losses(tmp_path):
    a = _losses(_run(tmp_path, "b8", "--batch_size", "8", "--steps", "4"))
    b = _losses(_run(tmp_path, "b4x2", "--batch_size", "4", "--accum_iter", "2",
                     "--steps", "4", "--num_workers", "1"))
    assert len(a) == len(b) == 4
    assert b == pytest.approx(a, rel=1e-5)
    assert len(set(a)) == 4  # the steps really differ


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_gloo_processes_equal_single_process_accumulation(tmp_path):
    single = _losses(_run(tmp_path, "single", "--batch_size", "4", "--accum_iter", "2",
                          "--steps", "4"))
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
           "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "repro_mae.cli",
           *COMMON, "--batch_size", "4", "--steps", "4", "--device", "cpu",
           "--output_dir", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = _losses(out)
    assert ddp == pytest.approx(single, rel=1e-5)
    # rank 0 alone wrote the checkpoint, and it holds the same weights as the 1-process run
    # (to well under one lr step: Adam amplifies rounding where the true gradient is 0,
    # e.g. the attention key biases)
    a = torch.load(str(out / "checkpoint.pth"), map_location="cpu")["model"]
    b = torch.load(str(tmp_path / "single" / "checkpoint.pth"), map_location="cpu")["model"]
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5), k


def test_resume_after_stop_continues_with_the_uninterrupted_losses(tmp_path):
    full = _losses(_run(tmp_path, "full", "--batch_size", "8", "--steps", "6",
                        "--save_every", "3"))
    part = _run(tmp_path, "part", "--batch_size", "8", "--steps", "3", "--save_every", "3")
    # a kill after step 3's checkpoint may leave later (and torn) log lines behind
    with open(part / "log.jsonl", "a") as f:
        f.write(json.dumps({"step": 4, "epoch": 0, "loss": 9.0, "lr": 0, "imgs_per_s": 1})
                + "\n{\"step\": 5, \"lo")
    _run(tmp_path, "part", "--batch_size", "8", "--steps", "6", "--save_every", "3",
         "--resume", str(part / "checkpoint.pth"))
    assert _losses(part) == full  # exactly: same process layout, same ops
    ckpt = torch.load(str(part / "checkpoint.pth"), map_location="cpu")
    assert ckpt["step"] == 6 and ckpt["epoch"] == 0
    assert {"model", "optimizer", "scaler", "args", "rng", "epoch", "step"} <= set(ckpt)


def test_resume_refuses_a_different_effective_batch(tmp_path, capsys):
    part = _run(tmp_path, "p", "--batch_size", "8", "--steps", "1")
    rc = cli.main(COMMON + ["--batch_size", "4", "--steps", "2", "--output_dir", str(part),
                            "--resume", str(part / "checkpoint.pth")])
    assert rc == 2
    assert "effective batch of 8" in capsys.readouterr().err


def test_truncated_checkpoint_is_a_clear_error(tmp_path, capsys):
    part = _run(tmp_path, "p", "--batch_size", "8", "--steps", "1")
    bad = tmp_path / "bad.pth"
    bad.write_bytes((part / "checkpoint.pth").read_bytes()[:5000])
    rc = cli.main(COMMON + ["--batch_size", "8", "--output_dir", str(tmp_path / "q"),
                            "--resume", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and str(bad) in err and "not a readable checkpoint" in err
    assert len(err.strip().splitlines()) == 1


def test_dry_run_does_one_step_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "dry"
    assert cli.main(COMMON + ["--batch_size", "8", "--dry_run", "--output_dir", str(out)]) == 0
    assert "dry run: step 1 loss" in capsys.readouterr().out
    assert not out.exists()


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    assert cli.main(COMMON[:1] + ["--model", "mae_vit_tiny_patch16", "--output_dir",
                                  str(tmp_path)]) == 2
    assert "--data_path" in capsys.readouterr().err
    assert cli.main(COMMON + ["--batch_size", "128", "--output_dir", str(tmp_path)]) == 2
    assert "fewer than one effective batch" in capsys.readouterr().err
    assert cli.main(COMMON + ["--amp", "fp16", "--device", "cpu",
                              "--output_dir", str(tmp_path)]) == 2
    assert "needs a CUDA device" in capsys.readouterr().err


def test_lr_schedule_is_the_published_half_cycle_cosine():
    lr, warm, total = 1e-3, 4, 10
    assert engine.lr_at(0, lr, 0.0, warm, total) == 0.0
    assert engine.lr_at(2, lr, 0.0, warm, total) == pytest.approx(0.5e-3)
    assert engine.lr_at(4, lr, 0.0, warm, total) == pytest.approx(1e-3)
    assert engine.lr_at(7, lr, 0.0, warm, total) == pytest.approx(0.5e-3)  # half way: cos=0
    assert engine.lr_at(8.5, lr, 1e-5, warm, total) == pytest.approx(
        1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * 0.75)))


def test_weight_decay_groups_follow_timm_add_weight_decay():
    model = mae_vit_tiny_patch16(img_size=32)
    no_decay, decay = engine.param_groups(model, 0.05)
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 0.05
    names = {id(p): n for n, p in model.named_parameters()}
    nd = {names[id(p)] for p in no_decay["params"]}
    d = {names[id(p)] for p in decay["params"]}
    assert "blocks.0.norm1.weight" in nd and "decoder_pred.bias" in nd
    assert {"cls_token", "mask_token", "blocks.0.attn.qkv.weight"} <= d  # 3-D/2-D: decayed
    assert "pos_embed" not in nd | d  # frozen
    assert len(nd) + len(d) == sum(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("world,accum", [(1, 1), (1, 4), (2, 2), (4, 1)])
def test_sampler_gives_each_step_the_same_samples_for_any_layout(world, accum):
    n, per_step, steps = 50, 8, 12  # 6 steps per epoch: crosses an epoch boundary
    batch = per_step // (world * accum)
    per_rank = [list(data.StepBatchSampler(n, batch, accum, r, world, 7, 2, steps))
                for r in range(world)]
    for step in range(steps - 2):
        keys = sorted(k for r in range(world)
                      for mb in per_rank[r][step * accum:(step + 1) * accum] for k in mb)
        epoch, s = divmod(step + 2, n // per_step)
        order = data.epoch_order(n, 7, epoch).tolist()
        assert keys == sorted((epoch, i) for i in order[s * per_step:(s + 1) * per_step])


def test_sample_randomness_depends_on_seed_epoch_index_only():
    ds = data.PretrainData(data.SyntheticImages(4, 32, seed=1), data.flip_transform, 4, seed=1)
    img_a, noise_a = ds[(0, 2)]
    torch.rand(5)  # global RNG state must not matter
    img_b, noise_b = ds[(0, 2)]
    assert torch.equal(img_a, img_b) and torch.equal(noise_a, noise_b)
    assert not torch.equal(ds[(1, 2)][1], noise_a)  # new epoch: new mask
    assert not torch.equal(ds[(0, 3)][1], noise_a)


# Per-step losses of this run on torch 2.14 (1 process) and torch 1.10 (2 gloo processes,
# batch 4 each) agree to 2e-7; any torch/timm version must reproduce them.
GOLDEN_RUN = ["pretrain", "--synthetic", "--model", "mae_vit_tiny_patch16", "--steps", "3",
              "--batch_size", "8", "--input_size", "32", "--synthetic_size", "64",
              "--num_workers", "0"]
GOLDEN_LOSSES = [0.7858191, 0.7713187, 0.8752860]


def test_per_step_losses_are_the_same_on_every_torch_version(tmp_path):
    out = tmp_path / "golden"
    assert cli.main(GOLDEN_RUN + ["--output_dir", str(out)]) == 0
    assert _losses(out) == pytest.approx(GOLDEN_LOSSES, rel=1e-5)


@pytest.mark.skipif(checkpoint.HAS_WEIGHTS_ONLY
                    and not hasattr(torch.serialization, "safe_globals"),
                    reason="torch 1.13-2.4: weights_only cannot read argparse.Namespace")
def test_resume_from_a_published_main_pretrain_checkpoint(tmp_path):
    """The published format has no step or RNG state: resume at the next epoch's start."""
    full = _losses(_run(tmp_path, "full", "--batch_size", "8", "--steps", "10"))
    ours = _run(tmp_path, "ours", "--batch_size", "8", "--steps", "8")  # 8 steps = epoch 0
    ckpt = torch.load(str(ours / "checkpoint.pth"), map_location="cpu")
    args = argparse.Namespace(**{k: v for k, v in ckpt["args"].items() if k != "global_batch"})
    published = {"model": ckpt["model"], "optimizer": ckpt["optimizer"],
                 "scaler": ckpt["scaler"], "epoch": 0, "args": args}
    torch.save(published, str(tmp_path / "checkpoint-0.pth"))
    out = _run(tmp_path, "ours", "--batch_size", "8", "--steps", "10",
               "--resume", str(tmp_path / "checkpoint-0.pth"))
    assert _losses(out) == full


def test_imagefolder_data_path_trains_and_augments_per_sample(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pytest.importorskip("torchvision")
    g = torch.Generator().manual_seed(0)
    for cls in ("a", "b"):
        (tmp_path / "data" / "train" / cls).mkdir(parents=True)
        for i in range(8):
            arr = (torch.rand(40, 48, 3, generator=g) * 255).to(torch.uint8).numpy()
            Image.fromarray(arr).save(tmp_path / "data" / "train" / cls / f"{i}.png")
    images, transform = data.imagefolder(str(tmp_path / "data"), 32)
    ds = data.PretrainData(images, transform, 4, seed=0)
    img, noise = ds[(1, 5)]
    assert img.shape == (3, 32, 32) and noise.shape == (4,)
    assert torch.equal(ds[(1, 5)][0], img)  # crop/flip from (seed, epoch, index)
    assert not torch.equal(ds[(2, 5)][0], img)
    rc = cli.main(["pretrain", "--data_path", str(tmp_path / "data"), "--model",
                   "mae_vit_tiny_patch16", "--input_size", "32", "--batch_size", "8",
                   "--steps", "2", "--num_workers", "0", "--output_dir", str(tmp_path / "o")])
    assert rc == 0 and len(_losses(tmp_path / "o")) == 2


def test_bf16_autocast_step_is_close_to_fp32(tmp_path, capsys):
    losses = {}
    for amp in ("off", "bf16"):
        assert cli.main(COMMON + ["--batch_size", "8", "--dry_run", "--amp", amp,
                                  "--output_dir", str(tmp_path / amp)]) == 0
        out = capsys.readouterr().out
        assert f"amp {amp}" in out
        losses[amp] = float(out.split("loss ")[-1])
    assert losses["bf16"] == pytest.approx(losses["off"], rel=2e-2)
