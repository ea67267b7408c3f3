"""``repro reproduce``: take a paper repository from its pinned stack to a passing smoke run.

Stages, each logged with its time and result and recorded in ``WORKDIR/.reproduce/journal.json``
as it completes (atomically), so an interrupted run resumes where it stopped::

    scan -> plan (on a Hardware) -> for each candidate tried:
        lock -> env -> copy -> migrate (forward-port) -> build (own extensions) -> smoke
        -> on failure: diagnose, apply the fix (pin/install: new lock + env; migrate: rewrite
           the copy; env/arch: a variable), next round, up to ``max_rounds`` smoke runs
    -> snapshot of the passing env -> reproduce-report.json / .md

The user's checkout is only read: the code is copied into ``WORKDIR/cN/code`` (links that
point out of the tree are not followed or copied) and every rewrite happens there.

    from repro_core.reproduce import reproduce
    from repro_core.hardware import Hardware
    rep = reproduce("examples/legacy-vit", Hardware(), workdir="/tmp/w")
    rep.passed, rep.chosen, rep.to_json()           # ReproduceReport; from_json() reads it back
"""

import difflib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text
from repro_core.hardware import Hardware

STAGES = ("scan", "plan", "lock", "env", "copy", "migrate", "build", "smoke", "diagnose", "fix",
          "snapshot")
STRATEGIES = ("auto", "exact", "forward-port")
FIX_KINDS = ("pin", "install", "migrate", "env", "arch", "build")
_PLAN_PINNED = ("torch", "torchvision", "torchaudio")  # never relaxed by an env repair
JOURNAL = os.path.join(".reproduce", "journal.json")
REPORT_JSON = "reproduce-report.json"
REPORT_MD = "reproduce-report.md"
TAIL_LINES = 40
SMOKE_TIMEOUT = 3600.0
BUILD_TIMEOUT = 3600.0
_SKIP_COPY = (".git", ".hg", ".svn", "__pycache__")


@dataclass(frozen=True)
class Stage:
    """One completed step: ``key`` (``scan``, ``c3.lock1``, ``c3.r2.smoke`` ...) names it in the
    journal; ``status`` is "ok", "failed" or "skipped"; ``data`` is the stage's own record."""

    key: str
    name: str
    status: str
    seconds: float
    summary: str
    candidate: int = 0
    round: int = 0
    data: Dict[str, Any] = field(default_factory=dict)
    resumed: bool = False

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Stage":
        return cls(**d)


@dataclass(frozen=True)
class Attempt:
    """One plan candidate tried: how it ended ("passed" or "rejected") and why."""

    candidate: int
    strategy: str
    torch: str
    python: str
    outcome: str
    why: str
    rounds: int


@dataclass(frozen=True)
class ReproduceReport:
    path: str
    workdir: str
    hardware: Dict[str, Any]
    strategy: str
    passed: bool
    chosen: int  # 1-based plan candidate that passed; 0 when none did
    why_chosen: str
    attempts: Tuple[Attempt, ...]
    stages: Tuple[Stage, ...]
    lock: str = ""  # the passing (else last) lock's text
    migrations: str = ""  # unified diff of the copy against the user's checkout
    build: Dict[str, Any] = field(default_factory=dict)
    smoke_command: str = ""
    smoke_tail: str = ""
    snapshot_hash: str = ""
    env: str = ""  # the environment's folder
    seconds: float = 0.0

    @property
    def rounds(self) -> int:
        return sum(a.rounds for a in self.attempts)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ReproduceReport":
        d = json.loads(text)
        return cls(**{**d, "attempts": tuple(Attempt(**a) for a in d["attempts"]),
                      "stages": tuple(Stage.from_dict(s) for s in d["stages"])})


# --- the heavy stages (a test may replace one where the real one cannot run) ----------------


class Steps:
    """The stages that touch the network, build environments or run the repository's code."""

    def lock(self, plan: Any, candidate: int, cand: Any, date: str,
             extra: Sequence[str]) -> Any:
        from repro_core.lock import lock_plan

        cplan = replace(plan, candidates=tuple(cand if i == candidate - 1 else c
                                                for i, c in enumerate(plan.candidates)))
        return lock_plan(cplan, candidate, date=date, extra=list(extra))

    def env(self, lock: Any, prefix: str) -> str:
        """Create the env; its interpreter's path."""
        from repro_core.envs import create_env

        return create_env(lock, prefix=prefix, progress=False).python_bin

    def migrate(self, code: str, target: Dict[str, str],
                rules: Optional[Sequence[str]]) -> Dict[str, Any]:
        from repro_core import migrate as migrating  # type: ignore[attr-defined]

        kwargs: Dict[str, Any] = {"target": target, "mode": "write"}
        if rules:
            kwargs["rules"] = list(rules)
        result = migrating.migrate(code, **kwargs)
        return _as_dict(result)

    def run(self, argv: Sequence[str], cwd: str, env: Dict[str, str], log: str,
            timeout: float) -> int:
        """Run ``argv``; its output (stdout and stderr) goes to ``log``; the exit status."""
        with open(log, "wb") as out:
            try:
                rc = subprocess.run(list(argv), cwd=cwd, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    timeout=timeout).returncode
                if rc < 0:  # a signal: say which, for diagnose (exit-crash)
                    out.write(f"\n{signal_line(rc)}\n".encode())
                return rc
            except subprocess.TimeoutExpired:
                out.write(f"\nrepro reproduce: timed out after {timeout:.0f} s\n".encode())
                return 124
            except OSError as e:
                out.write(f"\nrepro reproduce: cannot run {argv[0]}: {e.strerror}\n".encode())
                return 127

    def diagnose(self, text: str, hardware: Hardware, repo: Optional[str] = None
                 ) -> Dict[str, Any]:
        """{"findings": [{"rule", "title", "fix": {"kind", ...}}...]} for a failure's output
        (``repo``: the code it ran, whose own modules are never to be installed)."""
        from repro_core import diagnose as diagnosing  # type: ignore[attr-defined]

        return _as_dict(diagnosing.diagnose(text, hardware=hardware, repo=repo))

    def pythons(self) -> List[str]:
        """The Python minors ("3.10") that env creation can find on this machine."""
        from repro_core.envs import find_pythons

        return sorted({i.minor for i in find_pythons()})

    def snapshot(self, python: str) -> str:
        from repro_core.snapshot import take_snapshot

        return take_snapshot(python).hash


def signal_line(rc: int) -> str:
    """The line the runner adds to a log when the process died from signal ``-rc``."""
    import signal

    try:
        name = signal.Signals(-rc).name
    except ValueError:
        name = f"signal {-rc}"
    return f"repro reproduce: killed by signal {name} (exit {rc})"


