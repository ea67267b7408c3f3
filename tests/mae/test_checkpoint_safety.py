"""Hostile and damaged checkpoints (issue 14): each is refused with one line naming the
file and exit 2, before anything is changed; killed saves leave nothing behind."""

import json
import os
import subprocess
import sys

import pytest
import torch

from repro_mae import checkpoint, cli

RUN = ["pretrain", "--synthetic", "--synthetic_size", "16", "--model", "mae_vit_tiny_patch16",
       "--input_size", "32", "--epochs", "2", "--warmup_epochs", "1", "--num_workers", "0",
       "--batch_size", "8", "--seed", "1"]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A real checkpoint after one step, and its content."""
    out = tmp_path_factory.mktemp("good")
    assert cli.main(RUN + ["--steps", "1", "--output_dir", str(out)]) == 0
    path = out / "checkpoint.pth"
    return path, torch.load(str(path), map_location="cpu")


def _resume(path, out, capsys):
    capsys.readouterr()
    rc = cli.main(RUN + ["--steps", "2", "--output_dir", str(out), "--resume", str(path)])
    return rc, capsys.readouterr().err


def _refused(path, out, capsys, *needles):
    rc, err = _resume(path, out, capsys)
    assert rc == 2, err
    assert err.startswith(f"repro-mae: error: {path}") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def _copy(obj):
    """Copy the containers (not the tensors) so a case can change one field."""
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj


def _case_empty(c):
    c.clear()


def _case_model_missing(c):
    del c["model"]["blocks.0.norm1.weight"]


def _case_model_extra(c):
    c["model"]["head.weight"] = torch.zeros(3)


def _case_model_shape(c):
    c["model"]["blocks.0.attn.qkv.weight"] = torch.zeros(10, 4)


def _case_model_not_dict(c):
    c["model"] = torch.zeros(3)


def _case_rng_torch_size(c):
    c["rng"]["torch"] = c["rng"]["torch"][:100]


def _case_rng_numpy_size(c):
    c["rng"]["numpy"][1] = c["rng"]["numpy"][1][:5]


def _case_rng_python_values(c):
    c["rng"]["python"][1][-1] = 10_000  # the position: at most 624


def _case_rng_missing(c):
    del c["rng"]["python"]


def _case_step_negative(c):
    c["step"] = -3


def _case_step_string(c):
    c["step"] = "3"


def _case_step_past_the_end(c):
    c["step"] = 10 ** 6


def _case_no_step_no_epoch(c):
    del c["step"], c["epoch"]


def _case_args_string(c):
    c["args"] = "str"


def _case_args_tensor_value(c):
    c["args"]["global_batch"] = torch.arange(4)


def _case_optimizer_state_shape(c):
    c["optimizer"]["state"][0]["exp_avg"] = torch.zeros(7)


def _case_optimizer_groups(c):
    c["optimizer"]["param_groups"] = c["optimizer"]["param_groups"][:1]


def _case_optimizer_hyperparameter(c):
    c["optimizer"]["param_groups"][0]["betas"] = "fast"


def _case_optimizer_state_entry(c):
    del c["optimizer"]["state"][0]["exp_avg_sq"]


def _case_scaler_string(c):
    c["scaler"] = "x"


def _case_format(c):
    c["format"] = "repro-mae/99"


CASES = {
    "empty": (_case_empty, "no 'model'"),
    "model_missing_key": (_case_model_missing, "lacks 1 key(s): 'blocks.0.norm1.weight'"),
    "model_extra_key": (_case_model_extra, "unexpected key(s): 'head.weight'"),
    "model_shape": (_case_model_shape, "shape (10, 4), this run needs (576, 192)"),
    "model_not_dict": (_case_model_not_dict, "model is a tensor"),
    "rng_torch_size": (_case_rng_torch_size, "rng['torch'] has shape (100,)"),
    "rng_numpy_size": (_case_rng_numpy_size, "rng['numpy'][1] has shape (5,)"),
    "rng_python_values": (_case_rng_python_values, "rng: not a usable RNG state"),
    "rng_missing": (_case_rng_missing, "rng lacks 1 key(s): 'python'"),
    "step_negative": (_case_step_negative, "'step' must be a whole number >= 0, got -3"),
    "step_string": (_case_step_string, "'step' must be a whole number >= 0, got 3"),
    "step_past_the_end": (_case_step_past_the_end, "past the 4 steps"),
    "no_step_no_epoch": (_case_no_step_no_epoch, "neither 'step' nor 'epoch'"),
    "args_string": (_case_args_string, "'args' is a str"),
    "args_tensor_value": (_case_args_tensor_value, "effective batch of a Tensor"),
    "optimizer_state_shape": (_case_optimizer_state_shape, "['state'][0]['exp_avg'] has shape"),
    "optimizer_groups": (_case_optimizer_groups, "1 parameter groups, this run has 2"),
    "optimizer_hyperparameter": (_case_optimizer_hyperparameter, "['betas'] is str"),
    "optimizer_state_entry": (_case_optimizer_state_entry, "expected a dict of"),
    "scaler_string": (_case_scaler_string, "scaler is a str"),
    "format": (_case_format, "format repro-mae/99 is not repro-mae/1"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_structure_is_one_line_exit_2(good, tmp_path, capsys, name):
    path, content = good
    change, needle = CASES[name]
    bad = _copy(content)
    change(bad)
    bad_path = tmp_path / f"{name}.pth"
    torch.save(bad, str(bad_path))  # as another tool would: no or a stale sha256
    if "sha256" in bad:  # keep the digest right: test the structure check
        checkpoint.save(bad_path, bad)
    _refused(bad_path, tmp_path / "out", capsys, needle)
    assert not (tmp_path / "out").exists()  # refused before writing anything


def test_flipped_byte_in_tensor_data_is_caught(good, tmp_path, capsys):
    path, content = good
    raw = bytearray(path.read_bytes())
    weights = content["model"]["blocks.1.mlp.fc1.weight"].numpy().tobytes()
    at = raw.find(weights[:64])
    assert at > 0
    raw[at + 10] ^= 0x01  # one bit of one weight: still a valid file and a valid float
    bad = tmp_path / "flipped.pth"
    bad.write_bytes(bytes(raw))
    assert not torch.equal(torch.load(str(bad))["model"][
        "blocks.1.mlp.fc1.weight"], content["model"]["blocks.1.mlp.fc1.weight"])
    _refused(bad, tmp_path / "out", capsys, "does not match the sha256 saved with it")
    assert cli.main(["convert", str(bad), str(tmp_path / "w.pth")]) == 2
    assert not (tmp_path / "w.pth").exists()


def test_checksum_is_of_the_content_and_checked(good, tmp_path):
    path, content = good
    assert content[checkpoint.DIGEST_KEY] == checkpoint.payload_sha256(
        {k: v for k, v in content.items() if k != checkpoint.DIGEST_KEY})
    loaded = checkpoint.load(path)
    assert checkpoint.DIGEST_KEY not in loaded and loaded.keys() < content.keys()
    # the digest covers values and structure, not only tensor bytes
    assert checkpoint.payload_sha256({"a": 1}) != checkpoint.payload_sha256({"a": 1.0})
    assert checkpoint.payload_sha256({"a": [1, 2]}) != checkpoint.payload_sha256({"a": [12]})
    assert checkpoint.payload_sha256({"t": torch.zeros(2, 3)}) != checkpoint.payload_sha256(
        {"t": torch.zeros(3, 2)})
    edited = dict(content, step=2)
    torch.save(edited, str(tmp_path / "edited.pth"))
    with pytest.raises(Exception, match="does not match the sha256"):
        checkpoint.load(tmp_path / "edited.pth")


def test_checkpoint_without_a_checksum_still_resumes(good, tmp_path, capsys):
    """Files written before the checksum (and published ones) have none: still accepted."""
    path, content = good
    old = tmp_path / "old.pth"
    torch.save({k: v for k, v in content.items() if k != checkpoint.DIGEST_KEY}, str(old))
    rc, err = _resume(old, tmp_path / "out", capsys)
    assert rc == 0, err


def _cli(*args, timeout=240):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "repro_mae.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_fifo_resume_and_fifo_log_do_not_hang(tmp_path):
    fifo = tmp_path / "resume.fifo"
    os.mkfifo(fifo)
    r = _cli(*RUN, "--steps", "1", "--output_dir", str(tmp_path / "o"), "--resume", str(fifo))
    assert r.returncode == 2 and r.stderr == f"repro-mae: error: {fifo}: not a regular file\n"
    out = tmp_path / "o2"
    out.mkdir()
    os.mkfifo(out / "log.jsonl")
    r = _cli(*RUN, "--steps", "1", "--output_dir", str(out))
    assert r.returncode == 2 and "log.jsonl: exists and is a FIFO" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


def test_checkpoint_symlink_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.pth"
    elsewhere.write_bytes(b"not yours")
    (out / "checkpoint.pth").symlink_to(elsewhere)
    assert cli.main(RUN + ["--steps", "1", "--output_dir", str(out)]) == 2
    assert "checkpoint.pth: exists and is a symlink" in capsys.readouterr().err
    assert os.path.islink(out / "checkpoint.pth") and elsewhere.read_bytes() == b"not yours"


def test_stale_temp_files_of_a_killed_save_are_removed(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".checkpoint.pth.k2j4x9.tmp", out / ".log.jsonl.ab_12.tmp"]
    for p in stale:
        p.write_bytes(b"\0" * 4096)  # what SIGKILL during a save leaves
    keep = [out / "notes.tmp", out / ".other.pth.x1.tmp"]
    for p in keep:
        p.write_bytes(b"mine")
    assert cli.main(RUN + ["--steps", "1", "--output_dir", str(out)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not any(p.exists() for p in stale) and all(p.read_bytes() == b"mine" for p in keep)
    assert sorted(os.listdir(out)) == sorted(["checkpoint.pth", "log.jsonl"] +
                                             [p.name for p in keep])
    with open(out / "log.jsonl") as f:
        assert [json.loads(line)["step"] for line in f] == [1]
