"""Where the CPU of scan's Python analysis goes, per phase, and what reading only the statements
where a rule may match (``Matcher.hot_lines``) saves against reading every node.

    python bench/scan_phases.py [--real CHECKOUTS] [TREE ...]

``--real``: first the 2,000-file tree of real files that ``bench/scan.py --real`` builds from
the checkouts (``real_repo``).

For each tree: the ``screen`` of every .py file, then for the files it sends to the ``ast``
(ASCII, no version check: those ``hot_lines`` applies to) ``ast.parse``, ``hot_lines``, and
``Parsed`` + ``find`` on every node (the baseline) and on the hot statements only, measured
in this one process (CPU seconds, best of ``--repeat``). The last column checks that both give
the same matches.
"""

import argparse
import ast
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "repro-core" / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from scan import real_repo  # noqa: E402  (bench/scan.py)

from repro_core.match import python as matcher  # noqa: E402


def sources(tree: str) -> List[str]:
    out = []
    for dp, _, fs in os.walk(tree):
        for f in sorted(fs):
            path = os.path.join(dp, f)
            if f.endswith(".py") and os.path.isfile(path) and not os.path.islink(path):
                with open(path, encoding="utf-8", errors="replace") as fh:
                    out.append(fh.read())
    return out


def phases(texts: List[str]) -> Tuple[Dict[str, float], int, int, int, bool]:
    m = matcher.matcher()
    skip = m.syntax_rule_ids
    t: Dict[str, float] = dict.fromkeys(
        ("screen", "parse", "hot_lines", "all nodes", "hot nodes"), 0.0)

    def timed(key: str, fn: Callable, *args):
        t0 = time.process_time()
        got = fn(*args)
        t[key] += time.process_time() - t0
        return got

    def read(text: str, tree: ast.AST, lines=None):
        p = matcher.Parsed(text, tree, lines)
        return p, m.find("a.py", p)

    n = nodes_all = nodes_hot = 0
    same = True
    for text in texts:
        if timed("screen", m.screen, text, skip) is not None:
            continue
        if "__version__" in text or not text.isascii():
            continue
        try:
            tree = timed("parse", ast.parse, text)
        except (SyntaxError, ValueError, RecursionError):
            continue
        lines = timed("hot_lines", m.hot_lines, text, skip)
        full = timed("all nodes", read, text, tree)
        part = timed("hot nodes", read, text, tree, lines)
        n += 1
        nodes_all += len(full[0].nodes)
        nodes_hot += len(part[0].nodes)
        same = same and [(h.rule.id, h.line, h.col) for h in full[1] if h.rule.id not in skip] \
            == [(h.rule.id, h.line, h.col) for h in part[1] if h.rule.id not in skip]
    return t, n, nodes_all, nodes_hot, same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trees", nargs="*")
    ap.add_argument("--real", help="checkouts to build the 2,000 real files tree from")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    trees = list(a.trees)
    tmp = tempfile.TemporaryDirectory()
    if a.real:
        real_repo(Path(a.real), Path(tmp.name) / "real-files", 2000)
        trees.insert(0, str(Path(tmp.name) / "real-files"))
    if not trees:
        ap.error("give a tree or --real")
    print(f"Python {sys.version.split()[0]}; CPU s, best of {a.repeat}; 'x' = CPU / CPU of "
          "'all nodes' (Parsed + find on every node) in the same run")
    print(f"{'tree':28s} {'.py':>5s} {'parsed':>6s} {'screen':>6s} {'parse':>6s} "
          f"{'hot_lines':>9s} {'all nodes':>9s} {'hot nodes':>9s} {'x':>5s} "
          f"{'hot+lines x':>11s} {'nodes':>15s} same")
    for tree in trees:
        texts = sources(tree)
        runs = [phases(texts) for _ in range(a.repeat)]
        best = {k: min(r[0][k] for r in runs) for k in runs[0][0]}
        _, n, na, nh, same = runs[0]
        base = best["all nodes"] or 1e-9
        print(f"{Path(tree).name[:28]:28s} {len(texts):5d} {n:6d} {best['screen']:6.3f} "
              f"{best['parse']:6.3f} {best['hot_lines']:9.3f} {best['all nodes']:9.3f} "
              f"{best['hot nodes']:9.3f} {best['hot nodes'] / base:5.2f} "
              f"{(best['hot nodes'] + best['hot_lines']) / base:11.2f} "
              f"{f'{na} -> {nh}':>15s} {'yes' if all(r[4] for r in runs) else 'NO'}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
