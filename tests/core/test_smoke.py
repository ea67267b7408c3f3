import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro_core.errors import ReproError
from repro_core.smoke import SmokePlan, documented, infer

ROOT = Path(__file__).resolve().parents[2]
REPOS = ROOT / "tests" / "data" / "repos"


def _write(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _imports(plan: SmokePlan):
    assert plan.kind == "import" and plan.argv[:2] == ("python", "-c")
    listed = plan.argv[2].split("for name in ", 1)[1].split(":\n", 1)[0]
    return json.loads(listed.replace("'", '"'))


def test_legacy_vit_readme_command_with_fewest_steps():
    plan = infer(str(ROOT / "examples" / "legacy-vit"))
    # README.md line 50: "python train.py --steps 20 --batch-size 8 --device cpu" (20 steps,
    # fewer than the 200 and 1000 of the GPU commands); --steps lowered to 1
    assert plan.argv == ("python", "train.py", "--steps", "1", "--batch-size", "8",
                         "--device", "cpu")
    assert (plan.kind, plan.cwd, plan.source, plan.env) == ("readme", ".", "README.md:50", ())
    assert "--steps lowered to 1" in plan.why
    # build_model(args) needs an argument: no factory fallback, only the import one
    assert [f.kind for f in plan.fallbacks] == ["import"]
    assert _imports(plan.fallbacks[0]) == ["train", "vit", "vit.data", "vit.loss", "vit.model",
                                           "vit.utils"]


def test_fixture_repos():
    conflict = infer(str(REPOS / "conflict"))  # README.md:7 "Then run `python gan.py`."
    assert (conflict.argv, conflict.source) == (("python", "gan.py"), "README.md:7")
    assert _imports(conflict.fallbacks[0]) == ["gan"]
    # MAE's documented scripts (submitit_pretrain.py, main_finetune.py) are not in the fixture
    mae = infer(str(REPOS / "mae_layout"))
    assert mae.fallbacks == ()
    assert _imports(mae) == ["engine_pretrain", "main_pretrain", "models_mae", "util.lr_sched",
                             "util.misc", "util.pos_embed"]
    # legacy2018's README only builds (cd lib && sh make.sh): no python command
    assert _imports(infer(str(REPOS / "legacy2018"))) == ["lib", "lib.build", "lib.roi_pool",
                                                         "train"]
    # setup.py is never imported (it would build/install)
    assert _imports(infer(str(REPOS / "style2021"))) == ["models", "utils.pos"]


def test_launcher_env_cd_and_step_flags(tmp_path):
    _write(tmp_path, {
        "tools/train_net.py": "", "main.py": "", "demo.py": "",
        "README.md": "\n".join([
            "```",
            "OMP_NUM_THREADS=1 python -m torch.distributed.launch --nproc_per_node 8 "
            "main.py --epochs=300 --batch_size 64",                        # line 2
            "cd tools && python train_net.py --config x.yaml SOLVER.MAX_ITER 90000",  # 3
            "python missing_train.py --epochs 1",                          # 4: no such file
            "python demo.py --iters 1",                                    # 5: not training
            "torchrun --nproc_per_node=2 main.py \\",                     # 6-7
            "    --max-iter 50",
            "```"]),
    })
    plan = infer(str(tmp_path))
    assert plan.argv == ("python", "main.py", "--max-iter", "1")
    assert (plan.source, plan.cwd) == ("README.md:6", ".")
    assert "launcher left out" in plan.why
    # ranking: 50 < 300 < 90000 steps among training scripts; demo.py is not a training
    # script and missing_train.py does not exist
    ranked = documented(str(tmp_path))
    assert [(p.source, p.cwd, p.argv, p.env) for p in ranked] == [
        ("README.md:6", ".", ("python", "main.py", "--max-iter", "1"), ()),
        ("README.md:2", ".", ("python", "main.py", "--epochs=1", "--batch_size", "64"),
         (("OMP_NUM_THREADS", "1"),)),
        ("README.md:3", "tools", ("python", "train_net.py", "--config", "x.yaml",
                                  "SOLVER.MAX_ITER", "1"), ()),
        ("README.md:5", ".", ("python", "demo.py", "--iters", "1"), ()),
    ]


def test_factory_fallback(tmp_path):
    _write(tmp_path, {
        "models/__init__.py": "",
        "models/net.py": "def build_model(depth=2, *, width=8):\n    return depth\n",
        "other.py": "def create_model(cfg):\n    return cfg\n",   # needs an argument
        "tests/test_x.py": "", "docs/conf.py": "",
    })
    plan = infer(str(tmp_path))
    assert (plan.kind, plan.source) == ("build_model", "models/net.py:1")
    assert plan.argv == ("python", "-c",
                         "import models.net as m; print(type(m.build_model()).__name__)")
    assert _imports(plan.fallbacks[0]) == ["models", "models.net", "other"]


def test_import_all_runs_and_reports_each_failure(tmp_path):
    _write(tmp_path, {"good.py": "X = 1\n", "pkg/__init__.py": "",
                      "pkg/bad.py": "import no_such_module_xyz\n"})
    plan = infer(str(tmp_path))
    assert _imports(plan) == ["good", "pkg", "pkg.bad"]
    r = subprocess.run([sys.executable] + list(plan.argv[1:]), cwd=tmp_path / plan.cwd,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=""))
    assert r.returncode == 1
    assert "import failed: pkg.bad" in r.stderr
    assert "No module named 'no_such_module_xyz'" in r.stderr
    assert "import failed: good" not in r.stderr
    os.remove(tmp_path / "pkg" / "bad.py")
    r = subprocess.run([sys.executable] + list(infer(str(tmp_path)).argv[1:]), cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")


def test_json_round_trip_and_errors(tmp_path):
    plan = infer(str(ROOT / "examples" / "legacy-vit"))
    assert SmokePlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    env = SmokePlan(("python", "a.py"), "sub", "readme", "README.md:3", "w",
                    (("A", "1"), ("B", "2")))
    assert SmokePlan.from_json(env.to_json()) == env
    with pytest.raises(ReproError, match="kind 'bogus'"):
        SmokePlan.from_json(dict(plan.to_json(), kind="bogus"))
    with pytest.raises(ReproError, match="argv"):
        SmokePlan.from_json({"kind": "import"})
    with pytest.raises(ReproError, match="not a directory"):
        infer(str(tmp_path / "nope"))


def test_nested_readme_runs_from_its_folder_or_the_root(tmp_path):
    _write(tmp_path, {
        "tools/train.py": "", "main_train.py": "",
        "docs/README.md": "`python main_train.py --epochs 5`\n",    # only at the root
        "tools/README.md": "`python train.py --epochs 9`\n",        # next to the README
    })
    assert [(p.source, p.cwd, p.argv) for p in documented(str(tmp_path))] == [
        ("docs/README.md:1", ".", ("python", "main_train.py", "--epochs", "1")),
        ("tools/README.md:1", "tools", ("python", "train.py", "--epochs", "1")),
    ]