def available(stage: str) -> bool:
    """Whether a stage's implementation is importable here (migrate and diagnose are
    optional modules)."""
    import importlib.util

    return importlib.util.find_spec(f"repro_core.{stage}") is not None


def _as_dict(value: Any) -> Dict[str, Any]:
    if isinstance(value, dict):
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "to_json"):
        out = value.to_json()
        return json.loads(out) if isinstance(out, str) else out
    return asdict(value)


# --- the journal -----------------------------------------------------------------------------


class _Journal:
    """Completed steps, persisted atomically after each one."""

    def __init__(self, workdir: str, header: Dict[str, Any], resume: bool) -> None:
        self.path = os.path.join(workdir, JOURNAL)
        self.header = header
        self.done: Dict[str, Stage] = {}
        self.order: List[str] = []
        self.stages: List[Stage] = []
        if resume and os.path.isfile(self.path):
            try:
                with open(self.path, encoding="utf-8") as f:
                    d = json.load(f)
                old = [Stage.from_dict(s) for s in d["stages"]]
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise ReproError(f"{self.path}: not a reproduce journal ({e})") from None
            if d.get("path") != header["path"]:
                raise ReproError(f"{self.path}: the workdir is for {d.get('path')}, not "
                                 f"{header['path']}")
            self.done = {s.key: s for s in old}
            self.order = [s.key for s in old]

    def reusable(self, key: str) -> Optional[Stage]:
        """A recorded step to reuse: "ok" ones, and "failed" ones the run already went past
        (a later step was recorded: the next round, or the next candidate after a rejection)."""
        s = self.done.get(key)
        if s is None or s.status in ("skipped", "ok"):
            return s
        return s if self.order[self.order.index(key) + 1:] else None

    def record(self, stage: Stage) -> None:
        self.stages.append(stage)
        atomic_write_text(self.path, json.dumps(
            {**self.header, "stages": [asdict(s) for s in self.stages]}, indent=2))


# --- helpers ---------------------------------------------------------------------------------


def _log(progress: bool, text: str) -> None:
    if progress:
        print(f"repro reproduce: {text}", file=sys.stderr, flush=True)


def _tail(path: str, lines: int = TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 200_000))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


_ERROR_LINE = re.compile(r"(fatal error|error:|Error\b|No such file)")


def error_lines(path: str, limit: int = 8) -> List[str]:
    """The first lines of a log that state an error (a build log's cause, which its tail of
    Python tracebacks hides)."""
    return [ln.strip() for ln in _read(path).splitlines() if _ERROR_LINE.search(ln)][:limit]


def _read(path: str, limit: int = 2_000_000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def copy_tree(src: str, dst: str) -> List[str]:
    """Copy the repository at ``src`` to the new folder ``dst`` (built beside it, renamed at
    the end). Links stay links when they point inside the tree; links out of it are left
    out (so nothing written in the copy can reach the user's files). Version-control folders
    and ``__pycache__`` are not copied. The links left out, relative to ``src``."""
    src = os.path.realpath(src)
    if os.path.lexists(dst):
        raise ReproError(f"{dst}: already exists")
    parent = os.path.dirname(os.path.abspath(dst))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(dst)}.", suffix=".partial", dir=parent)
    skipped: List[str] = []
    try:
        for dirpath, dirnames, filenames in os.walk(src):
            rel = os.path.relpath(dirpath, src)
            out = os.path.join(tmp, rel) if rel != "." else tmp
            for name in list(dirnames):
                full = os.path.join(dirpath, name)
                if name in _SKIP_COPY or (os.path.islink(full)):
                    dirnames.remove(name)
                    if os.path.islink(full):
                        filenames.append(name)  # handled as a link below
                    continue
                os.makedirs(os.path.join(out, name), exist_ok=True)
            for name in filenames:
                full = os.path.join(dirpath, name)
                target = os.path.join(out, name)
                if os.path.islink(full):
                    real = os.path.realpath(full)
                    if _inside(real, src) and os.path.exists(real):
                        os.symlink(os.path.relpath(real, os.path.realpath(dirpath)), target)
                    else:
                        skipped.append(os.path.relpath(full, src))
                elif os.path.isfile(full):
                    shutil.copy2(full, target)
        os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return skipped


