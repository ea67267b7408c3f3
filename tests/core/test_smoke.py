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
    # build_model(args) needs an argument: no factory fallback; vit/model.py's TinyViT()
    # builds without arguments: its training step, then the import smoke
    assert [f.kind for f in plan.fallbacks] == ["model_step", "import"]
    assert plan.fallbacks[0].source == "vit/model.py:18"
    assert _imports(plan.fallbacks[1]) == ["train", "vit", "vit.data", "vit.loss", "vit.model",
                                           "vit.utils"]


def test_fixture_repos():
    conflict = infer(str(REPOS / "conflict"))  # README.md:7 "Then run `python gan.py`."
    assert (conflict.argv, conflict.source) == (("python", "gan.py"), "README.md:7")
    assert _imports(conflict.fallbacks[0]) == ["gan"]
    # MAE's documented scripts (submitit_pretrain.py, main_finetune.py) are not in the fixture
    mae = infer(str(REPOS / "mae_layout"))
    assert (mae.kind, mae.source) == ("model_step", "models_mae.py:22")  # mae_vit_base_patch16
    assert _imports(mae.fallbacks[0]) == ["engine_pretrain", "main_pretrain", "models_mae",
                                          "util.lr_sched", "util.misc", "util.pos_embed"]
    # legacy2018's README only builds (cd lib && sh make.sh): no python command
    assert _imports(infer(str(REPOS / "legacy2018"))) == ["lib", "lib.build", "lib.roi_pool",
                                                         "train"]
    # setup.py is never imported (it would build/install)
    style = infer(str(REPOS / "style2021"))  # models.py's Encoder() builds: its step first
    assert (style.kind, style.source) == ("model_step", "models.py:16")
    assert _imports(style.fallbacks[0]) == ["models", "utils.pos"]


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
    # the only single-process command leads: the launchers ask for 8 and 2 processes
    assert plan.argv == ("python", "train_net.py", "--config", "x.yaml", "SOLVER.MAX_ITER",
                         "1")
    assert (plan.source, plan.cwd) == ("README.md:3", "tools")
    # ranking: single-process before multi-GPU launches, then 50 < 300 steps among training
    # scripts; demo.py is not a training script and missing_train.py does not exist
    ranked = documented(str(tmp_path))
    assert [(p.source, p.cwd, p.argv, p.env) for p in ranked] == [
        ("README.md:3", "tools", ("python", "train_net.py", "--config", "x.yaml",
                                  "SOLVER.MAX_ITER", "1"), ()),
        ("README.md:6", ".", ("python", "main.py", "--max-iter", "1"), ()),
        ("README.md:2", ".", ("python", "main.py", "--epochs=1", "--batch_size", "64"),
         (("OMP_NUM_THREADS", "1"),)),
        ("README.md:5", ".", ("python", "demo.py", "--iters", "1"), ()),
    ]
    assert "launcher left out" in ranked[1].why


def test_factory_fallback(tmp_path):
    _write(tmp_path, {
        "models/__init__.py": "",
        "models/net.py": "def build_model(depth=2, *, width=8):\n    return depth\n",
        "other.py": "def create_model(cfg):\n    return cfg\n",   # needs an argument
        "tests/test_x.py": "", "docs/conf.py": "",
    })
    # build_model() is tried as a model first (its step fails at run time: an int), then
    # as the build_model plan
    step = infer(str(tmp_path))
    assert (step.kind, step.source) == ("model_step", "models/net.py:1")
    plan = step.fallbacks[0]
    assert (plan.kind, plan.source) == ("build_model", "models/net.py:1")
    assert plan.argv == ("python", "-c",
                         "import models.net as m; print(type(m.build_model()).__name__)")
    assert _imports(step.fallbacks[1]) == ["models", "models.net", "other"]


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


