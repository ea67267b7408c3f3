"""Where the CPU of scan's Python analysis goes, per phase, and what reading only the statements
where a rule may match (``Matcher.hot_lines``), parsed alone (``match.skeleton``), saves
against parsing the whole file and reading every node.

    python bench/scan_phases.py [--real CHECKOUTS] [--density] [TREE ...]

``--real``: first the 2,000-file tree of real files that ``bench/scan.py --real`` builds from
the checkouts (``real_repo``).

For each tree: the ``screen`` of every .py file, then for the files it sends to the ``ast``
(ASCII, no version check: those ``hot_lines`` applies to) ``ast.parse`` of the whole file,
``hot_lines``, ``skeleton`` (the cut) and ``ast.parse`` of the cut, and ``Parsed`` + ``find``
on every node of the whole tree (the baseline) and on the hot statements of the cut, measured
in this one process (CPU seconds, best of ``--repeat``). 'x': the scan's way (hot_lines +
skeleton + parse of the cut + hot nodes) over the whole way (parse + all nodes). The last
column checks that both give the same matches.

``--density``: then, per tree and per band of hot-line density (hot lines / lines), ``parse``
with ``lines`` of each such file cut (``skeleton``) and whole, timed alternately on the same
file (best of 5 each): the bands where a cut pays (``python.CUT_DENSITY``).

``--classes``: then, per tree and per class of file (what ``python_api.analyze`` does with it),
the CPU of ``analyze`` as the scan's workers call it against the whole way (``ast.parse`` of
the whole file, ``find`` and ``version_checks`` on every node), alternately on each file
(best of ``--repeat`` each), and whether both give the same hits and version checks.
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
from repro_core.match.skeleton import code_is_ascii, skeleton  # noqa: E402
from repro_core.scan import python_api  # noqa: E402


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
        ("screen", "parse", "hot_lines", "skeleton", "parse cut", "all nodes", "hot nodes"), 0.0)

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
        if "__version__" in text or not text.isascii() or matcher.PY2.search(text):
            continue
        try:
            tree = timed("parse", ast.parse, text)
        except (SyntaxError, ValueError, RecursionError):
            continue
        lines = timed("hot_lines", m.hot_lines, text, skip)
        if lines is None:
            continue
        cut = timed("skeleton", skeleton, text, lines)
        small = timed("parse cut", ast.parse, cut) if cut is not None else tree
        full = timed("all nodes", read, text, tree)
        part = timed("hot nodes", read, text, small, lines)
        n += 1
        nodes_all += len(full[0].nodes)
        nodes_hot += len(part[0].nodes)
        same = same and [(h.rule.id, h.line, h.col) for h in full[1] if h.rule.id not in skip] \
            == [(h.rule.id, h.line, h.col) for h in part[1] if h.rule.id not in skip]
    return t, n, nodes_all, nodes_hot, same


def density(texts: List[str]) -> Dict[int, List[float]]:
    """band (hot-line density * 20) -> [files, s whole, s cut]."""
    m = matcher.matcher()
    skip = m.syntax_rule_ids
    out: Dict[int, List[float]] = {}
    keep = matcher.CUT_DENSITY
    try:
        for text in texts:
            if m.screen(text, skip) is not None or "__version__" in text or not text.isascii():
                continue
            lines = m.hot_lines(text, skip)
            if lines is None:
                continue
            best = {0.0: 9.0, 1.0: 9.0}
            for _ in range(5):
                for cut in best:  # 0: never cut; 1: always
                    matcher.CUT_DENSITY = cut
                    t0 = time.perf_counter()
                    matcher.parse(text, lines)
                    best[cut] = min(best[cut], time.perf_counter() - t0)
            row = out.setdefault(min(8, int(20 * len(lines) / (text.count("\n") + 1))),
                                 [0, 0.0, 0.0])
            row[0] += 1
            row[1] += best[0.0]
            row[2] += best[1.0]
    finally:
        matcher.CUT_DENSITY = keep
    return out


def file_class(m: matcher.Matcher, text: str) -> str:
    """What ``python_api.analyze`` does with a file (as its worker calls it)."""
    skip = m.syntax_rule_ids
    version = "__version__" in text or python_api._names_a_version(text)
    if not version and m.screen(text, skip) is not None:
        return "screened (no ast)"
    if not code_is_ascii(text):
        return "non-ASCII names: whole"
    lines = m.hot_lines(text, skip)
    if lines is None:
        return "values flow: whole"
    kind = "version check" if version else "non-ASCII comments" if not text.isascii() \
        else "hot lines"
    return kind + (": cut" if len(lines) < matcher.CUT_DENSITY * text.count("\n") else
                   ": dense, whole")


def classes(texts: List[str], repeat: int) -> Dict[str, List]:
    """class -> [files, CPU s of the whole way, of ``analyze``, same results]."""
    m = matcher.matcher()
    skip = m.syntax_rule_ids

    def whole(text: str):
        p = matcher.parse(text)
        if p is None:
            return None
        return ([(h.rule.id, h.line, h.api) for h in m.find("a.py", p) if h.rule.id not in skip],
                python_api.version_checks(p.nodes, p.alias))

    out: Dict[str, List] = {}
    for text in texts:
        kind = file_class(m, text)
        row = out.setdefault(kind, [0, 0.0, 0.0, True])
        best, got = [9.0, 9.0], [None, None]
        for _ in range(repeat):
            for i, fn in enumerate((whole, lambda t: python_api.analyze("a.py", t, skip, True))):
                t0 = time.process_time()
                got[i] = fn(text)
                best[i] = min(best[i], time.process_time() - t0)
        row[0] += 1
        row[1] += best[0]
        row[2] += best[1]
        ref, ours = got
        if ref is not None and not kind.startswith("screened"):  # the screen: other tests
            row[3] = row[3] and (list(ours.hits), list(ours.checks)) == ref
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trees", nargs="*")
    ap.add_argument("--real", help="checkouts to build the 2,000 real files tree from")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--density", action="store_true",
                    help="also time cut against whole parses by hot-line density")
    ap.add_argument("--classes", action="store_true",
                    help="also time analyze against the whole way, per class of file")
    a = ap.parse_args()
    trees = list(a.trees)
    tmp = tempfile.TemporaryDirectory()
    if a.real:
        real_repo(Path(a.real), Path(tmp.name) / "real-files", 2000)
        trees.insert(0, str(Path(tmp.name) / "real-files"))
    if not trees:
        ap.error("give a tree or --real")
    print(f"Python {sys.version.split()[0]}; CPU s, best of {a.repeat}; 'x' = CPU of the scan's "
          "way (hot_lines + skeleton + parse cut + hot nodes) / CPU of the whole way (parse + "
          "all nodes), in the same run")
    print(f"{'tree':24s} {'.py':>5s} {'parsed':>6s} {'screen':>6s} {'parse':>6s} "
          f"{'all nodes':>9s} {'hot_lines':>9s} {'skeleton':>8s} {'parse cut':>9s} "
          f"{'hot nodes':>9s} {'x':>5s} {'nodes':>15s} same")
    for tree in trees:
        texts = sources(tree)
        runs = [phases(texts) for _ in range(a.repeat)]
        best = {k: min(r[0][k] for r in runs) for k in runs[0][0]}
        _, n, na, nh, same = runs[0]
        whole = (best["parse"] + best["all nodes"]) or 1e-9
        ours = best["hot_lines"] + best["skeleton"] + best["parse cut"] + best["hot nodes"]
        print(f"{Path(tree).name[:24]:24s} {len(texts):5d} {n:6d} {best['screen']:6.3f} "
              f"{best['parse']:6.3f} {best['all nodes']:9.3f} {best['hot_lines']:9.3f} "
              f"{best['skeleton']:8.3f} {best['parse cut']:9.3f} {best['hot nodes']:9.3f} "
              f"{ours / whole:5.2f} {f'{na} -> {nh}':>15s} "
              f"{'yes' if all(r[4] for r in runs) else 'NO'}")
    if a.density:
        print(f"\n{'tree':24s} {'hot lines/line':>14s} {'files':>5s} {'whole s':>8s} "
              f"{'cut s':>7s} {'cut/whole':>9s}")
        for tree in trees:
            for band, (n, whole, cut) in sorted(density(sources(tree)).items()):
                span = f"{band / 20:.2f}-{(band + 1) / 20:.2f}" if band < 8 else ">=0.40"
                print(f"{Path(tree).name[:24]:24s} {span:>14s} {int(n):5d} {whole:8.3f} "
                      f"{cut:7.3f} {cut / (whole or 1e-9):9.2f}")
    if a.classes:
        print(f"\n{'tree':24s} {'class':30s} {'files':>5s} {'whole s':>8s} {'analyze s':>9s} "
              f"{'x':>5s} same")
        for tree in trees:
            for kind, (n, whole, ours, same) in sorted(classes(sources(tree), a.repeat).items()):
                print(f"{Path(tree).name[:24]:24s} {kind:30s} {n:5d} {whole:8.3f} {ours:9.3f} "
                      f"{ours / (whole or 1e-9):5.2f} {'yes' if same else 'NO'}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
