"""Time `repro scan` on a generated 2,000-file repository (target: under 2 s).

    python bench/scan.py [--files 2000] [--repeat 3]

Prints a table per repository shape: the full scan and, measured in the same run on the same
tree, two baselines (walking + reading every file; walking + ast.parse of every .py file).
Then hostile inputs (issue 14), each a small repository that must scan in seconds: thousands
of bounds on one package, and 2 MiB of backslash-continued lines.
"""

import argparse
import ast
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "repro-core" / "src"))

from repro_core.scan import scan  # noqa: E402

PY_LEGACY = '''import os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable
from timm.models.vision_transformer import Block

from pkg{pkg} import helpers


class Model{i}(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, 4, 4.0, qkv_bias=True, qk_scale=None)])
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return F.relu(self.fc(x))

'''
FN_LEGACY = '''
def step_{j}(model, x, y, opt):
    out = model(Variable(x, volatile=True))
    loss = F.mse_loss(out, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    arr = np.zeros(3, dtype=np.float)
    return loss.item(), arr.sum() + {j}, os.sep
'''
PY_MODERN = '''import json
import logging

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pkg{pkg} import helpers

logger = logging.getLogger(__name__)


class Model{i}(nn.Module):
    def __init__(self, dim=64, depth=4):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        for layer in self.layers:
            x = x + F.gelu(layer(self.norm(x)))
        return x.float()

'''
FN_MODERN = '''
def step_{j}(model, batch, opt, cfg_path="cfg.json"):
    cfg = json.load(open(cfg_path))
    x, y = batch
    out = model(x.cuda(non_blocking=True))
    loss = F.cross_entropy(out, y.cuda())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    logger.info("step %d loss %.4f lr %s", {j}, loss.item(), cfg.get("lr"))
    return np.asarray([loss.item()]).mean()
'''
CU = '''#include <torch/extension.h>
#include <THC/THC.h>

__global__ void k{i}(const float* a, float* b, int n) {{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n) b[t] = a[t] * 2.f;
}}

void launch{i}(at::Tensor a, at::Tensor b) {{
    AT_CHECK(a.is_cuda(), "a must be CUDA");
    k{i}<<<(a.numel() + 255) / 256, 256>>>(a.data<float>(), b.data<float>(), a.numel());
}}
'''


def make_repo(root: Path, n: int, legacy_share: float) -> None:
    """n files: 65% Python (``legacy_share`` of them full of legacy APIs), 5% CUDA, configs,
    binary images and docs for the rest, like a large paper repository."""
    (root / "requirements.txt").write_text("torch==1.7.1+cu110\ntimm==0.3.2\nnumpy<1.24\n")
    (root / "README.md").write_text("# Bench\n\nTested with PyTorch 1.7.1 and Python 3.8.\n"
                                    "```\npip install -r requirements.txt\n```\n" * 20)
    (root / "Dockerfile").write_text("FROM pytorch/pytorch:1.7.1-cuda11.0-cudnn8-devel\n")
    n_py, n_cu = int(n * 0.65), n // 20
    n_cfg = (n - 3 - n_py - n_cu) // 2
    n_bin = n - 3 - n_py - n_cu - n_cfg
    for i in range(n_py):
        d = root / f"pkg{i % 40}" / f"sub{i % 7}"
        d.mkdir(parents=True, exist_ok=True)
        legacy = (i % 100) < legacy_share * 100
        head, fn = (PY_LEGACY, FN_LEGACY) if legacy else (PY_MODERN, FN_MODERN)
        body = head.format(i=i, pkg=i % 40) + "".join(fn.format(j=j) for j in range(6))
        (d / f"mod{i}.py").write_text(body)
    for i in range(n_cu):
        d = root / "csrc" / f"op{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"k{i}.cu").write_text(CU.format(i=i))
    for i in range(n_cfg):
        d = root / "configs" / f"group{i % 12}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"cfg{i}.yaml").write_text(f"model: vit\nlr: 1.5e-4\nepochs: {i}\n" * 10)
    for i in range(n_bin):
        d = root / "assets"
        d.mkdir(exist_ok=True)
        (d / f"img{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n\0" + os.urandom(4000))


def read_all(root: Path) -> int:
    total = 0
    for dp, _, fs in os.walk(root):
        for f in fs:
            with open(os.path.join(dp, f), "rb") as fh:
                total += len(fh.read())
    return total


def parse_all(root: Path) -> int:
    n = 0
    for dp, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(".py"):
                with open(os.path.join(dp, f), encoding="utf-8") as fh:
                    ast.parse(fh.read())
                n += 1
    return n


def best(fn, root: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(root)
        times.append(time.perf_counter() - t)
    return min(times)


HOSTILE_LINES = (2 << 20) // 3 - 100  # "a\\\n" lines: just under the 2 MiB text limit


def hostile_repos(root: Path) -> dict:
    """label -> repository folder, one per hostile input."""
    def repo(name: str, files: dict) -> Path:
        d = root / name
        d.mkdir()
        for rel, text in files.items():
            (d / rel).write_text(text)
        return d

    def bounds(lo: int, hi: int) -> str:
        return "".join(f"torch>=1.{i % 10}.{i}\n" for i in range(lo, hi))

    return {
        "5,000 torch>= lines, one file": repo("one", {"requirements.txt": bounds(0, 5000)}),
        "1,000 torch>= lines, 10 files": repo("ten", {
            f"requirements-{f}.txt": bounds(f * 100, f * 100 + 100) for f in range(10)}),
        "2 MiB of a\\ lines, requirements": repo("cont", {
            "requirements.txt": "a\\\n" * HOSTILE_LINES}),
        "2 MiB of a\\ lines, Dockerfile RUN": repo("dock", {
            "Dockerfile": "RUN pip install " + "a\\\n" * HOSTILE_LINES}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"Python {sys.version.split()[0]}; best of {args.repeat} runs; 'x parse' = time / "
          f"(walk + ast.parse of every .py) on the same tree")
    print(f"{'repository':<34} {'files':>6} {'py lines':>9} {'read s':>7} {'parse s':>8} "
          f"{'scan s':>7} {'x parse':>8} {'findings':>9}")
    for label, share in (("typical (10% legacy .py files)", 0.10),
                         ("worst case (every .py legacy)", 1.0)):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_repo(root, args.files, share)
            nfiles = sum(len(fs) for _, _, fs in os.walk(root))
            lines = sum(p.read_text().count("\n") for p in root.rglob("*.py"))
            scan(root)  # warm the knowledge-base caches once, as a CLI run does at import
            t_read = best(read_all, root, args.repeat)
            t_parse = best(parse_all, root, args.repeat)
            t_scan = best(scan, root, args.repeat)
            rep = scan(root)
        print(f"{label:<34} {nfiles:>6} {lines:>9} {t_read:>7.3f} {t_parse:>8.3f} "
              f"{t_scan:>7.3f} {t_scan / t_parse:>8.2f} {len(rep.findings):>9}")
    print(f"\n{'hostile input':<34} {'bytes':>9} {'scan s':>7} {'warnings':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, root in hostile_repos(Path(tmp)).items():
            size = sum(p.stat().st_size for p in root.iterdir())
            t_scan = best(scan, root, args.repeat)
            print(f"{label:<34} {size:>9} {t_scan:>7.3f} {len(scan(root).warnings):>9}")


if __name__ == "__main__":
    main()