def test_unrunnable_commands_fall_back_to_import(tmp_path):
    # the shapes of MAE's, DeiT's, DETR's and faster-rcnn's README commands
    _write(tmp_path, {
        "submitit_pretrain.py": "", "main.py": "", "run_with_submitit.py": "",
        "trainval_net.py": "import argparse\np = argparse.ArgumentParser()\n"
                           "p.add_argument('--epochs', default=20)\n",
        "main_pretrain.py": "import argparse\np = argparse.ArgumentParser()\n"
                            "p.add_argument('--data_path', default='/datasets01/imagenet/')\n"
                            "p.add_argument('--epochs', default=400)\n",
        "README.md": "\n".join([
            "python submitit_pretrain.py --job_dir ${JOB_DIR} --nodes 8 --epochs 800",
            "python run_with_submitit.py --model deit_base --data-path /path/to/imagenet",
            "srun python main.py --epochs 3",
            "python trainval_net.py --bs $BATCH_SIZE --cuda",
            "python main_pretrain.py --batch_size 2",
            "python main.py --eval --resume https://example.org/ckpt.pth --epochs 1",
            "python main.py --coco_path /data/coco --epochs 5 --model <model>",
        ]),
    })
    plan = infer(str(tmp_path))
    assert plan.kind == "import"
    last = plan.fallbacks[-1]
    assert last.kind == "unrunnable" and "cannot run here" in last.why
    whys = {p.source: p.why for p in documented(str(tmp_path))}
    assert all(p.kind == "unrunnable" for p in documented(str(tmp_path)))
    assert "placeholders ${JOB_DIR}" in whys["README.md:1"]
    assert "a cluster launcher (submitit_pretrain.py)" in whys["README.md:1"]
    assert "8 nodes" in whys["README.md:1"]
    assert "a dataset path (--data-path)" in whys["README.md:2"]
    assert "a cluster launcher (srun)" in whys["README.md:3"]
    assert "placeholders $BATCH_SIZE" in whys["README.md:4"]
    # the parser's --data_path defaults to a folder of the authors' cluster
    assert "a dataset path (--data_path, default /datasets01/imagenet/)" in whys["README.md:5"]
    assert "a download (https://example.org/ckpt.pth)" in whys["README.md:6"]
    assert "a dataset path (--coco_path)" in whys["README.md:7"]
    assert "placeholders <model>" in whys["README.md:7"]
    # a dataset flag with a relative default (data the repository ships or makes) is fine
    (tmp_path / "main_pretrain.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('--data_path', default='data/toy')\np.add_argument('--epochs')\n")
    (tmp_path / "README.md").write_text("python main_pretrain.py --epochs 9\n")
    plan = infer(str(tmp_path))
    assert (plan.kind, plan.argv) == ("readme", ("python", "main_pretrain.py", "--epochs", "1"))


def test_step_flag_added_from_the_parser_and_full_runs_demoted(tmp_path):
    _write(tmp_path, {
        "train.py": "import argparse\np = argparse.ArgumentParser()\n"
                    "p.add_argument('--lr')\np.add_argument('--n_epochs', type=int, default=200)\n",
        "main.py": "for epoch in range(200):\n    pass\n",
        "README.md": "python main.py\n\npython train.py --lr 0.1\n\n"
                     "python onnx_export.py --model m ./m.onnx\n\npython validate.py\n",
        # gen-efficientnet-pytorch: the export downloads the pretrained weights
        "onnx_export.py": "import geffnet\nm = geffnet.create_model('m', pretrained=True)\n",
        "validate.py": "def main(args):\n    args.pretrained = True\n",
    })
    ranked = documented(str(tmp_path))
    assert ranked[0].argv == ("python", "train.py", "--lr", "0.1", "--n_epochs", "1")
    assert "with --n_epochs 1 added" in ranked[0].why
    assert ranked[1].kind == "unrunnable" and "a full training run" in ranked[1].why
    assert ranked[2].kind == "unrunnable" and \
        "a weights download (pretrained=True, onnx_export.py:2)" in ranked[2].why
    assert "a weights download (pretrained = True, validate.py:2)" in ranked[3].why
    assert infer(str(tmp_path)).argv == ranked[0].argv