def tree_diff(original: str, copy: str) -> str:
    """Unified diff (``a/`` the user's checkout, ``b/`` the copy) of the text files that are
    in both and differ."""
    out: List[str] = []
    original = os.path.realpath(original)
    for dirpath, dirnames, filenames in os.walk(original):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_COPY)
        for name in sorted(filenames):
            a = os.path.join(dirpath, name)
            rel = os.path.relpath(a, original)
            b = os.path.join(copy, rel)
            if os.path.islink(a) or not os.path.isfile(a) or not os.path.isfile(b):
                continue
            try:
                with open(a, "rb") as f:
                    old = f.read()
                with open(b, "rb") as f:
                    new = f.read()
            except OSError:
                continue
            if old == new or b"\0" in old[:8192]:
                continue
            out.extend(difflib.unified_diff(
                old.decode("utf-8", "replace").splitlines(True),
                new.decode("utf-8", "replace").splitlines(True),
                f"a/{rel}", f"b/{rel}"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def arch_list(hardware: Hardware) -> str:
    """TORCH_CUDA_ARCH_LIST for the hardware's GPUs ("8.6;8.9"); "" without a GPU."""
    ccs = sorted({g.cc for g in hardware.gpus}, key=lambda c: tuple(int(x) for x in c.split(".")))
    return ";".join(ccs)


def migrate_target(lock: Any) -> Dict[str, str]:
    """The stack to migrate for: every pin of the env's lock (local versions dropped), its
    Python, and the CUDA of a ``cuXYZ`` variant."""
    out = {p.name.lower(): p.version.split("+")[0] for p in lock.pins if p.version}
    out["python"] = lock.python
    if lock.variant.startswith("cu") and len(lock.variant) > 3:
        out["cuda"] = f"{lock.variant[2:-1]}.{lock.variant[-1]}"
    return out


def order_candidates(plan: Any, strategy: str) -> List[int]:
    """1-based candidate numbers in the order to try them. ``exact``: the exact ones, as
    ranked. ``forward-port``: the newest torch first (migrations target it), then the rest as
    ranked. ``auto``: the exact ones as ranked, then the forward-ports, newest first (a
    forward-port rewrites the code anyway; it does so once, for the newest stack)."""
    if strategy not in STRATEGIES:
        raise ReproError(f"strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    from packaging.version import Version

    cands = list(enumerate(plan.candidates, 1))
    exact = [n for n, c in cands if c.strategy == "exact"]
    forward = [n for n, c in cands if c.strategy != "exact"]
    newest = sorted(forward, key=lambda n: Version(plan.candidates[n - 1].torch.split("+")[0]),
                    reverse=True)[:1]
    forward = newest + [n for n in forward if n not in newest]
    if strategy == "exact":
        return exact
    if strategy == "forward-port":
        return forward
    return exact + forward


def setup_folders(report: Any, code: str) -> List[str]:
    """The folders (relative to the repository) whose setup.py builds an extension scan found
    (its ``build`` names the file, "setup.py" or "setup.py:3 CUDAExtension (cuda)"); an
    extension built by another script (``make.sh``) counts when a setup.py sits beside it."""
    out: List[str] = []
    for e in report.extensions:
        build = (e.build or "").split(":")[0].split(" ")[0]
        if not build:
            continue
        rel = os.path.normpath(os.path.dirname(build) if os.sep in build or "/" in build
                               else e.path)
        if rel not in out and os.path.isfile(os.path.join(code, rel, "setup.py")):
            out.append(rel)
    return out


def python_for(cand: Any, have: Sequence[str]) -> Tuple[str, str]:
    """The Python to build ``cand``'s env with: its own when installed here, else the newest
    installed one its torch has wheels for; and a note when it is not the candidate's."""
    from repro_core import compat, kb

    if cand.python in have or not have:
        return cand.python, ""
    torch = cand.torch.split("+")[0]
    ok = [p for p in reversed(kb.python_versions()) if p in have and compat.python_ok(torch, p)[0]]
    if not ok:
        return cand.python, ""
    return ok[0], (f"Python {cand.python} is not installed here; Python {ok[0]} instead "
                   f"(torch {torch} has wheels for it)")


def lock_date(cand: Any, report: Any) -> Optional[str]:
    """The date a candidate is locked as of: the paper's for an exact candidate (its other
    packages as they were then), none (today) for a forward-port, whose pins postdate it."""
    return report.reference_date if cand.strategy == "exact" else None


def _requirement_name(spec: str) -> Optional[str]:
    """The distribution a requirement names, or None when ``spec`` is not a requirement
    (diagnose may name a module that is no distribution, e.g. an unbuilt ``_ext``)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(spec).name)
    except InvalidRequirement:
        return None


def unregistered_import(error: str, report: Any) -> Optional[str]:
    """The requirement a lock error says is not in the package registry, when the scan has it
    only from imports (no version) or from a VCS/URL requirement line (``git+https://...``,
    which the registry cannot provide): an optional part's dependency, a name that is no
    distribution, or a git-only package, which the lock may leave out. None otherwise."""
    from packaging.utils import canonicalize_name

    m = re.search(r"\b([A-Za-z0-9][A-Za-z0-9._-]*) was not found in the package registry", error)
    if not m:
        return None
    name = canonicalize_name(m.group(1))
    ev = [e for e in report.evidence if canonicalize_name(e.package) == name]
    if ev and all((e.kind == "api" or "VCS/URL requirement" in e.reason) and not e.specifier
                  for e in ev):
        return name
    return None


# --- the pipeline ----------------------------------------------------------------------------


@dataclass
class _Fixes:
    """What the rounds changed: requirement overrides/additions, variables, rules rewritten."""

    requirements: Dict[str, str] = field(default_factory=dict)  # name -> "name==1.2"
    env: Dict[str, str] = field(default_factory=dict)
    rules: List[str] = field(default_factory=list)
    rebuild: bool = False


class Reproducer:
    def __init__(self, path: str, hardware: Hardware, strategy: str = "auto",
                 workdir: Optional[str] = None, smoke: Optional[str] = None,
                 max_rounds: int = 3, resume: bool = False, progress: bool = True,
                 steps: Optional[Steps] = None) -> None:
        if not os.path.isdir(path):
            raise ReproError(f"{path}: not a directory")
        if max_rounds < 1:
            raise ReproError(f"max_rounds {max_rounds}: must be at least 1")
        if strategy not in STRATEGIES:
            raise ReproError(f"strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
        self.path = os.path.realpath(path)
        name = os.path.basename(self.path.rstrip(os.sep)) or "repo"
        self.workdir = os.path.abspath(workdir or f"reproduce-{name}")
        if _inside(os.path.realpath(self.workdir), self.path):
            raise ReproError(f"{self.workdir}: the workdir is inside the repository "
                             f"{self.path}; choose one outside it")
        journal = os.path.join(self.workdir, JOURNAL)
        if os.path.exists(self.workdir):
            if not os.path.isdir(self.workdir):
                raise ReproError(f"{self.workdir}: exists and is not a folder")
            # a run that stopped before its first stage leaves only an empty .reproduce
            left = [e for e in os.listdir(self.workdir) if not (
                e == ".reproduce" and not os.listdir(os.path.join(self.workdir, e)))]
            if left and not (resume and os.path.isfile(journal)):
                raise ReproError(f"{self.workdir}: not empty; resume it (--resume) or choose "
                                 f"another workdir")
        self.hardware = hardware
        self.strategy, self.smoke, self.max_rounds = strategy, smoke, max_rounds
        self.progress = progress
        self.steps = steps or Steps()
        self.unavailable: List[str] = []  # requirements the current lock left out
        self.torch = ""
        self.relaxed: set = set()
        header = {"version": 1, "path": self.path, "hardware": hardware.to_dict(),
                  "strategy": strategy, "smoke": smoke, "max_rounds": max_rounds}
        os.makedirs(os.path.dirname(journal), exist_ok=True)
        self.journal = _Journal(self.workdir, header, resume)
        self.started = time.monotonic()

    # one step, reused from the journal when it already completed
    def step(self, key: str, name: str, fn: Callable[[], Tuple[str, str, Dict[str, Any]]],
             candidate: int = 0, rnd: int = 0,
             valid: Callable[[Dict[str, Any]], bool] = lambda d: True) -> Stage:
        old = self.journal.reusable(key)
        if old is not None and valid(old.data):
            stage = replace(old, resumed=True)
            self.journal.record(stage)
            _log(self.progress, f"{name:<8} {stage.status} (from the journal): {stage.summary}")
            return stage
        t0 = time.monotonic()
        status, summary, data = fn()
        stage = Stage(key, name, status, round(time.monotonic() - t0, 2), summary, candidate,
                      rnd, data)
        self.journal.record(stage)
        _log(self.progress, f"{name:<8} {status} in {stage.seconds:.1f} s: {summary}")
        return stage

    def run(self) -> ReproduceReport:
        from repro_core.plan import Plan, plan
        from repro_core.scan import ScanReport, scan

        def do_scan() -> Tuple[str, str, Dict[str, Any]]:
            r = scan(self.path)
            return "ok", (f"{r.files_scanned} files, {len(r.findings)} findings, "
                          f"{len(r.extensions)} extension(s), reference date "
                          f"{r.reference_date}"), {"report": r.to_dict()}

        s = self.step("scan", "scan", do_scan)
        report = ScanReport.from_dict(s.data["report"])

        def do_plan() -> Tuple[str, str, Dict[str, Any]]:
            p = plan(report, self.hardware)
            gpu = f"GPU {p.gpu}" if p.gpu else "no GPU"
            return "ok", (f"{len(p.candidates)} candidates for {gpu}: " + ", ".join(
                f"{c.strategy} torch {c.torch_build} py{c.python}" for c in p.candidates)), \
                {"plan": p.to_dict()}

        s = self.step("plan", "plan", do_plan)
        the_plan = Plan.from_json(json.dumps(s.data["plan"]))
        order = order_candidates(the_plan, self.strategy)
        _log(self.progress, "candidates to try, in order: " + ", ".join(
            f"{n} ({the_plan.candidates[n - 1].strategy} torch "
            f"{the_plan.candidates[n - 1].torch_build})" for n in order))
        attempts: List[Attempt] = []
        best: Dict[str, Any] = {}
        for n in order:
            outcome = self.candidate(report, the_plan, n)
            attempts.append(outcome[0])
            best = outcome[1]
            if outcome[0].outcome == "passed":
                break
        if not order:
            note = f"no {self.strategy} candidate in the plan"
            _log(self.progress, note)
        return self.finish(the_plan, attempts, best)

    def candidate(self, report: Any, the_plan: Any, n: int) -> Tuple[Attempt, Dict[str, Any]]:
        from repro_core.lock import Lock

        cand = the_plan.candidates[n - 1]
        desc = f"candidate {n}: {cand.strategy} torch {cand.torch_build}, Python {cand.python}"
        _log(self.progress, f"--- {desc}")
        cdir = os.path.join(self.workdir, f"c{n}")
        os.makedirs(cdir, exist_ok=True)
        fixes = _Fixes()
        state: Dict[str, Any] = {"candidate": n, "lock": "", "env": "", "build": {},
                                 "smoke": {}, "code": "", "migrations": ""}
        rounds = 0

        def attempt(outcome: str, why: str) -> Tuple[Attempt, Dict[str, Any]]:
            _log(self.progress, f"candidate {n} {outcome}: {why}")
            return Attempt(n, cand.strategy, cand.torch_build, cand.python, outcome, why,
                           rounds), state

        py, note = python_for(cand, self.steps.pythons())
        if note:
            _log(self.progress, note)
        cand = replace(cand, python=py)
        self.torch = cand.torch.split("+")[0]  # what a pin fix must not contradict
        self.relaxed = set()  # packages whose bound an env repair dropped
        generation = 0
        python = ""
        applied: List[str] = []  # what each round's fix did
        tried: List[str] = []  # the fixes applied, as _fix_text gives them
        passed_before = ""  # why, when a round passed but the build is being repaired
        for rnd in range(1, self.max_rounds + 1):
            # (re)lock and (re)create the env when the requirements changed
            want = dict(fixes.requirements)
            while generation == 0 or want != state.get("requirements"):
                generation += 1
                gen = generation
                c2 = cand
                extra = [r for k, r in sorted(want.items())
                         if k not in ("torch", "torchvision", "timm", "numpy")]
                for k in ("torch", "torchvision", "timm", "numpy"):
                    if k in want:
                        c2 = replace(c2, **{k: want[k].split("==", 1)[1] if "==" in want[k]
                                            else ""})
                        if "==" not in want[k]:
                            extra.append(want[k])

                s = self.step(f"c{n}.lock{gen}", "lock",
                              partial(self._lock, the_plan, n, c2, report, extra, cdir, gen),
                              n, rnd)
                if s.status != "ok":
                    return attempt("rejected", f"lock failed: {s.summary}")
                lk = Lock.from_json(json.dumps(s.data["lock"]))
                self.unavailable = list(s.data.get("dropped") or ())
                state["lock"] = lk.text()
                prefix = os.path.join(self.workdir, "envs", f"c{n}-{gen}")

                repaired = f"c{n}.env{gen}.fix"  # a failed env the run went past stays failed
                s = self.step(f"c{n}.env{gen}", "env", partial(self._env, lk, prefix), n, rnd,
                              valid=lambda d, k=repaired: os.path.exists(d.get("python", "")) or (
                                  "error" in d and self.journal.reusable(k) is not None))
                if s.status != "ok":
                    # an sdist that no longer builds: diagnose the error; a relaxed bound
                    # means a new lock and env (at most max_rounds of them)
                    if gen < self.max_rounds + 1 and self._env_repair(
                            n, gen, rnd, s.summary, fixes, tried, applied):
                        want = dict(fixes.requirements)
                        continue
                    return attempt("rejected", f"env create failed: {s.summary}")
                state["requirements"] = want
                python = s.data["python"]
                state["env"] = s.data["prefix"]
                fixes.rebuild = True

            code = os.path.join(cdir, "code")
            state["code"] = code
            if rnd == 1:
                self.step(f"c{n}.copy", "copy", partial(self._copy, code), n, rnd,
                          valid=lambda d: os.path.isdir(d.get("code", "")))
                if cand.strategy == "forward-port":
                    self.step(f"c{n}.migrate", "migrate",
                              partial(self._migrate, code, migrate_target(lk), None), n, rnd)
                state["migrations"] = tree_diff(self.path, code)

            # build the repository's own extensions
            if fixes.rebuild or rnd == 1:
                fixes.rebuild = False
                bstage = self.step(f"c{n}.r{rnd}.build", "build",
                                   partial(self._build, report, code, python, dict(fixes.env),
                                           cdir, rnd), n, rnd)
                state["build"] = bstage.data
            sstage = self.step(f"c{n}.r{rnd}.smoke", "smoke",
                               partial(self._smoke, code, python, dict(fixes.env), cdir, rnd),
                               n, rnd)
            rounds = rnd
            state["smoke"] = sstage.data
            build_failed = state["build"].get("status") == "failed"

            def passed(why: str, rnd: int = rnd, python: str = python
                       ) -> Tuple[Attempt, Dict[str, Any]]:
                snap = self.step(f"c{n}.snapshot", "snapshot",
                                 partial(self._snapshot, python), n, rnd)
                state["snapshot"] = snap.data.get("hash", "")
                return attempt("passed", why)

            if sstage.status == "ok":
                why = (f"the smoke run passed in round {rnd} with {cand.strategy} torch "
                       f"{cand.torch_build} on Python {cand.python}")
                if applied:
                    why += " after " + "; ".join(applied)
                if not build_failed:
                    return passed(why)
                why += (f"; the repository's extension did not build ("
                        f"{state['build'].get('log', '')}), the code ran without it")
                if rnd == self.max_rounds:
                    return passed(why)
                # it ran without its extension: try to repair the build (code and variables
                # only, the env that passed stays)
                text = _read(os.path.join(self.workdir, state["build"].get("log", "")))
                kinds = ("migrate", "env", "arch", "build")
            else:
                # half a model-step smoke passed (every module imported, or a model took its
                # step): diagnose may fix the rest in the same env, else the run passes on it
                imported = passed_before
                half = {3: "every module imported", 4: "a model took a training step"}.get(
                    sstage.data.get("exit")) if sstage.data.get("kind") == "model_step" else None
                if half:
                    imported = imported or (
                        f"{half} in round {rnd} with {cand.strategy} torch {cand.torch_build} "
                        f"on Python {cand.python}, but " + (
                            "no model could take a training step" if sstage.data["exit"] == 3
                            else "a module failed to import")
                        + f" ({sstage.data.get('log', '')})")
                if rnd == self.max_rounds:
                    if imported:
                        return passed(imported)
                    return attempt("rejected", f"the smoke run still fails after {rnd} "
                                               f"round(s) (--max-rounds {self.max_rounds})")
                # diagnose (the smoke output first, then a failed build's log) and fix
                text = _read(os.path.join(self.workdir, sstage.data.get("log", "")))
                if build_failed:
                    text += "\n" + _read(os.path.join(self.workdir, state["build"].get("log", "")))
                # after a step-only failure the env that imported stays: code and variables
                kinds = ("migrate", "env", "arch", "build") if half else FIX_KINDS
                why = imported
            dstage = self.step(f"c{n}.r{rnd}.diagnose", "diagnose",
                               partial(self._diagnose, text, list(tried), kinds, code), n, rnd)
            todo = dstage.data.get("fixes") or []
            if not todo:
                if why or passed_before:
                    return passed(why or passed_before)
                return attempt("rejected", f"round {rnd}: {dstage.summary}")
            fstage = self.step(f"c{n}.r{rnd}.fix", "fix",
                               partial(self._apply_all, todo, code, migrate_target(lk)),
                               n, rnd)
            done = fstage.data.get("applied") or []
            if not done:
                if why or passed_before:
                    return passed(why or passed_before)
                return attempt("rejected", f"round {rnd}: cannot apply the fix: "
                                           f"{fstage.summary}")
            passed_before = why or passed_before
            for fix in done:
                self._replay(fix, fixes)
            tried.extend(_fix_text(f) for fixes_ in todo for f in fixes_)
            applied.append(fstage.summary)
            state["migrations"] = tree_diff(self.path, code)
        return attempt("rejected", "no round left")  # pragma: no cover (loop returns)

    def _env_repair(self, n: int, gen: int, rnd: int, error: str, fixes: "_Fixes",
                    tried: List[str], applied: List[str]) -> bool:
        """Diagnose an env-creation failure; when it names a pin fix for a package the plan
        does not pin (an unbuildable sdist's bound relaxed), record and apply it: True."""
        dstage = self.step(f"c{n}.env{gen}.diagnose", "diagnose",
                           partial(self._diagnose, error, list(tried), ("pin",)), n, rnd)
        todo = [[f for f in fs if _requirement_name(_fix_requirement(f)) not in _PLAN_PINNED]
                for fs in dstage.data.get("fixes") or []]
        todo = [fs for fs in todo if fs]
        if not todo:
            return False
        fstage = self.step(f"c{n}.env{gen}.fix", "fix",
                           partial(self._apply_all, todo, "", {}), n, rnd)
        done = fstage.data.get("applied") or []
        for fix in done:
            self._replay(fix, fixes)
            self.relaxed.add(_requirement_name(_fix_requirement(fix)))
        tried.extend(_fix_text(f) for fs in todo for f in fs)
        if done:
            applied.append(fstage.summary)
        return bool(done)

    def _contradicts(self, kind: str, name: str, spec: str) -> str:
        """Why a pin fix cannot apply to this candidate ("" when it can): a torch pin its torch
        does not satisfy (that is another candidate), or a bound an env repair dropped."""
        from packaging.requirements import Requirement

        if kind != "pin":
            return ""
        if name == "torch" and self.torch:
            try:
                ok = Requirement(spec).specifier.contains(self.torch, prereleases=True)
            except ValueError:
                ok = True
            if not ok:
                return (f"{spec} excludes this candidate's torch {self.torch} (another "
                        f"candidate may have it)")
        if name in self.relaxed:
            return (f"{spec}: the bound of {name} was dropped because its release in range "
                    f"does not build here")
        return ""

    # -- stage bodies --------------------------------------------------------------------

    def _lock(self, the_plan: Any, n: int, cand: Any, report: Any, extra: List[str],
              cdir: str, gen: int) -> Tuple[str, str, Dict[str, Any]]:
        from repro_core.lock import _scan_extra, extension_build_extra

        # a fix's requirement replaces the scan's for the same package (a relaxed bound); what
        # building the extensions needs (setuptools<70 for torch 1.8 - 2.1, cython<3 for Python 2
        # era .pyx) replaces the scan's bound too, unless a fix names the package
        fixed = {_requirement_name(r) for r in extra}
        builds = [r for r in extension_build_extra(cand.torch, report.path, setup_folders(
            report, report.path)) if _requirement_name(r) not in fixed]
        fixed |= {_requirement_name(r) for r in builds}
        extra = [r for r in _scan_extra(report) if _requirement_name(r) not in fixed] + extra \
            + builds
        dropped: List[str] = []
        while True:
            try:
                lk = self._lock_dated(the_plan, n, cand, report, extra)
                break
            except ReproError as e:
                # an import of an optional part (detectron2 in DETR's d2/) that is no
                # distribution on the registry: left out, said so, locked again
                name = unregistered_import(str(e), report)
                if not name or len(dropped) >= 5:
                    return "failed", str(e), {"error": str(e), "dropped": dropped}
                dropped.append(name)
                extra = [r for r in extra if _requirement_name(r) != name]
        path = os.path.join(cdir, f"requirements{gen}.lock")
        atomic_write_text(path, lk.text())
        note = (f" (left out, imported only or a VCS/URL requirement, and not in the "
                f"package registry: {', '.join(dropped)})" if dropped else "")
        return "ok", (f"{len(lk.pins)} pins for Python {lk.python}, variant "
                      f"{lk.variant or 'none'}, as of {lk.date} -> "
                      f"{os.path.relpath(path, self.workdir)}{note}"), \
            {"lock": lk.to_dict(), "file": path, "dropped": dropped}

    def _lock_dated(self, the_plan: Any, n: int, cand: Any, report: Any,
                    extra: List[str]) -> Any:
        try:
            return self.steps.lock(the_plan, n, cand, lock_date(cand, report), extra)
        except ReproError as e:
            if lock_date(cand, report) is None:
                raise
            try:  # a pin of the stated stack may postdate the paper (a later patch release)
                return self.steps.lock(the_plan, n, cand, None, extra)
            except ReproError as e2:
                raise ReproError(f"{e2} (and as of the paper's date: {e})") from None

    def _env(self, lk: Any, prefix: str) -> Tuple[str, str, Dict[str, Any]]:
        if os.path.lexists(prefix):  # a run interrupted after the rename, before the journal
            shutil.rmtree(prefix, ignore_errors=True)
        try:
            py = self.steps.env(lk, prefix)
        except ReproError as e:
            return "failed", str(e), {"error": str(e)}
        return "ok", f"{prefix} ({len(lk.pins)} packages)", {"python": py, "prefix": prefix}

    def _copy(self, code: str) -> Tuple[str, str, Dict[str, Any]]:
        if os.path.lexists(code):
            shutil.rmtree(code)
        try:
            skipped = copy_tree(self.path, code)
        except OSError as e:
            raise ReproError(f"cannot copy {self.path} to {code}: {e}") from None
        return "ok", (f"{self.path} -> {code}" + (
            f" ({len(skipped)} link(s) out of the tree left out)" if skipped else "")), \
            {"code": code, "links_left_out": skipped}

    def _migrate(self, code: str, target: Dict[str, str],
                 rules: Optional[Sequence[str]]) -> Tuple[str, str, Dict[str, Any]]:
        if not available("migrate"):
            return "skipped", "repro_core.migrate is not installed here", {}
        try:
            result = self.steps.migrate(code, target, rules)
        except ReproError as e:
            return "failed", str(e), {"error": str(e)}
        changes, files = result.get("changes") or (), result.get("files_changed") or ()
        text = (f"{len(changes)} change(s) in {len(files)} file(s)"
                + (f", {len(result['review'])} for review" if result.get("review") else "")
                + (f", {len(result['failed'])} file(s) not parsed" if result.get("failed")
                   else ""))
        if rules and not changes:
            return "failed", f"{', '.join(rules)}: nothing to rewrite in the code", {
                "result": result}
        return "ok", text, {"result": result, "target": target}

    def _env_vars(self, python: str, extra: Dict[str, str]) -> Dict[str, str]:
        env = dict(os.environ)
        bindir = os.path.dirname(python)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env["VIRTUAL_ENV"] = os.path.dirname(bindir)
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        archs = arch_list(self.hardware)
        if archs:
            env["TORCH_CUDA_ARCH_LIST"] = archs
        else:  # CPU only: hide any GPU, build the CPU op
            env["CUDA_VISIBLE_DEVICES"] = ""
            env["FORCE_CUDA"] = "0"
            env.pop("TORCH_CUDA_ARCH_LIST", None)
        env.update(extra)
        return env

    def _build(self, report: Any, code: str, python: str, extra: Dict[str, str], cdir: str,
               rnd: int) -> Tuple[str, str, Dict[str, Any]]:
        if not report.extensions:
            return "skipped", "the repository has no C++/CUDA extension", {}
        from repro_core.lock import builds_pyx

        folders = setup_folders(report, code)
        if not folders:
            return "skipped", ("extensions found, but no setup.py builds them: "
                               + ", ".join(sorted({e.path for e in report.extensions}))), {}
        env = self._env_vars(python, extra)
        results = []
        status = "ok"
        for i, rel in enumerate(folders):
            folder = os.path.normpath(os.path.join(code, rel))
            log = os.path.join(cdir, f"r{rnd}-build{i + 1}.log")
            # Cython sources: --force regenerates the C files the repository ships
            force = ["--force"] if builds_pyx(code, rel) else []
            argv = [python, "setup.py", "build_ext", "--inplace"] + force
            rc = self.steps.run(argv, folder, env, log, BUILD_TIMEOUT)
            results.append({"folder": rel, "command": " ".join(
                ["python setup.py build_ext --inplace"] + force),
                            "exit": rc, "log": os.path.relpath(log, self.workdir),
                            "tail": _tail(log, 15), "errors": error_lines(log)})
            if rc != 0:
                status = "failed"
        archs = env.get("TORCH_CUDA_ARCH_LIST") or "CPU only"
        summary = ", ".join(r["folder"] + (": built" if r["exit"] == 0 else
                                           f": exit {r['exit']}: " + (r["errors"] or [""])[0])
                            for r in results) + f" (TORCH_CUDA_ARCH_LIST: {archs})"
        return status, summary, {"status": status, "builds": results,
                                 "arch_list": env.get("TORCH_CUDA_ARCH_LIST", ""),
                                 "log": results[-1]["log"] if results else ""}

    def _smoke_argv(self, code: str) -> Tuple[List[str], str, Dict[str, str], str, str]:
        if self.smoke:
            return ["bash", "-c", self.smoke], code, {}, self.smoke, "given"
        from repro_core.smoke import infer

        sp = infer(code, self.unavailable)
        shown = ("python -c '<import each module>'" if sp.kind == "import" else
                 "python -c '<import each module, then a training step of a model>'"
                 if sp.kind == "model_step"
                 else " ".join(shlex.quote(a) for a in sp.argv))  # all of it: data["argv"]
        return (list(sp.argv), os.path.normpath(os.path.join(code, sp.cwd)), dict(sp.env),
                shown + f"   ({sp.why})", sp.kind)

    def _smoke(self, code: str, python: str, extra: Dict[str, str], cdir: str,
               rnd: int) -> Tuple[str, str, Dict[str, Any]]:
        argv, cwd, env_add, shown, kind = self._smoke_argv(code)
        if not self.smoke and argv and re.match(r"^python(\d(\.\d+)?)?$", argv[0]):
            argv[0] = python
        env = self._env_vars(python, {**env_add, **extra})
        log = os.path.join(cdir, f"r{rnd}-smoke.log")
        _log(self.progress, f"smoke: {shown}")
        t0 = time.monotonic()
        rc = self.steps.run(argv, cwd, env, log, SMOKE_TIMEOUT)
        tail = _tail(log)
        last = next((ln for ln in reversed(tail.splitlines()) if ln.strip()), "")
        data = {"command": shown, "kind": kind, "argv": list(argv), "exit": rc,
                "log": os.path.relpath(log, self.workdir), "tail": tail,
                "seconds": round(time.monotonic() - t0, 2)}
        if rc == 0:
            return "ok", f"passed (exit 0): {last[:160]}", data
        return "failed", f"exit {rc}: {last[:160]}", data

    def _diagnose(self, text: str, tried: Sequence[str],
                  kinds: Sequence[str] = FIX_KINDS, repo: Optional[str] = None
                  ) -> Tuple[str, str, Dict[str, Any]]:
        if not available("diagnose"):
            return "skipped", "repro_core.diagnose is not installed here: no fix", {}
        try:
            d = (self.steps.diagnose(text, self.hardware, repo) if repo
                 else self.steps.diagnose(text, self.hardware))
        except ReproError as e:
            return "failed", str(e), {"error": str(e)}
        findings = [f for f in d.get("findings") or () if f.get("severity", "error") == "error"]
        todo: List[List[Dict[str, Any]]] = []  # per finding: its untried fixes, preferred first
        seen: List[str] = []
        why: List[str] = []
        for f in findings:
            fixes = [x for x in f.get("fixes") or () if x.get("kind") in kinds
                     and _fix_text(x) not in tried and _fix_text(x) not in seen]
            if fixes:
                todo.append(fixes)
                seen.extend(_fix_text(x) for x in fixes)
                why.append(f"{_finding_title(f)} -> " + " | ".join(_fix_text(x) for x in fixes))
        if todo:
            return "ok", "; ".join(why), {"diagnosis": d, "fixes": todo}
        if findings:
            return "failed", ("no untried fix (" + "; ".join(
                _finding_title(f) for f in findings[:3]) + ")"), {"diagnosis": d}
        return "failed", "unknown error: " + str(d.get("summary") or "nothing recognised"), {
            "diagnosis": d}

    def _apply_all(self, todo: List[List[Dict[str, Any]]], code: str,
                   target: Dict[str, str]) -> Tuple[str, str, Dict[str, Any]]:
        """For each finding, apply the first of its fixes that applies; "ok" when one did for
        every finding."""
        done: List[Dict[str, Any]] = []
        said: List[str] = []
        missed = 0
        for fixes in todo:
            for fix in fixes:
                status, text, _data = self._apply(fix, code, target)
                said.append(text if status == "ok" else f"not applied: {text}")
                if status == "ok":
                    done.append(fix)
                    break
            else:
                missed += 1
        return ("ok" if not missed else "failed"), "; ".join(said), {"applied": done}

    def _apply(self, fix: Dict[str, Any], code: str,
               target: Dict[str, str]) -> Tuple[str, str, Dict[str, Any]]:
        kind = fix.get("kind")
        if kind in ("pin", "install"):
            spec = _fix_requirement(fix)
            if not spec:
                return "failed", f"a {kind} fix without a requirement: {fix}", {}
            name = _requirement_name(spec)
            if name is None:
                return "failed", f"{spec!r} is not a requirement", {}
            refused = self._contradicts(kind, name, spec)
            if refused:
                return "failed", refused, {}
            if kind == "install" and name in self.unavailable:
                return "failed", (f"{spec} is not in the package registry (the lock left it "
                                  f"out)"), {}
            if kind == "install" and code and _is_local_module(code, spec):
                return "failed", (f"{spec} is the repository's own module, not a "
                                  f"distribution to install"), {}
            return "ok", f"{kind} {spec} (new lock and env)", {"requirement": spec}
        if kind == "migrate":
            rules = _fix_rules(fix)
            s, summary, data = self._migrate(code, target, rules)
            if s != "ok":
                return "failed", summary, data
            return "ok", f"migrate {', '.join(rules)} ({summary})", data
        if kind in ("env", "arch"):
            var = _fix_env(fix)
            if not var:
                return "failed", f"an {kind} fix without a variable: {fix}", {}
            return "ok", f"set {var[0]}={var[1]}", {"env": {var[0]: var[1]}}
        if kind == "build":
            return "ok", "rebuild the extensions", {}
        return "failed", f"fix of kind {kind!r} cannot be applied automatically", {}

    def _replay(self, fix: Dict[str, Any], fixes: _Fixes) -> None:
        """Carry an applied fix into the state of the next round (also when the fix step was
        read back from the journal)."""
        kind = fix.get("kind")
        if kind in ("pin", "install"):
            spec = _fix_requirement(fix)
            name = _requirement_name(spec)
            if name:
                fixes.requirements[name] = spec
        elif kind == "migrate":
            fixes.rules.extend(_fix_rules(fix))
            fixes.rebuild = True
        elif kind in ("env", "arch"):
            var = _fix_env(fix)
            if var:
                fixes.env[var[0]] = var[1]
                fixes.rebuild = True
        elif kind == "build":
            fixes.rebuild = True

    def _snapshot(self, python: str) -> Tuple[str, str, Dict[str, Any]]:
        try:
            h = self.steps.snapshot(python)
        except ReproError as e:
            return "failed", str(e), {"error": str(e)}
        return "ok", h, {"hash": h}

    # -- the report ----------------------------------------------------------------------

    def finish(self, the_plan: Any, attempts: List[Attempt],
               state: Dict[str, Any]) -> ReproduceReport:
        passed = bool(attempts) and attempts[-1].outcome == "passed"
        chosen = attempts[-1].candidate if passed else 0
        if passed:
            c = the_plan.candidates[chosen - 1]
            why = attempts[-1].why + ". Plan: " + "; ".join(c.reasons)
        else:
            why = "no candidate passed the smoke run"
        smoke = state.get("smoke") or {}
        rep = ReproduceReport(
            path=self.path, workdir=self.workdir, hardware=self.hardware.to_dict(),
            strategy=self.strategy, passed=passed, chosen=chosen, why_chosen=why,
            attempts=tuple(attempts), stages=tuple(self.journal.stages),
            lock=state.get("lock", ""), migrations=state.get("migrations", ""),
            build=state.get("build") or {}, smoke_command=smoke.get("command", ""),
            smoke_tail=smoke.get("tail", ""), snapshot_hash=state.get("snapshot", ""),
            env=state.get("env", ""), seconds=round(time.monotonic() - self.started, 1))
        atomic_write_text(os.path.join(self.workdir, REPORT_JSON), rep.to_json() + "\n")
        atomic_write_text(os.path.join(self.workdir, REPORT_MD), render_markdown(rep))
        return rep


def _finding_title(f: Dict[str, Any]) -> str:
    return f"{f.get('id') or 'finding'} ({f.get('what') or ''})".replace(" ()", "")


def _fix_requirement(fix: Dict[str, Any]) -> str:
    """pin/install: the requirement ("numpy<2", "tensorboard")."""
    return str(fix.get("value") or "").strip()


def _is_local_module(code: str, name: str) -> bool:
    """Whether ``name`` is a module or package of the repository copy at ``code`` (at its
    top level or beside any of its Python files)."""
    from repro_core.diagnose import own_module  # an install fix comes from diagnose

    return bool(own_module(code, name))


def _fix_rules(fix: Dict[str, Any]) -> List[str]:
    rules = list(fix.get("rules") or ())
    return rules or [r.strip() for r in str(fix.get("value") or "").split(",") if r.strip()]


def _fix_env(fix: Dict[str, Any]) -> Optional[Tuple[str, str]]:
    """env: ("NAME", "value") from "NAME=value"; arch: TORCH_CUDA_ARCH_LIST."""
    value = str(fix.get("value") or "")
    if fix.get("kind") == "arch":
        return ("TORCH_CUDA_ARCH_LIST", value) if value else None
    name, eq, val = value.partition("=")
    return (name.strip(), val) if eq and name.strip() else None


def _fix_text(fix: Dict[str, Any]) -> str:
    kind = fix.get("kind")
    if kind in ("pin", "install"):
        return f"{kind} {_fix_requirement(fix)}"
    if kind == "migrate":
        return "migrate " + ", ".join(_fix_rules(fix))
    if kind in ("env", "arch"):
        var = _fix_env(fix)
        return f"set {var[0]}={var[1]}" if var else str(kind)
    return f"{kind} {fix.get('value') or ''}".strip()


def reproduce(path: str, hardware: Hardware, strategy: str = "auto",
              workdir: Optional[str] = None, smoke: Optional[str] = None, max_rounds: int = 3,
              resume: bool = False, progress: bool = True,
              steps: Optional[Steps] = None) -> ReproduceReport:
    """Run the pipeline on the repository at ``path`` for ``hardware``; the report is also
    written to ``WORKDIR/reproduce-report.json`` and ``.md``. ``progress`` logs each stage to
    stderr. ``steps`` replaces the heavy stages (tests)."""
    return Reproducer(path, hardware, strategy, workdir, smoke, max_rounds, resume, progress,
                      steps).run()


# --- rendering -------------------------------------------------------------------------------


def summary(rep: ReproduceReport) -> str:
    """The terminal summary."""
    lines = [f"repro reproduce {rep.path}: " + ("PASSED" if rep.passed else "FAILED")
             + f" in {rep.seconds:.0f} s, {rep.rounds} round(s)"]
    for a in rep.attempts:
        lines.append(f"  candidate {a.candidate} ({a.strategy} torch {a.torch}, Python "
                     f"{a.python}): {a.outcome} - {a.why}")
    if rep.passed:
        lines.append(f"  environment: {rep.env}")
        lines.append(f"  snapshot: {rep.snapshot_hash}")
    if rep.smoke_command:
        lines.append(f"  smoke: {rep.smoke_command}")
    changed = rep.migrations.count("\n+++ ") + rep.migrations.startswith("+++ ")
    if rep.migrations:
        lines.append(f"  migrations: {changed} file(s) changed (diff in {REPORT_MD})")
    lines.append(f"  report: {os.path.join(rep.workdir, REPORT_MD)}")
    return "\n".join(lines)


def render_markdown(rep: ReproduceReport) -> str:
    fence = "```"
    out = [f"# repro reproduce: {os.path.basename(rep.path)}", "",
           f"- repository: `{rep.path}`", f"- workdir: `{rep.workdir}`",
           f"- result: **{'passed' if rep.passed else 'failed'}** "
           f"({rep.seconds:.0f} s, {rep.rounds} round(s), strategy {rep.strategy})",
           "- hardware: " + (", ".join(f"{g['name'] or 'GPU'} (sm {g['cc']})"
                                        for g in rep.hardware.get("gpus", ())) or "no GPU"),
           f"- snapshot: `{rep.snapshot_hash or '-'}`", "",
           "## Chosen environment", "", rep.why_chosen, ""]
    if rep.env:
        out += [f"Environment: `{rep.env}`", ""]
    out += ["## Candidates", "", "| # | strategy | torch | python | outcome | rounds | why |",
            "|---|---|---|---|---|---|---|"]
    out += [f"| {a.candidate} | {a.strategy} | {a.torch} | {a.python} | {a.outcome} | "
            f"{a.rounds} | {a.why.replace('|', '/')} |" for a in rep.attempts]
    out += ["", "## Stages", "", "| stage | key | status | seconds | result |",
            "|---|---|---|---|---|"]
    out += [f"| {s.name} | {s.key} | {s.status}{' (resumed)' if s.resumed else ''} | "
            f"{s.seconds:.1f} | {s.summary.replace('|', '/')[:300]} |" for s in rep.stages]
    diag = [s for s in rep.stages if s.name == "diagnose"]
    if diag:
        out += ["", "## Diagnoses", ""]
        out += [f"- candidate {s.candidate}, round {s.round}: {s.summary}" for s in diag]
    out += ["", "## Lock", "", fence, rep.lock.rstrip() or "(none)", fence, "",
            "## Migrations", ""]
    out += [fence + "diff", rep.migrations.rstrip(), fence] if rep.migrations else [
        "(none)"]
    out += ["", "## Build", ""]
    builds = rep.build.get("builds") or []
    if not builds:
        out.append("(nothing to build)")
    for b in builds:
        out += [f"`{b['command']}` in `{b['folder']}`: exit {b['exit']} "
                f"(TORCH_CUDA_ARCH_LIST: {rep.build.get('arch_list') or 'CPU only'})", "",
                fence, "\n".join(b.get("errors") or []) or b.get("tail", "").rstrip(), fence, ""]
    out += ["", "## Smoke run", "", f"`{rep.smoke_command}`", "", fence,
            rep.smoke_tail.rstrip(), fence, ""]
    return "\n".join(out)
