"""Recall and precision of `repro scan` against hand labels on real paper repositories (issue 9).

The labels (bench/data/scan_labels.json) were made by reading the code, not by running the
scanner. Re-run after merging rule branches:

    # 1. once per machine: bring each repository of the labels file here with the `fetch`
    #    tool (github:OWNER/NAME; it leaves /work/.mirror/OWNER+NAME/repo), then check out
    #    the labelled commits (blobs missing from a snapshot, e.g. big binaries, are skipped):
    python bench/scan_recall.py --checkout /work/.mirror /tmp/measure9-repos
    # 2. measure (PYTHONPATH not needed: the script adds packages/repro-core/src):
    python bench/scan_recall.py /tmp/measure9-repos            # table + totals
    python bench/scan_recall.py /tmp/measure9-repos --misses   # + every miss and extra finding
    python bench/scan_recall.py /tmp/measure9-repos --json out.json
    python bench/scan_recall.py --big /tmp/measure9-repos      # + scan time of 2,000 files

Matching: a label is found when a finding (``findings`` or an extension's ``legacy_apis``)
has the same path and line; labels and findings on one line are paired one to one, so two
labels on a line need two findings. Precision counts the findings inside the labelled files:
a finding on a line with at least one label is right, any other is an extra. Findings
outside the labelled files are not scored, nor are findings of rules that state no legacy
use: a new API or syntax giving a lower bound (``introduced`` without ``removed`` or
``deprecated``: f-strings, ``F.interpolate``) and portability notes (NOT_LEGACY); they
are counted in the "new-API" column.

Stack: the torch range is the one plan's exact candidates keep (``plan.exact_torch``: the
scan's torch constraint, bounded by the reference date unless torch is pinned), then, after
" or ", one range per torch pin a conflict dropped (``plan.dropped_pins``: plan gives it an
exact candidate too). The
checkouts carry no ``.git``, so the labelled commit's date stands in for the HEAD commit
date scan reads from a clone (the "date" column; a git date scan found itself is kept). For
each repository with a stated torch, "admitted" means the range admits at least one torch
version (a known release patch, or the stated pin itself) that the stated specifier admits.
"share" is the part of the known torch patch releases (kb/data/torch_releases.json) the range
admits (1.0 when it admits every version). Plans use ``Hardware.stated()`` (no GPU, CPU
wheels) and ``Hardware.stated("8.9")``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "repro-core" / "src"))

from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: E402
from packaging.version import InvalidVersion, Version  # noqa: E402

LABELS = ROOT / "bench" / "data" / "scan_labels.json"
CLASSES = ("breaking", "deprecated")
REPO_KEYS = {"name": str, "repo": str, "commit": str, "commit_date": str, "stated": dict,
             "stated_source": str, "files": list, "labels": list}
LABEL_KEYS = {"path": str, "line": int, "api": str, "class": str}
NOT_LEGACY = {"torch-cuda-synchronize"}  # CPU portability, not an old API


# --- labels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    path: str
    line: int
    api: str
    cls: str  # "breaking" | "deprecated"


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    rule: str


def check_labels(doc: object, source: str = "scan_labels.json") -> None:
    """ValueError naming the field when ``doc`` is not a well-formed labels document."""
    def bad(where: str, msg: str) -> None:
        raise ValueError(f"{source}: {where}: {msg}")

    if not isinstance(doc, dict) or not isinstance(doc.get("repos"), list):
        bad("repos", "expected a list of repositories")
    names = set()
    for i, r in enumerate(doc["repos"]):
        where = f"repos[{i}]"
        if not isinstance(r, dict):
            bad(where, "expected an object")
        for k, t in REPO_KEYS.items():
            if not isinstance(r.get(k), t):
                bad(f"{where}.{k}", f"expected {t.__name__}")
        where = f"repos[{i}] ({r['name']})"
        if r["name"] in names:
            bad(where, "duplicate name")
        names.add(r["name"])
        if len(r["commit"]) != 40 or any(c not in "0123456789abcdef" for c in r["commit"]):
            bad(f"{where}.commit", "expected 40 lowercase hex digits")
        if r["repo"].count("/") != 1:
            bad(f"{where}.repo", "expected OWNER/NAME")
        for pkg, spec in r["stated"].items():
            try:
                SpecifierSet(spec)
            except (InvalidSpecifier, TypeError):
                bad(f"{where}.stated.{pkg}", f"not a version specifier: {spec!r}")
        files = r["files"]
        if not files or len(set(files)) != len(files) or not all(
                isinstance(f, str) and f and not f.startswith("/") and ".." not in f.split("/")
                for f in files):
            bad(f"{where}.files", "expected distinct relative paths")
        seen = set()
        for j, lab in enumerate(r["labels"]):
            lw = f"{where}.labels[{j}]"
            if not isinstance(lab, dict) or set(lab) != set(LABEL_KEYS):
                bad(lw, f"expected exactly the keys {sorted(LABEL_KEYS)}")
            for k, t in LABEL_KEYS.items():
                if not isinstance(lab[k], t) or isinstance(lab[k], bool):
                    bad(f"{lw}.{k}", f"expected {t.__name__}")
            if lab["class"] not in CLASSES:
                bad(f"{lw}.class", f"expected one of {CLASSES}")
            if lab["path"] not in files:
                bad(f"{lw}.path", f"{lab['path']} is not among the labelled files")
            if lab["line"] < 1:
                bad(f"{lw}.line", "expected a line number from 1")
            if not lab["api"] or len(lab["api"]) > 80 or "\n" in lab["api"]:
                bad(f"{lw}.api", "expected a short API name")
            key = (lab["path"], lab["line"], lab["api"])
            if key in seen:
                bad(lw, "duplicate label")
            seen.add(key)


def load_labels(path: Path = LABELS) -> dict:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    check_labels(doc, str(path))
    return doc


def labels_of(repo: dict) -> List[Label]:
    return [Label(x["path"], x["line"], x["api"], x["class"]) for x in repo["labels"]]


# --- matching and metrics -----------------------------------------------------------------


@dataclass
class Score:
    labels: Dict[str, int] = field(default_factory=lambda: {c: 0 for c in CLASSES})
    found: Dict[str, int] = field(default_factory=lambda: {c: 0 for c in CLASSES})
    findings: int = 0  # legacy findings inside the labelled files
    new_api: int = 0  # findings of rules that claim no legacy use, inside the labelled files
    right: int = 0  # of them, on a labelled line
    missed: List[Label] = field(default_factory=list)
    extra: List[Found] = field(default_factory=list)

    def recall(self, cls: str) -> Optional[float]:
        return self.found[cls] / self.labels[cls] if self.labels[cls] else None

    def precision(self) -> Optional[float]:
        return self.right / self.findings if self.findings else None

    def add(self, other: "Score") -> None:
        for c in CLASSES:
            self.labels[c] += other.labels[c]
            self.found[c] += other.found[c]
        self.findings += other.findings
        self.new_api += other.new_api
        self.right += other.right
        self.missed += other.missed
        self.extra += other.extra


def legacy_rule(rule_id: str) -> bool:
    """Whether a finding of this rule claims a legacy use (unknown ids, e.g. extension APIs
    without a rule, do)."""
    from repro_core import kb
    from repro_core.errors import ReproError
    if rule_id in NOT_LEGACY:
        return False
    try:
        r = kb.rule(rule_id)
    except (ReproError, KeyError):
        return True
    return not (r.introduced and not r.removed and not r.deprecated)


def match(labels: Sequence[Label], findings: Iterable[Found], files: Iterable[str],
          is_legacy=lambda rule: True) -> Score:
    """Pair labels and findings on the same (path, line), one to one; breaking labels are
    paired first. Findings outside ``files`` are ignored; those whose rule ``is_legacy``
    rejects are only counted (``new_api``)."""
    scope = set(files)
    by_line: Dict[Tuple[str, int], List[Found]] = {}
    score = Score()
    for f in findings:
        if f.path not in scope:
            continue
        if is_legacy(f.rule):
            by_line.setdefault((f.path, f.line), []).append(f)
        else:
            score.new_api += 1
    labelled = {(lab.path, lab.line) for lab in labels}
    left = {k: len(v) for k, v in by_line.items()}
    order = sorted(labels, key=lambda lab: (CLASSES.index(lab.cls), lab.path, lab.line, lab.api))
    for lab in order:
        score.labels[lab.cls] += 1
        k = (lab.path, lab.line)
        if left.get(k, 0) > 0:
            left[k] -= 1
            score.found[lab.cls] += 1
        else:
            score.missed.append(lab)
    for k, fs in sorted(by_line.items()):
        score.findings += len(fs)
        if k in labelled:
            score.right += len(fs)
        else:
            score.extra += fs
    return score


def findings_of(report) -> List[Found]:
    """Every located legacy use of a scan report: rule findings and extension legacy APIs
    (the same (path, line, rule) once)."""
    seen = set()
    out = []
    for f in report.findings:
        key = (f.path, f.line, f.rule)
        if f.line and key not in seen:
            seen.add(key)
            out.append(Found(*key))
    for ext in report.extensions:
        for a in ext.legacy_apis:
            key = (a.path, a.line, a.rule or a.api)
            if a.line and key not in seen:
                seen.add(key)
                out.append(Found(*key))
    return out


# --- stated vs planned stack --------------------------------------------------------------


def torch_versions() -> List[str]:
    """Every torch patch version the knowledge base names, oldest first."""
    from repro_core import kb
    vs = set()
    for row in kb.torch_releases():
        vs |= set(row.patch_versions())
    return sorted(vs, key=Version)


def admitted(constraint: Optional[str], stated: str, versions: Sequence[str]) -> bool:
    """True when some version the ``stated`` specifier admits (a known one, or the pin
    itself) is admitted by ``constraint`` (None or "" admits everything)."""
    want = SpecifierSet(stated)
    cands = [v for v in versions if want.contains(v, prereleases=True)]
    cands += [s.version for s in want if s.operator in ("==", "===") and "*" not in s.version]
    if not constraint:
        return bool(cands)
    have = SpecifierSet(constraint)
    ok = []
    for v in cands:
        try:
            ok.append(have.contains(Version(v), prereleases=True))
        except InvalidVersion:
            ok.append(False)
    return any(ok)


def admitted_share(constraints, versions: Sequence[str]) -> float:
    """The part of ``versions`` the constraint admits; given several (the ranges exact
    candidates keep), any of them (None or "" admits everything)."""
    if constraints is None or isinstance(constraints, str):
        constraints = [constraints]
    if not all(constraints):
        return 1.0
    have = [SpecifierSet(c) for c in constraints]
    return sum(any(h.contains(v, prereleases=True) for h in have)
               for v in versions) / len(versions)


def dated(report, repo: dict):
    """``report`` with the labelled commit's date as its reference date, unless scan read a
    git date itself (a checkout without ``.git``)."""
    from dataclasses import replace
    if any(s.startswith("git") for s in report.date_sources):
        return report
    return replace(report, reference_date=repo["commit_date"], date_sources=(
        f"git commit {repo['commit'][:10]} (labelled; {repo['commit_date']})",))


def planned(report, gpu: Optional[str]) -> str:
    """'torch/python strategy' of the first candidate, or the error."""
    from repro_core.errors import ReproError
    from repro_core.hardware import Hardware
    from repro_core.plan import plan
    try:
        p = plan(report, Hardware.stated(gpu))
    except ReproError as e:
        return "no plan: " + str(e).split("\n")[0][:60]
    if not p.candidates:
        return "no candidate"
    c = p.candidates[0]
    return f"{c.torch_build or c.torch} py{c.python} {c.strategy}"


# --- checkouts ----------------------------------------------------------------------------


def checkout(git_dir: str, commit: str, dest: Path) -> Tuple[int, int]:
    """Write the blobs of ``commit`` under ``dest`` (regular files only; blobs a snapshot
    lacks are skipped). (files written, files missing)."""
    tree = subprocess.run(["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", commit],
                          check=True, capture_output=True).stdout.split(b"\0")
    entries = []
    for e in tree:
        if e:
            meta, path = e.split(b"\t", 1)
            mode, typ, sha = meta.split()
            if typ == b"blob" and mode in (b"100644", b"100755"):
                entries.append((sha, path.decode("utf-8", "surrogateescape")))
    proc = subprocess.Popen(["git", "--git-dir", git_dir, "cat-file", "--batch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    written = missing = 0
    try:
        for sha, rel in entries:
            proc.stdin.write(sha + b"\n")
            proc.stdin.flush()
            head = proc.stdout.readline().split()
            if head[-1] == b"missing":
                missing += 1
                continue
            data = proc.stdout.read(int(head[2]))
            proc.stdout.read(1)
            if ".." in rel.split("/") or rel.startswith("/"):
                continue
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            written += 1
    finally:
        proc.stdin.close()
        proc.wait()
    return written, missing


def checkout_all(doc: dict, mirror: Path, dest: Path) -> None:
    for r in doc["repos"]:
        git_dir = mirror / r["repo"].replace("/", "+") / "repo"
        if (git_dir / ".git").is_dir():
            git_dir = git_dir / ".git"
        if not git_dir.is_dir():
            print(f"{r['name']}: {git_dir} missing; run fetch github:{r['repo']} first")
            continue
        target = dest / r["name"]
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        n, miss = checkout(str(git_dir), r["commit"], target)
        print(f"{r['name']}: {n} files at {r['commit'][:10]}" + (f", {miss} blobs absent" if miss
                                                                 else ""))


# --- measurement --------------------------------------------------------------------------


@dataclass
class RepoResult:
    name: str
    score: Score
    scan_s: float
    stated_torch: Optional[str]
    date: Optional[str]
    constraint: Optional[str]
    admitted: Optional[bool]
    share: float
    plan_cpu: str
    plan_gpu: str


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def measure(doc: dict, checkouts: Path, repeat: int = 3) -> List[RepoResult]:
    from repro_core.scan import scan
    versions = torch_versions()
    out = []
    for r in doc["repos"]:
        path = checkouts / r["name"]
        if not path.is_dir():
            raise SystemExit(f"{path}: missing; see the top of {Path(__file__).name}")
        for f in r["files"]:
            if not (path / f).is_file():
                raise SystemExit(f"{path / f}: missing (not the labelled commit?)")
        from repro_core.plan import dropped_pins, exact_torch
        report = scan(str(path))
        t = best_time(lambda p=str(path): scan(p), repeat)
        score = match(labels_of(r), findings_of(report), r["files"], legacy_rule)
        report = dated(report, r)
        ranges = [exact_torch(report).spec] + [x.spec for x in dropped_pins(report)]
        stated = r["stated"].get("torch")
        out.append(RepoResult(
            r["name"], score, t, stated, report.reference_date, " or ".join(ranges),
            any(admitted(c, stated, versions) for c in ranges) if stated else None,
            admitted_share(ranges, versions), planned(report, None), planned(report, "8.9")))
    return out


def pct(x: Optional[float]) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def frac(a: int, b: int) -> str:
    return f"{a}/{b}" if b else "–"


HEADER = ("repository", "breaking found", "deprecated found", "precision", "new-API",
          "stated torch", "date", "torch range (exact)", "admitted", "share", "plan, no GPU",
          "plan, 8.9", "scan s")


def cells(s: Score) -> List[str]:
    return [f"{frac(s.found[c], s.labels[c])} {pct(s.recall(c))}" for c in CLASSES] + [
        f"{frac(s.right, s.findings)} {pct(s.precision())}", str(s.new_api)]


def table(results: List[RepoResult]) -> str:
    rows = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    total = Score()
    for x in results:
        total.add(x.score)
        rows.append("| " + " | ".join([x.name] + cells(x.score) + [
            x.stated_torch or "–", x.date or "–", x.constraint or "–",
            "–" if x.admitted is None else ("yes" if x.admitted else "NO"),
            f"{x.share:.2f}", x.plan_cpu, x.plan_gpu, f"{x.scan_s:.2f}"]) + " |")
    stated = [x for x in results if x.admitted is not None]
    shares = [x.share for x in results if x.constraint]
    rows.append("| " + " | ".join(
        [f"**total ({len(results)})**"] + [f"**{c}**" for c in cells(total)] + [
            f"{len(stated)} stated", "", "",
            f"**{sum(bool(x.admitted) for x in stated)}/{len(stated)}**",
            f"mean {mean([x.share for x in results]):.2f} "
            f"({mean(shares):.2f} of {len(shares)} with one)", "", "",
            f"max {max(x.scan_s for x in results):.2f}"]) + " |")
    return "\n".join(rows)


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 1.0


def misses_by_kind(results: List[RepoResult]) -> List[Tuple[str, str, int, List[str]]]:
    """(class, api, count, repositories) of the missed labels, most frequent first."""
    c: Counter = Counter()
    where: Dict[Tuple[str, str], set] = {}
    for x in results:
        for lab in x.score.missed:
            c[(lab.cls, lab.api)] += 1
            where.setdefault((lab.cls, lab.api), set()).add(x.name)
    return [(k[0], k[1], n, sorted(where[k])) for k, n in
            sorted(c.items(), key=lambda kv: (CLASSES.index(kv[0][0]), -kv[1], kv[0][1]))]


def big_repo_time(checkouts: Path, n: int, repeat: int) -> Dict[str, Tuple[int, float, float]]:
    """(files, scan s, walk+ast.parse s) of two n-file repositories: bench/scan.py's
    generated one (10 % legacy .py files) and its ``real_repo`` drawn from the checkouts
    (medians; ``python bench/scan.py --real`` prints the full table). The parse baseline,
    measured in the same run, makes figures taken under load comparable."""
    import importlib.util

    from repro_core.scan import scan
    spec = importlib.util.spec_from_file_location("bench_scan", ROOT / "bench" / "scan.py")
    bench_scan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_scan)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "generated"
        gen.mkdir()
        bench_scan.make_repo(gen, n, 0.10)
        real = Path(tmp) / "real"
        real.mkdir()
        bench_scan.real_repo(checkouts, real, n)
        for label, root in (("generated (bench/scan.py, 10% legacy)", gen),
                            ("real files from the labelled checkouts", real)):
            files = scan(str(root)).files_scanned
            out[label] = (files, bench_scan.median_wall(scan, str(root), repeat),
                          bench_scan.median_wall(bench_scan.parse_all, root, repeat))
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", type=Path, nargs="?", help="folder of <name>/ checkouts")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--checkout", type=Path, metavar="MIRROR",
                    help="first write the labelled commits from MIRROR/OWNER+NAME/repo")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--misses", action="store_true", help="list every miss and extra finding")
    ap.add_argument("--big", action="store_true", help="also time a 2,000-file repository")
    ap.add_argument("--json", type=Path, help="write the per-repository results here")
    args = ap.parse_args(argv)
    doc = load_labels(args.labels)
    if args.checkouts is None:
        ap.error("give the folder of checkouts")
    if args.checkout:
        checkout_all(doc, args.checkout, args.checkouts)
    results = measure(doc, args.checkouts, args.repeat)
    print(f"Python {sys.version.split()[0]}; labels {args.labels.name}; scan time best of "
          f"{args.repeat}\n")
    print(table(results))
    print("\nmissed labels by kind (class, api, count, repositories):")
    for cls, api, n, where in misses_by_kind(results):
        print(f"  {cls:<10} {n:>3}  {api}  [{', '.join(where)}]")
    if args.misses:
        for x in results:
            for lab in x.score.missed:
                print(f"  MISS  {x.name}/{lab.path}:{lab.line}  {lab.api} ({lab.cls})")
            for f in x.score.extra:
                print(f"  EXTRA {x.name}/{f.path}:{f.line}  {f.rule}")
    if args.big:
        print()
        for label, (files, t, tp) in big_repo_time(args.checkouts, 2000, args.repeat).items():
            print(f"scan of {files} files, {label}: {t:.2f} s "
                  f"(ast.parse of its .py files: {tp:.2f} s)")
    if args.json:
        data = [{**{k: v for k, v in asdict(x).items() if k != "score"},
                 "labels": x.score.labels, "found": x.score.found,
                 "findings": x.score.findings, "right": x.score.right,
                 "new_api": x.score.new_api,
                 "missed": [asdict(m) for m in x.score.missed],
                 "extra": [asdict(e) for e in x.score.extra]} for x in results]
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
