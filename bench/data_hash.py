"""Throughput of `repro data hash` against coreutils sha256sum on the same file.

    python bench/data_hash.py [--mib 1024] [--repeat 3]

Writes one file of --mib random MiB to a temp folder, then times (median of --repeat, runs
interleaved) repro_core.datamanifest.hash_tree over the folder and `sha256sum` on the file,
checks both give the same digest, and prints MiB/s and the peak RSS of a repro run.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from repro_core.datamanifest import hash_tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        blob = Path(d) / "blob.bin"
        with open(blob, "wb") as f:
            for _ in range(a.mib):
                f.write(os.urandom(1 << 20))
        tool = shutil.which("sha256sum")
        times = {"repro": [], "sha256sum": []}
        digest = {}
        for _ in range(a.repeat):
            t = time.perf_counter()
            digest["repro"] = hash_tree(d).files[0].digest
            times["repro"].append(time.perf_counter() - t)
            if tool:
                t = time.perf_counter()
                out = subprocess.run([tool, str(blob)], capture_output=True, text=True).stdout
                times["sha256sum"].append(time.perf_counter() - t)
                digest["sha256sum"] = out.split()[0]
        if tool and digest["repro"] != digest["sha256sum"]:
            sys.exit(f"digests differ: {digest}")
        for name, ts in times.items():
            if ts:
                med = statistics.median(ts)
                print(f"{name:10s} {a.mib} MiB in {med:.2f} s  ({a.mib / med:.0f} MiB/s)")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak RSS of this process (includes the file writer): {rss} MiB")


if __name__ == "__main__":
    main()
