"""Time `repro lock` against bare `uv pip compile`, and `repro env create` against
`uv venv` + `uv pip sync`, on the same inputs with a warm uv cache (needs PyPI).

    python bench/lock_env.py [--repeat 3]

Locks `torch` + `timm` as of 2021-11-11 for Python 3.9 (target: repro within 1 s of uv), and
builds an env of `numpy` + `scipy` as of 2020-06-01 for Python 3.8 (an interpreter found by
repro's discovery). Each command runs once to warm the cache; then the two alternate and the
table shows the median and min of --repeat runs.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = [str(ROOT / "packages" / p / "src") for p in ("repro-core", "repro-cli")]
sys.path[:0] = SRC

from repro_core.envs import find_python  # noqa: E402
from repro_core.lock import compile_args  # noqa: E402
from repro_core.uvtool import uv_bin  # noqa: E402

ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(SRC))
REPRO = [sys.executable, "-m", "repro_cli"]


def timed(cmd, before=None):
    if before:
        before()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def compare(label, a, b, repeat):
    """Alternate the two (each a list of (cmd, before) steps), once to warm, then ``repeat``."""
    def run(steps):
        return sum(timed(cmd, before) for cmd, before in steps)

    run(a), run(b)
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(run(a))
        tb.append(run(b))
    return (label, statistics.median(ta), min(ta), statistics.median(tb), min(tb))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    uv = uv_bin()
    tmp = Path(tempfile.mkdtemp(prefix="repro-bench-"))
    try:
        reqs = tmp / "requirements.in"
        reqs.write_text("torch\ntimm\n")
        rows = [compare(
            "lock torch+timm 2021-11-11 py3.9",
            [(REPRO + ["lock", str(reqs), "--date", "2021-11-11", "--python", "3.9", "-o",
                       str(tmp / "a.lock")], None)],
            [([uv] + compile_args(str(reqs), "2021-11-11", "3.9", "linux"), None)],
            args.repeat)]

        py = find_python("3.8")
        small = tmp / "small.in"
        small.write_text("numpy\nscipy\n")
        lock = tmp / "small.lock"
        subprocess.run(REPRO + ["lock", str(small), "--date", "2020-06-01", "--python", "3.8",
                                "-o", str(lock)], check=True, env=ENV, stdout=subprocess.DEVNULL)
        e1, e2 = tmp / "e1", tmp / "e2"

        def clean():
            for e in (e1, e2):
                shutil.rmtree(e, ignore_errors=True)

        rows.append(compare(
            "env create numpy+scipy py3.8",
            [(REPRO + ["env", "create", str(lock), "--prefix", str(e1)], clean)],
            [([uv, "venv", "--python", py.path, "--quiet", str(e2)], clean),
             ([uv, "pip", "sync", "--python", str(e2 / "bin" / "python"), "--require-hashes",
               "--quiet", str(lock)], None)],
            args.repeat))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("| task | repro median s | repro min s | uv median s | uv min s | repro - uv (median) |")
    print("|---|---|---|---|---|---|")
    for label, am, an, bm, bn in rows:
        print(f"| {label} | {am:.2f} | {an:.2f} | {bm:.2f} | {bn:.2f} | {am - bm:+.2f} |")


if __name__ == "__main__":
    main()