def test_import_all_skips_scripts_and_finds_siblings(tmp_path):
    # PyTorch-GAN's layout: implementations/<gan>/<gan>.py parses its arguments and downloads
    # MNIST at module level, and imports its sibling models.py by its bare name
    _write(tmp_path, {
        "implementations/gan/models.py": "KIND = 'gan'\n",
        "implementations/gan/gan.py": "import argparse\nfrom models import *\n"
                                      "opt = argparse.ArgumentParser().parse_args()\n",
        "implementations/gan/helper.py": "from models import KIND\nassert KIND == 'gan'\n",
        "implementations/wgan/models.py": "KIND = 'wgan'\n",
        "implementations/wgan/helper.py": "from models import KIND\nassert KIND == 'wgan'\n",
        "implementations/wgan/data.py": "import torchvision\n"
                                        "ds = torchvision.datasets.MNIST('x', download=True)\n",
        "utils.py": "import os\n_, w = os.popen('stty size', 'r').read().split()\n",
        # pytorch_resnet_cifar10: torch.hub's entry file imports names that are no modules
        "hubconf.py": "dependencies = ['torch']\nimport resnet20\n",
        "guarded.py": "import argparse\nif __name__ == '__main__':\n"
                      "    argparse.ArgumentParser().parse_args()\n"
                      "def f():\n    return argparse.ArgumentParser().parse_args()\n",
    })
    plan = infer(str(tmp_path))
    assert plan.kind == "import"
    assert "3 script(s) with module-level side effects skipped" in plan.why
    assert _imports(plan) == ["guarded", "implementations.gan.helper",
                              "implementations.gan.models", "implementations.wgan.helper",
                              "implementations.wgan.models"]
    r = subprocess.run([sys.executable] + list(plan.argv[1:]), cwd=tmp_path,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=""))
    assert (r.returncode, r.stderr) == (0, "")
    assert "import skipped: implementations.gan.gan (parse_args() at module level, line 3)" \
        in r.stdout
    assert "import skipped: implementations.wgan.data (a download at module level, line 2)" \
        in r.stdout
    assert "import skipped: utils (popen() at module level, line 2)" in r.stdout
    assert "imported 5 module(s), 0 failed, 3 skipped" in r.stdout


def test_a_file_the_repository_lacks_makes_a_command_unrunnable(tmp_path):
    # gen-efficientnet-pytorch's BENCHMARK.md: each step reads the previous one's output
    _write(tmp_path, {"onnx_optimize.py": "", "demo.py": "", "cfg/x.yaml": "",
                      "weights/ok.pth": "",
                      "README.md": "python onnx_optimize.py ./m.onnx --output o.onnx\n\n"
                                   "python demo.py --resume ckpt.pth\n\n"
                                   "python demo.py --config cfg/x.yaml --resume weights/ok.pth\n"})
    whys = {p.source: (p.kind, p.why) for p in documented(str(tmp_path))}
    assert whys["README.md:1"][0] == "unrunnable"
    assert "a file that is not in the repository (./m.onnx)" in whys["README.md:1"][1]
    assert "a file that is not in the repository (ckpt.pth)" in whys["README.md:3"][1]
    assert whys["README.md:5"][0] == "readme"


def test_import_all_skips_what_imports_an_unavailable_distribution(tmp_path):
    # DETR: d2/ wraps detectron2 (not on PyPI, left out of the lock); d2/detr/__init__.py
    # imports its config module relatively
    _write(tmp_path, {"d2/detr/__init__.py": "from .config import add_detr_config\n",
                      "d2/detr/config.py": "from detectron2.config import CfgNode\n",
                      "d2/train_net.py": "from d2.detr import add_detr_config\n",
                      "models/detr.py": "import torch\nfrom .segmentation import x\n",
                      # imported when called only (DETR's datasets/__init__.py)
                      "datasets/__init__.py": "def build():\n    from .panoptic import b\n",
                      "datasets/panoptic.py": "from panopticapi.utils import rgb2id\n",
                      # an optional import, guarded
                      "models/segmentation.py": "x = 1\ntry:\n    import panopticapi\n"
                                                "except ImportError:\n    pass\n"})
    plan = infer(str(tmp_path), unavailable=["detectron2", "panopticapi"])
    assert _imports(plan) == ["datasets", "models.detr", "models.segmentation"]
    assert "d2.detr.config': 'imports detectron2, which the environment lacks'" in plan.argv[2]
    assert "'d2.detr': 'imports d2.detr.config, which imports what the environment lacks'" \
        in plan.argv[2]
    assert "'d2.train_net': 'imports d2.detr" in plan.argv[2]
    assert _imports(infer(str(tmp_path))) == ["d2.detr", "d2.detr.config", "d2.train_net",
                                              "datasets", "datasets.panoptic", "models.detr",
                                              "models.segmentation"]
