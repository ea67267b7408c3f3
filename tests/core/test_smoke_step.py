"""The model-step smoke: which models ``smoke.models`` finds (read statically), and the
generated script run for real on small repositories written here (needs torch: skipped
where it is not installed, as on the Python 3.8 row).

The loss the script prints is checked against the same model built here with the same seed
on the same input, so a number not computed by the model (or a different model) fails."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_smoke import _write  # tests/core is on sys.path (rootdir), as tests/mae does

from repro_core.smoke import SmokePlan, infer, models

RESNET = '''import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(planes)
        self.short = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.short = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes))

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)) + self.short(x))


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        layers, planes_in = [], 8
        for planes, n in zip((8, 16), num_blocks):
            for s in [2] + [1] * (n - 1):
                layers.append(block(planes_in, planes, s))
                planes_in = planes
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(16, num_classes)

    def forward(self, x):
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        out = F.avg_pool2d(out, out.size(3))
        return self.linear(out.view(out.size(0), -1))


def ResNet8():
    return ResNet(BasicBlock, [1, 1])


def ResNet14():
    return ResNet(BasicBlock, [2, 2])
'''

DCGAN = '''from torch import nn


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=8, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True), nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, nc=3, ndf=8):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(ndf, 1, 4, 1, 0), nn.Sigmoid())

    def forward(self, x):
        return self.main(x).view(-1)
'''

VIT = '''import torch
import torch.nn as nn


class Net(nn.Module):
    """Needs its arguments: never built by the smoke step."""

    def __init__(self, depth, width):
        super().__init__()
        self.fc = nn.Linear(width, depth)


class TinyViT(nn.Module):
    def __init__(self, img_size=48, patch_size=16, in_chans=3, num_classes=5, dim=16):
        super().__init__()
        self.patch = nn.Conv2d(in_chans, dim, patch_size, patch_size)
        n = (img_size // patch_size) ** 2
        self.pos = nn.Parameter(torch.zeros(1, n, dim))
        self.block = nn.TransformerEncoderLayer(dim, 2, 32, batch_first=True)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        assert x.shape[1] == self.pos.shape[1], "the positional embedding needs img_size"
        return self.head(self.block(x + self.pos).mean(1))
'''


def _run(root: Path, plan: SmokePlan):
    assert plan.kind == "model_step" and plan.argv[:2] == ("python", "-c")
    return subprocess.run([sys.executable] + list(plan.argv[1:]), cwd=root / plan.cwd,
                          capture_output=True, text=True, timeout=300)


def _stepped(out: str):
    m = re.search(r"model step: (\S+)\(\) \(.*\) on input (\(.*?\)) \S+: loss (\S+), "
                  r"(\d+) of (\d+) parameter tensors updated", out)
    assert m, out
    return m.group(1), m.group(2), float(m.group(3)), int(m.group(4)), int(m.group(5))


def _reference(root: Path, module: str, name: str, shape, reduce):
    """The same model built here with the script's seed, on its first input."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(root))
    try:
        mod = __import__(module, fromlist=[name])
        torch.manual_seed(0)
        model = getattr(mod, name)().train()
        x = torch.randn(*shape)
        torch.manual_seed(0)
        return float(reduce(model(x)).detach())
    finally:
        sys.path.remove(str(root))
        for k in [k for k in sys.modules if k.split(".")[0] == module.split(".")[0]]:
            del sys.modules[k]


