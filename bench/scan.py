"""Time `repro scan` on 2,000-file repositories (issue 9 target: under 1 s).

    python bench/scan.py [--real CHECKOUTS] [--files 2000] [--repeat 5]

Trees: two generated ones (65 % Python, 10 % or all of it full of legacy APIs) and, with
``--real``, one of exactly 2,000 files taken from the real paper repositories in CHECKOUTS
(each a folder; bench/scan_recall.py documents how to check them out): every file scan walks,
Python and everything else as the repositories have them, repository after repository in
name order, then again in ``copyN/`` folders until 2,000 (``real_repo``; deterministic).

For each tree the table prints, measured in the same run: walking + reading every file and
walking + ``ast.parse`` of every .py file (the baseline of the ratio columns), then
``scan()`` in this warm interpreter and ``repro scan PATH`` as a user runs it (a new process:
interpreter start, imports, scan, report). Times are medians of ``--repeat`` runs, wall
clock and CPU (user + system: less disturbed by other jobs on the machine). Then hostile
inputs (issue 14), each a small repository that must scan in seconds.
"""

import argparse
import ast
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "repro-core" / "src"))

from repro_core.scan import parallel, scan, walk  # noqa: E402

SRC = os.pathsep.join(str(ROOT / "packages" / p / "src") for p in ("repro-core", "repro-cli"))

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


def real_repo(checkouts: Path, root: Path, n: int) -> int:
    """Write an ``n``-file repository under ``root`` from the repositories in ``checkouts``:
    the files scan walks in each (name order), repository after repository, again under
    ``copy1/``, ``copy2/``... until ``n``. Returns how many distinct files it drew from."""
    files = [(d.name, rel) for d in sorted(checkouts.iterdir()) if d.is_dir()
             for rel, _ in walk(str(d))]
    if not files:
        raise SystemExit(f"{checkouts}: no repositories with files")
    for i in range(n):
        name, rel = files[i % len(files)]
        dest = root / f"copy{i // len(files)}" / name / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkouts / name / rel, dest)
    return len(files)


def read_all(root: Path) -> int:
    total = 0
    for dp, _, fs in os.walk(root):
        for f in fs:
            path = os.path.join(dp, f)
            if os.path.isfile(path) and not os.path.islink(path):  # as scan reads them
                with open(path, "rb") as fh:
                    total += len(fh.read())
    return total


def parse_all(root: Path) -> int:
    """ast.parse of every .py file that parses (the baseline)."""
    n = 0
    for dp, _, fs in os.walk(root):
        for f in fs:
            path = os.path.join(dp, f)
            if f.endswith(".py") and os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as fh:
                    try:
                        ast.parse(fh.read())
                    except (SyntaxError, ValueError):
                        continue
                n += 1
    return n


def _cpu(children: bool = False) -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def median_time(fn: Callable[[], object], repeat: int, children: bool = False
                ) -> Tuple[float, float]:
    """(wall s, CPU s) medians of ``repeat`` calls (CPU of the child processes: ``children``)."""
    walls: List[float] = []
    cpus: List[float] = []
    for _ in range(repeat):
        c, t = _cpu(children), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu(children) - c)
    return statistics.median(walls), statistics.median(cpus)


def median_wall(fn, root: Path, repeat: int) -> float:
    return median_time(lambda: fn(root), repeat)[0]


def repro_scan(root: Path, pycache: str) -> None:
    """``repro scan ROOT`` in a new interpreter, as a user runs it: with the modules' bytecode
    cached (in ``pycache``), as an installed package has it, even where the environment
    says not to write bytecode."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=SRC, PYTHONPYCACHEPREFIX=pycache)
    subprocess.run([sys.executable, "-m", "repro_cli", "scan", str(root)], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def python_start() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def measure_tree(label: str, root: Path, repeat: int, pycache: str) -> str:
    """One table row: the baselines, scan() in-process and ``repro scan`` in a process."""
    nfiles = sum(1 for _ in walk(str(root)))
    npy = sum(1 for rel, _ in walk(str(root)) if rel.endswith(".py"))
    rep = scan(root)  # warms the knowledge-base caches, as a CLI run does at import
    assert rep.files_scanned == nfiles
    t_read = median_time(lambda: read_all(root), repeat)[0]
    t_parse, c_parse = median_time(lambda: parse_all(root), repeat)
    t_scan, c_scan = median_time(lambda: scan(root, workers=1), repeat)
    repro_scan(root, pycache)  # writes the bytecode cache
    t_cli, c_cli = median_time(lambda: repro_scan(root, pycache), repeat, children=True)
    return (f"{label:<34} {nfiles:>6} {npy:>5} {t_read:>6.2f} {t_parse:>5.2f} {c_parse:>5.2f} "
            f"{t_scan:>5.2f} {c_scan:>5.2f} {c_scan / c_parse:>6.2f} {t_cli:>5.2f} "
            f"{c_cli:>5.2f} {c_cli / c_parse:>6.2f} {len(rep.findings):>8}")


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
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--real", type=Path, metavar="CHECKOUTS",
                    help="also a tree of real files from the repositories in this folder")
    ap.add_argument("--repo", type=Path, action="append", default=[], metavar="PATH",
                    help="also this repository as it is (repeatable)")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    _, c_start = median_time(python_start, args.repeat, children=True)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.2f} at the "
          f"start; medians of {args.repeat} runs; wall and CPU s; 'x' = CPU / CPU of parse; "
          f"'python -c pass' takes {c_start:.2f} s CPU; scan() runs in one process, "
          f"'repro scan' reads Python files in {parallel.workers()} (CPU: all of them)")
    print(f"{'repository':<34} {'files':>6} {'.py':>5} {'read':>6} {'parse':>5} {'cpu':>5} "
          f"{'scan()':>5} {'cpu':>5} {'x':>6} {'repro':>5} {'cpu':>5} {'x':>6} "
          f"{'findings':>8}")
    trees = [("generated, 10% legacy .py files", 0.10),
             ("generated, every .py file legacy", 1.0)]
    if args.real:
        trees.append(("real files", -1))
    with tempfile.TemporaryDirectory() as pycache:
        for label, share in trees:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                if share < 0:
                    drawn = real_repo(args.real, root, args.files)
                    label = f"real files ({drawn} distinct)"
                else:
                    make_repo(root, args.files, share)
                print(measure_tree(label, root, args.repeat, pycache), flush=True)
        for repo in args.repo:
            print(measure_tree(f"repository {repo.name}", repo, args.repeat, pycache),
                  flush=True)
    print(f"\n{'hostile input':<34} {'bytes':>9} {'scan s':>7} {'warnings':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, root in hostile_repos(Path(tmp)).items():
            size = sum(p.stat().st_size for p in root.iterdir())
            t_scan = median_wall(scan, root, args.repeat)
            print(f"{label:<34} {size:>9} {t_scan:>7.3f} {len(scan(root).warnings):>9}")


if __name__ == "__main__":
    main()
