"""Throughput of repro_core.diagnose on a large log.

    python bench/diagnose.py [--copies 200] [--repeat 3]

Concatenates the real logs of tests/data/logs/diagnose/ --copies times (a build log of tens
of thousands of lines), times diagnose() on it (median of --repeat, after one warm-up run
that loads the knowledge base), and prints lines/s and the number of findings.
"""

import argparse
import statistics
import time
from pathlib import Path

from repro_core.diagnose import diagnose

LOGS = Path(__file__).resolve().parents[1] / "tests" / "data" / "logs" / "diagnose"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    one = "\n".join(p.read_text(encoding="utf-8") for p in sorted(LOGS.glob("*.log")))
    text = (one + "\n") * args.copies
    n = len(text.splitlines())
    diagnose(one)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        d = diagnose(text)
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(f"{n} lines, {len(d.findings)} findings: {med:.2f} s median of {args.repeat} "
          f"({n / med:,.0f} lines/s)")


if __name__ == "__main__":
    main()