def test_cifar_resnet_factory_steps_and_the_loss_is_the_models(tmp_path):
    pytest.importorskip("torch")
    root = _write(tmp_path / "cifar", {
        "models/__init__.py": "from .resnet import *\n", "models/resnet.py": RESNET,
        "main.py": "import argparse\nargs = argparse.ArgumentParser().parse_args()\n",
        "README.md": "| model | acc |\n|---|---|\n| ResNet14 | 95% |\n"})
    found = models(str(root))
    # ResNet needs (block, num_blocks); BasicBlock needs arguments and is a part; the
    # documented ResNet14 comes before ResNet8
    assert [(c.module, c.name, c.kind, c.documented) for c in found] == [
        ("models.resnet", "ResNet14", "factory", True),
        ("models.resnet", "ResNet8", "factory", False)]
    plan = infer(str(root))
    assert (plan.kind, plan.source) == ("model_step", "models/resnet.py:43")
    assert [f.kind for f in plan.fallbacks] == ["import"]
    r = _run(root, plan)
    assert r.returncode == 0, r.stderr
    assert "imported 2 module(s), 0 failed, 1 skipped" in r.stdout  # main.py: parse_args()
    name, shape, loss, changed, total = _stepped(r.stdout)
    assert (name, shape) == ("models.resnet.ResNet14", "(2, 3, 32, 32)")
    assert changed == total == 23  # every parameter tensor (counted by hand) took the step
    ref = _reference(root, "models.resnet", "ResNet14", (2, 3, 32, 32), lambda o: o.mean())
    assert loss == pytest.approx(ref, rel=1e-4, abs=1e-6)


def test_dcgan_generator_gets_a_latent_vector(tmp_path):
    pytest.importorskip("torch")
    root = _write(tmp_path / "gan", {
        "dcgan/models.py": DCGAN,
        "README.md": "Train the `Generator` against the discriminator.\n"})
    found = models(str(root))
    assert [c.name for c in found] == ["Generator", "Discriminator"]  # documented first
    r = _run(root, infer(str(root)))
    assert r.returncode == 0, r.stderr
    name, shape, loss, changed, total = _stepped(r.stdout)
    # its first layer is a ConvTranspose2d(nz=100, ...): a latent (2, 100, 1, 1)
    assert (name, shape, changed, total) == ("dcgan.models.Generator", "(2, 100, 1, 1)", 4, 4)
    sys.path.insert(0, str(root / "dcgan"))  # the script puts the module's folder on sys.path
    try:
        ref = _reference(root, "dcgan.models", "Generator", (2, 100, 1, 1), lambda o: o.mean())
    finally:
        sys.path.remove(str(root / "dcgan"))
    assert loss == pytest.approx(ref, rel=1e-4, abs=1e-6)


def test_vit_gets_its_img_size_and_a_model_needing_arguments_is_skipped(tmp_path):
    pytest.importorskip("torch")
    root = _write(tmp_path / "vit", {"model.py": VIT})
    assert [c.name for c in models(str(root))] == ["TinyViT"]  # Net(depth, width) is not
    r = _run(root, infer(str(root)))
    assert r.returncode == 0, r.stderr
    name, shape, loss, changed, total = _stepped(r.stdout)
    # img_size=48 from its constructor (32, the first usual size, fails its assert)
    assert (name, shape) == ("model.TinyViT", "(2, 3, 48, 48)")
    assert changed == total
    ref = _reference(root, "model", "TinyViT", (2, 3, 48, 48), lambda o: o.mean())
    assert loss == pytest.approx(ref, rel=1e-4, abs=1e-6)


