"""repro_mae.pretrain from Python: PretrainConfig -> pretrain() -> PretrainResult, the same
run as the CLI; no work at import time; data-loader workers fit the machine."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from repro_core.errors import ReproError
from repro_mae import cli, pretrain
from repro_mae.pretrain import PretrainConfig, PretrainResult

FLAGS = ["--synthetic", "--synthetic_size", "32", "--model", "mae_vit_tiny_patch16",
         "--input_size", "32", "--epochs", "2", "--warmup_epochs", "1", "--blr", "1e-2",
         "--num_workers", "0", "--seed", "5", "--batch_size", "8", "--steps", "3"]
CONFIG = dict(synthetic=True, synthetic_size=32, model="mae_vit_tiny_patch16", input_size=32,
              epochs=2, warmup_epochs=1, blr=1e-2, num_workers=0, seed=5, batch_size=8,
              steps=3)


def _logged(path):
    with open(path) as f:
        return [json.loads(line)["loss"] for line in f]


def test_python_run_equals_the_cli_run(tmp_path):
    assert cli.main(["pretrain", *FLAGS, "--output_dir", str(tmp_path / "cli")]) == 0
    config = PretrainConfig(output_dir=str(tmp_path / "py"), **CONFIG)
    result = pretrain.pretrain(config)
    assert isinstance(result, PretrainResult)
    assert list(result.losses) == _logged(tmp_path / "cli" / "log.jsonl")  # exactly
    assert len(result.losses) == 3 and (result.start_step, result.stop_step) == (0, 3)
    assert result.log_path == os.path.join(str(tmp_path / "py"), "log.jsonl")
    assert _logged(result.log_path) == list(result.losses)
    assert os.path.isfile(result.checkpoint_path)
    assert PretrainResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_config_is_the_flags(tmp_path):
    parsed = cli.main_parser().parse_args(["pretrain", *FLAGS, "--output_dir", "o"])
    config = PretrainConfig.from_args(parsed)
    assert config == PretrainConfig(output_dir="o", **CONFIG)
    assert PretrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    # defaults of the flags are the config's (the published main_pretrain.py ones)
    bare = PretrainConfig.from_args(cli.main_parser().parse_args(["pretrain"]))
    assert bare == PretrainConfig()
    assert (bare.batch_size, bare.epochs, bare.blr, bare.warmup_epochs) == (64, 400, 1e-3, 40)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 4


def test_bad_config_values_are_repro_errors():
    with pytest.raises(ReproError, match="--batch_size must be >= 1, got 0"):
        PretrainConfig(batch_size=0)
    with pytest.raises(ReproError, match=r"--mask_ratio must be in \[0, 1\)"):
        PretrainConfig(mask_ratio=1.0)
    with pytest.raises(ReproError, match="--model mae_vit_nope"):
        PretrainConfig(model="mae_vit_nope")
    with pytest.raises(ReproError, match="unknown field"):
        PretrainConfig.from_json({"batch_sizes": 8})


def test_default_workers_are_the_cpus_available(monkeypatch, tmp_path):
    """10 workers on a 2-core machine made DataLoader warn; default to what there is."""
    assert cli.main_parser().parse_args(["pretrain"]).num_workers is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert pretrain.default_num_workers() == 2
    config = PretrainConfig(output_dir=str(tmp_path), **dict(CONFIG, num_workers=None))
    trainer = pretrain.setup(config)
    assert trainer.num_workers == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert pretrain.default_num_workers() == 10  # the published default at most
    assert pretrain.setup(PretrainConfig(**dict(CONFIG, num_workers=3))).num_workers == 3


def test_importing_repro_mae_does_no_work():
    """`import repro_mae.checkpoint` used to save and load a tensor to probe weights_only."""
    code = (
        "import functools, torch\n"
        "calls = []\n"
        "def spy(name, f):\n"
        "    @functools.wraps(f)\n"
        "    def wrapper(*a, **k):\n"
        "        calls.append(name)\n"
        "        return f(*a, **k)\n"
        "    return wrapper\n"
        "torch.save, torch.load = spy('save', torch.save), spy('load', torch.load)\n"
        "import repro_mae.checkpoint, repro_mae.pretrain, repro_mae.convert, repro_mae.cli\n"
        "assert calls == [], calls\n"
        "from repro_mae import checkpoint\n"
        "assert checkpoint.HAS_WEIGHTS_ONLY in (True, False)\n"
        "assert checkpoint.has_weights_only.cache_info().misses == 1  # on first use, once\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