def test_a_returned_loss_is_used_and_a_failing_step_exits_3_with_its_traceback(tmp_path):
    pytest.importorskip("torch")
    root = _write(tmp_path / "mae", {"models_mae.py": '''import torch
from torch import nn


class MaskedAE(nn.Module):
    def __init__(self, in_chans=1, img_size=8):
        super().__init__()
        self.enc = nn.Linear(in_chans * img_size * img_size, 4)
        self.dec = nn.Linear(4, in_chans * img_size * img_size)

    def forward(self, imgs, mask_ratio=0.75):
        flat = imgs.flatten(1)
        pred = self.dec(self.enc(flat))
        loss = ((pred - flat) ** 2).mean()
        return loss, pred, torch.ones(2)


def mae_tiny():
    return MaskedAE()
'''})
    r = _run(root, infer(str(root)))
    assert r.returncode == 0, r.stderr
    name, shape, loss, _c, _t = _stepped(r.stdout)
    assert (name, shape) == ("models_mae.mae_tiny", "(2, 64)")  # Linear(64, 4) comes first
    ref = _reference(root, "models_mae", "mae_tiny", (2, 64), lambda o: o[0])  # the loss
    assert loss == pytest.approx(ref, rel=1e-4, abs=1e-6)
    # a model whose forward always fails: exit 3 (every import passed), its traceback shown
    (root / "models_mae.py").write_text(
        "from torch import nn\n\n\nclass Broken(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(4, 4)\n\n"
        "    def forward(self, x):\n        raise RuntimeError('forward is broken here')\n")
    r = _run(root, infer(str(root)))
    assert r.returncode == 3
    assert "model step: none of 1 model(s) could take a step" in r.stdout
    assert "Traceback" in r.stderr and "RuntimeError: forward is broken here" in r.stderr
    # an import failure as well: exit 1, and the model step still runs
    (root / "other.py").write_text("import no_such_module_xyz\n")
    r = _run(root, infer(str(root)))
    assert r.returncode == 1 and "import failed: other" in r.stderr
    assert "model step: none of 1 model(s)" in r.stdout
    # a model that steps beside a module that does not import: exit 4
    (root / "models_mae.py").write_text(
        "from torch import nn\n\n\nclass Lin(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(3, 2)\n\n"
        "    def forward(self, x):\n        return self.fc(x)\n")
    r = _run(root, infer(str(root)))
    assert r.returncode == 4 and "import failed: other" in r.stderr
    assert _stepped(r.stdout)[:2] == ("models_mae.Lin", "(2, 3)")


def test_no_model_means_the_import_smoke(tmp_path):
    root = _write(tmp_path / "utils", {
        "util.py": "import os\n\ndef helper(x):\n    return x\n",
        "nets.py": "from torch import nn\n\nclass Head(nn.Module):\n"
                   "    def __init__(self, dim):\n        super().__init__()\n"})
    assert models(str(root)) == []
    plan = infer(str(root))
    assert plan.kind == "import" and plan.fallbacks == ()


def test_models_found_through_the_repositorys_classes_and_factories(tmp_path):
    root = _write(tmp_path / "r", {
        "models/base.py": "import torch.nn as nn\n\nclass Base(nn.Module):\n"
                          "    def __init__(self, width=8):\n        super().__init__()\n",
        "models/vit.py": "from timm.models.vision_transformer import VisionTransformer\n"
                         "from timm.models.registry import register_model\n"
                         "from .base import Base\n\n"
                         "class Small(Base):\n    pass\n\n"
                         "class Deit(VisionTransformer):\n"
                         "    def __init__(self, *args, **kwargs):\n"
                         "        super().__init__(*args, **kwargs)\n\n"
                         "@register_model\ndef deit_tiny(pretrained=False, **kwargs):\n"
                         "    model = Deit(embed_dim=192, **kwargs)\n    return model\n\n"
                         "@register_model\ndef deit_base(pretrained=False, **kwargs):\n"
                         "    return Deit(embed_dim=768, **kwargs)\n\n"
                         "def _cfg(url=''):\n    return {'url': url}\n",
        "train.py": "def build_model():\n    from models.vit import deit_base\n"
                    "    return deit_base()\n",
    })
    got = [(c.module, c.name, c.kind) for c in models(str(root))]
    # factories before classes, smaller sizes first (tiny, base; Small before Deit); Base
    # is used by Small (a part: last)
    assert got == [("models.vit", "deit_tiny", "factory"),
                   ("models.vit", "deit_base", "factory"),
                   ("models.vit", "Small", "class"), ("models.vit", "Deit", "class"),
                   ("train", "build_model", "factory"), ("models.base", "Base", "class")]
    js = models(str(root))[0].to_json()
    assert js == {"module": "models.vit", "name": "deit_tiny", "kind": "factory",
                  "where": "models/vit.py:13", "folder": "models", "documented": False,
                  "part": False}
