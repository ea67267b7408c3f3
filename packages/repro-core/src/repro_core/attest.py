"""``repro attest`` and ``repro verify``: a run recorded in one document signed by its own hash,
and the check that re-runs it and compares everything recorded.

    from repro_core.attest import attest, verify_attestation, read_attestation
    a = attest("paper", "python train.py", data="paper/data")       # Attestation
    a.write("attestation.json")
    report = verify_attestation(read_attestation("attestation.json"))  # VerifyReport; .ok
"""

import datetime as _dt
import fnmatch
import hashlib
import json
import math
import os
import posixpath
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from repro_core import __version__, datamanifest
from repro_core.diff import diff_sides, side_of_snapshot
from repro_core.errors import ReproError
from repro_core.fsutil import PathLike, atomic_write
from repro_core.scan.history import head_commit
from repro_core.snapshot import Snapshot, take_snapshot

FORMAT = "repro-attestation"
VERSION = 1
#: folders never part of the code: version control and caches
SKIP_DIRS = (".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
             ".ipynb_checkpoints", ".tox", ".nox", ".hypothesis")
SKIP_SUFFIXES = (".pyc", ".pyo")
#: variables that seed or fix randomness, recorded besides any name containing SEED
SEED_VARS = ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "CUDNN_DETERMINISTIC")


class TamperedError(ReproError):
    """The document's content does not match its hash: it was edited after ``attest``."""


# --- the document ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attestation:
    """One attested run. Paths (``lock``, ``data``, ``metrics_file``) are relative to ``path``
    (POSIX) when they lie inside it, else absolute. ``python_source``: "given" (``--python``),
    "lock" (an env created from ``lock``) or "current" (the interpreter running repro).
    ``metrics``: the JSON the command printed last (or ``metrics_file``), None when none.
    ``hash``: "sha256:" + sha256 of the canonical JSON (sorted keys, no whitespace) of
    ``to_json()`` without ``hash``."""

    path: str
    command: str
    code_commit: Optional[str]
    code_hash: str
    code_files: int
    excludes: Tuple[str, ...]
    python: str
    python_source: str
    python_version: str
    lock: Optional[str]
    lock_hash: Optional[str]
    snapshot_hash: str
    snapshot: Dict[str, Any]
    data: Optional[str]
    data_hash: Optional[str]
    data_manifest: Optional[Dict[str, Any]]
    seed: Optional[int]
    seed_env: Dict[str, str]
    metrics: Any
    metrics_file: Optional[str]
    ignore: Tuple[str, ...]
    exit_code: int
    wall_time_s: float
    hardware: Dict[str, Any]
    created: str
    repro_version: str = __version__
    hash: str = ""

    def to_json(self) -> Dict[str, Any]:
        d = asdict(self)
        d["excludes"], d["ignore"] = list(self.excludes), list(self.ignore)
        return {"format": FORMAT, "version": VERSION, **d}

    @classmethod
    def from_json(cls, d: Any, where: str = "attestation") -> "Attestation":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ReproError(f"{where}: not a repro attestation (no \"format\": \"{FORMAT}\")")
        if d.get("version") != VERSION:
            raise ReproError(f"{where}: attestation version {d.get('version')!r} is not "
                             f"{VERSION}")
        names = [f for f in cls.__dataclass_fields__]
        missing = [n for n in names if n not in d and n not in ("repro_version", "hash")]
        if missing:
            raise ReproError(f"{where}: missing field(s) {', '.join(missing)}")
        for n, kinds in _TYPES.items():
            if n in d and (not isinstance(d[n], kinds) or isinstance(d[n], bool)
                           and n in ("code_files", "exit_code", "seed", "wall_time_s")):
                raise ReproError(f"{where}: field {n!r} has a bad value {d[n]!r}")
        kw = {n: d[n] for n in names if n in d}
        kw["excludes"], kw["ignore"] = tuple(d["excludes"]), tuple(d["ignore"])
        return cls(**kw)

    def signature(self) -> str:
        body = {k: v for k, v in self.to_json().items() if k != "hash"}
        return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()

    def signed(self) -> "Attestation":
        return replace(self, hash=self.signature())

    def write(self, path: PathLike) -> None:
        """Write it (pretty JSON) whole or not at all; a non-regular target is refused."""
        atomic_write(path, (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"))


_OPT_STR = (str, type(None))
_TYPES: Dict[str, Any] = {
    "path": str, "command": str, "code_commit": _OPT_STR, "code_hash": str, "code_files": int,
    "excludes": list, "python": str, "python_source": str, "python_version": str,
    "lock": _OPT_STR, "lock_hash": _OPT_STR, "snapshot_hash": str, "snapshot": dict,
    "data": _OPT_STR, "data_hash": _OPT_STR, "data_manifest": (dict, type(None)),
    "seed": (int, type(None)), "seed_env": dict, "metrics_file": _OPT_STR, "ignore": list,
    "exit_code": int, "wall_time_s": (int, float), "hardware": dict, "created": str,
    "repro_version": str, "hash": str}


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def read_attestation(path: PathLike) -> Attestation:
    """Load a document and check its hash first: TamperedError (exit 2) when it does not match
    its content, ReproError for anything that is not an attestation."""
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except OSError as e:
        raise ReproError(f"{path}: cannot read ({e.strerror})") from None
    except ValueError as e:
        raise ReproError(f"{path}: not JSON ({e})") from None
    try:
        a = Attestation.from_json(d, str(path))
    except TypeError as e:
        raise ReproError(f"{path}: not an attestation ({e})") from None
    if not a.hash:
        raise TamperedError(f"{path}: has no hash; not an attestation written by repro attest")
    if a.signature() != a.hash:
        raise TamperedError(f"{path}: content does not match its hash {a.hash[:19]}… "
                            f"(now {a.signature()[:19]}…): the document was edited after "
                            "`repro attest`; not verifying it")
    return a


# --- what is recorded -----------------------------------------------------------------------


def _rel(p: PathLike, root: Path) -> str:
    """``p`` relative to ``root`` (POSIX) when inside it, else absolute."""
    a = Path(os.path.abspath(p))
    try:
        return a.relative_to(root).as_posix() or "."
    except ValueError:
        return str(a)


def _at(p: str, root: Path) -> Path:
    return Path(p) if os.path.isabs(p) else root / p


def _excluded(rel: str, excludes: Sequence[str]) -> bool:
    return any(rel == e or rel.startswith(e.rstrip("/") + "/") or fnmatch.fnmatchcase(rel, e)
               for e in excludes)


def code_files(root: PathLike, excludes: Sequence[str] = ()) -> Iterator[Tuple[str, Path]]:
    """The working tree's files in sorted order (relative POSIX path, path), without version
    control and cache folders (``SKIP_DIRS``), ``*.pyc`` and paths matching ``excludes`` (a
    relative path, a folder, or a glob)."""
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        reldir = base.relative_to(root).as_posix()
        prefix = "" if reldir == "." else reldir + "/"
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS
                             and not _excluded(prefix + d, excludes))
        for name in sorted(filenames):
            rel = prefix + name
            if not name.endswith(SKIP_SUFFIXES) and not _excluded(rel, excludes):
                yield rel, base / name
        # symbolic links to folders are listed by os.walk as dirnames and not followed:
        for d in list(dirnames):
            if (base / d).is_symlink():
                dirnames.remove(d)
                if not _excluded(prefix + d, excludes):
                    yield prefix + d, base / d


def code_hash(root: PathLike, excludes: Sequence[str] = ()) -> Tuple[str, int]:
    """("sha256:...", file count) over each file's path and content digest, in sorted path
    order (a symbolic link counts as its target's text, never followed)."""
    h = hashlib.sha256()
    n = 0
    for rel, p in sorted(code_files(root, excludes)):
        if p.is_symlink():
            digest = "link:" + os.readlink(p)
        else:
            digest = datamanifest.hash_file(p)
        h.update(f"{rel}\0{digest}\n".encode("utf-8", "surrogateescape"))
        n += 1
    return "sha256:" + h.hexdigest(), n


def git_commit(root: PathLike) -> Optional[str]:
    """HEAD's commit of the repository at ``root``, read from .git (no git binary)."""
    return head_commit(str(root))


def file_hash(path: PathLike) -> str:
    return "sha256:" + datamanifest.hash_file(path)


def manifest_hash(manifest: Dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(manifest)).hexdigest()


def seed_env(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The variables that seed or fix randomness: ``SEED_VARS`` and any name with SEED."""
    env = os.environ if environ is None else environ
    return {k: env[k] for k in sorted(env) if k in SEED_VARS or "SEED" in k.upper()}


def env_for_lock(lock: PathLike, progress: bool = True) -> str:
    """The interpreter of the environment built from ``lock``: the one ``repro env create
    LOCK`` makes (~/.cache/repro/envs/lock-<hash>), created now when absent."""
    from repro_core.envs import create_env, envs_home

    with open(lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    exe = envs_home() / f"lock-{digest}" / "bin" / "python"
    if os.access(exe, os.X_OK):
        return str(exe)
    return create_env(str(lock), progress=progress).python_bin


def _interpreter(python: Optional[str]) -> str:
    exe = python or sys.executable
    if os.path.isdir(exe):
        exe = os.path.join(exe, "bin", "python")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise ReproError(f"--python {python}: not an executable Python interpreter")
    return os.path.abspath(exe)


def _environ(python: str) -> Dict[str, str]:
    """This process's environment with ``python``'s folder first on PATH (and VIRTUAL_ENV
    set when it is a venv's)."""
    env = dict(os.environ)
    bindir = os.path.dirname(python)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    if os.path.isfile(os.path.join(os.path.dirname(bindir), "pyvenv.cfg")):
        env["VIRTUAL_ENV"] = os.path.dirname(bindir)
    else:
        env.pop("VIRTUAL_ENV", None)
    return env


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    wall_time_s: float
    stdout: str


def run_shell(command: str, cwd: PathLike, python: str, echo: bool = True) -> RunResult:
    """Run ``command`` with the shell in ``cwd``, ``python``'s folder first on PATH; stdout is
    captured (and echoed to stderr line by line when ``echo``), stderr passes through."""
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(command, shell=True, cwd=str(cwd), env=_environ(python),
                             stdout=subprocess.PIPE, text=True, errors="replace")
    except OSError as e:
        raise ReproError(f"cannot run {command!r} in {cwd}: {e.strerror}") from None
    lines = []
    assert p.stdout is not None
    for line in p.stdout:
        lines.append(line)
        if echo:
            sys.stderr.write(line)
            sys.stderr.flush()
    code = p.wait()
    return RunResult(code, round(time.monotonic() - t0, 3), "".join(lines))


def last_json(stdout: str) -> Any:
    """The last line of ``stdout`` that is a JSON object, else None."""
    for line in reversed(stdout.splitlines()):
        s = line.strip()
        if s.startswith("{"):
            try:
                d = json.loads(s)
            except ValueError:
                continue
            if isinstance(d, dict):
                return d
    return None


def read_metrics(path: Path, before: Optional[os.stat_result]) -> Any:
    """A JSON document, or JSON Lines (a list of their values); ReproError when missing, not
    JSON, or not rewritten by the run (``before``: its stat before the run)."""
    try:
        st = os.stat(path)
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ReproError(f"--metrics {path}: cannot read it after the run ({e.strerror})") \
            from None
    if before is not None and (st.st_mtime_ns, st.st_size, st.st_ino) == \
            (before.st_mtime_ns, before.st_size, before.st_ino):
        raise ReproError(f"--metrics {path}: the command did not write it (unchanged since "
                         "before the run)")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return [json.loads(ln) for ln in text.splitlines() if ln.strip()]
    except ValueError as e:
        raise ReproError(f"--metrics {path}: neither JSON nor JSON Lines ({e})") from None


def _stat(path: Path) -> Optional[os.stat_result]:
    try:
        return os.stat(path)
    except OSError:
        return None


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace(
        "+00:00", "Z")


def attest(path: PathLike, command: str, data: Optional[PathLike] = None,
           lock: Optional[PathLike] = None, python: Optional[str] = None,
           metrics: Optional[str] = None, seed: Optional[int] = None,
           exclude: Sequence[str] = (), ignore: Sequence[str] = (),
           output: Optional[PathLike] = None, echo: bool = True) -> Attestation:
    """Run ``command`` in ``path`` and record it (see ``Attestation``). The interpreter:
    ``python`` when given, else the env built from ``lock`` (``env_for_lock``), else this one.
    ``exclude``: paths or globs (relative to ``path``) left out of the code hash; ``data``
    and ``output`` are left out too when they lie inside ``path``. ``ignore``: metric keys
    (dotted, globs) that ``verify`` does not compare (timings). ``metrics``: a file the
    command writes (relative to ``path``), else the last JSON line of its stdout."""
    from repro_core.probe import hardware

    root = Path(os.path.abspath(path))
    if not root.is_dir():
        raise ReproError(f"{path}: not a folder")
    if lock is not None and not os.path.isfile(lock):
        raise ReproError(f"--lock {lock}: not a file")
    if data is not None and not os.path.isdir(data):
        raise ReproError(f"--data {data}: not a folder")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ReproError(f"--seed {seed!r}: not an integer")
    if output is not None:
        from repro_core.fsutil import check_destination
        check_destination(output)
    excludes = []
    for e in exclude:
        norm = posixpath.normpath(e.replace(os.sep, "/"))
        if norm in (".", "") or norm.startswith(("/", "../")) or norm == "..":
            raise ReproError(f"--exclude {e}: not a path or glob inside {path}")
        excludes.append(norm)
    for inside in (_rel(p, root) for p in (data, output) if p is not None):
        if not os.path.isabs(inside) and inside != "." and inside not in excludes:
            excludes.append(inside)
    if python:
        exe, source = _interpreter(python), "given"
    elif lock is not None:
        exe, source = env_for_lock(lock), "lock"
    else:
        exe, source = _interpreter(None), "current"
    chash, nfiles = code_hash(root, excludes)
    commit = git_commit(root)
    snap = take_snapshot(exe)
    manifest = datamanifest.hash_tree(data).to_json() if data is not None else None
    mpath = _at(metrics, root) if metrics else None
    before = _stat(mpath) if mpath else None
    run = run_shell(command, root, exe, echo)
    values = read_metrics(mpath, before) if mpath else last_json(run.stdout)
    return Attestation(
        path=str(root), command=command, code_commit=commit, code_hash=chash,
        code_files=nfiles, excludes=tuple(excludes), python=exe, python_source=source,
        python_version=snap.python, lock=_rel(lock, root) if lock is not None else None,
        lock_hash=file_hash(lock) if lock is not None else None, snapshot_hash=snap.hash,
        snapshot=snap.to_dict(), data=_rel(data, root) if data is not None else None,
        data_hash=manifest_hash(manifest) if manifest is not None else None,
        data_manifest=manifest, seed=seed, seed_env=seed_env(), metrics=values,
        metrics_file=metrics, ignore=tuple(ignore), exit_code=run.exit_code,
        wall_time_s=run.wall_time_s, hardware=hardware().to_dict(), created=_utc_now(),
    ).signed()


# --- verify ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One compared item: what was recorded, what is found now, whether they agree (within
    tolerance for numbers)."""

    name: str
    recorded: str
    now: str
    ok: bool


@dataclass(frozen=True)
class VerifyReport:
    attestation: str
    python: str
    python_source: str
    checks: Tuple[Check, ...]
    rtol: float
    atol: float
    wall_time_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def differences(self) -> Tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_json(self) -> Dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "VerifyReport":
        return cls(d["attestation"], d["python"], d["python_source"],
                   tuple(Check(**c) for c in d["checks"]), d["rtol"], d["atol"],
                   d.get("wall_time_s", 0.0))


def flatten(value: Any, prefix: str = "") -> Dict[str, Any]:
    """Nested dicts and lists as one dict with dotted keys (``a.b``, ``losses.0``)."""
    if isinstance(value, dict):
        items: List[Tuple[str, Any]] = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return {prefix or "(value)": value}
    out: Dict[str, Any] = {}
    if not items and prefix:
        out[prefix] = value
    for k, v in items:
        out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    return out


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def same_value(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Numbers within ``|a - b| <= atol + rtol * |a|`` (NaN equals NaN); anything else exact."""
    if _number(a) and _number(b):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= atol + rtol * abs(a)
    return type(a) is type(b) and a == b


def compare_metrics(recorded: Any, now: Any, rtol: float, atol: float,
                    ignore: Sequence[str] = ()) -> List[Check]:
    """One Check per flattened metric key on either side (not matching ``ignore``)."""
    a, b = flatten(recorded) if recorded is not None else {}, \
        flatten(now) if now is not None else {}
    out = []
    for k in sorted(set(a) | set(b), key=_natural):
        if any(fnmatch.fnmatchcase(k, g) for g in ignore):
            continue
        va, vb = a.get(k, _ABSENT), b.get(k, _ABSENT)
        ok = va is not _ABSENT and vb is not _ABSENT and same_value(va, vb, rtol, atol)
        out.append(Check(f"metric {k}", _show(va), _show(vb), ok))
    return out


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()


def _show(v: Any) -> str:
    return "(absent)" if v is _ABSENT else json.dumps(v) if not isinstance(v, str) else v


def _natural(key: str) -> List[Any]:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", key)]


def _check(name: str, recorded: Optional[str], now: Optional[str]) -> Check:
    return Check(name, "(absent)" if recorded is None else recorded,
                 "(absent)" if now is None else now, recorded == now)


def _file_state(size: Optional[int], digest: str) -> str:
    return f"{size if size is not None else '?'} B, sha256 {digest[:12]}…"


def _env_checks(recorded: Dict[str, Any], now: Snapshot) -> List[Check]:
    """The packages and facts (python, cuda, env variables...) that differ, named."""
    d = diff_sides(side_of_snapshot(Snapshot.from_dict(recorded), "recorded"),
                   side_of_snapshot(now, "now"))
    return [Check(f"package {c.name}", c.old or "(absent)", c.new or "(absent)", False)
            for c in d.packages] + \
        [Check(c.name, c.old or "(absent)", c.new or "(absent)", False) for c in d.facts]


def verify_attestation(a: Attestation, rtol: float = 1e-6, atol: float = 0.0,
                       python: Optional[str] = None, path: Optional[PathLike] = None,
                       data: Optional[PathLike] = None, ignore: Sequence[str] = (),
                       where: str = "attestation", echo: bool = True) -> VerifyReport:
    """Re-create what can be (the env from the lock when the document names one and
    ``python`` is not given; the recorded interpreter when it was given; else this one),
    check the data against the recorded manifest, re-run the command, and compare the code
    hash, lock hash, snapshot hash (naming each package or variable that differs), data,
    seed variables, exit code and every metric within ``rtol``/``atol``. ``path``/``data``:
    where the repository and the data are now, when they moved."""
    if rtol < 0 or atol < 0:
        raise ReproError("--rtol and --atol must be >= 0")
    root = Path(os.path.abspath(path if path is not None else a.path))
    if not root.is_dir():
        raise ReproError(f"{root}: the attested folder is not there (give --path)")
    checks: List[Check] = []
    chash, _ = code_hash(root, a.excludes)
    checks.append(_check("code hash", a.code_hash, chash))
    if a.code_commit is not None:
        checks.append(_check("git commit", a.code_commit, git_commit(root)))
    lock_now = None
    if a.lock is not None:
        lock_path = _at(a.lock, root)
        if lock_path.is_file():
            lock_now = lock_path
            checks.append(_check("lock hash", a.lock_hash, file_hash(lock_path)))
        else:
            checks.append(Check("lock hash", a.lock_hash or "(none)",
                                f"{lock_path}: missing", False))
    if python:
        exe, source = _interpreter(python), "given"
    elif a.python_source == "lock" and lock_now is not None:
        exe, source = env_for_lock(lock_now), "lock"
    elif a.python_source == "given":
        if not os.access(a.python, os.X_OK):
            raise ReproError(f"{where}: the recorded interpreter {a.python} is not here; "
                             "give --python")
        exe, source = a.python, "given"
    else:
        exe, source = _interpreter(None), "current"
    snap = take_snapshot(exe)
    checks.append(_check("environment snapshot hash", a.snapshot_hash, snap.hash))
    if snap.hash != a.snapshot_hash:
        checks.extend(_env_checks(a.snapshot, snap))
    if a.data_manifest is not None:
        ddir = Path(data) if data is not None else _at(a.data or ".", root)
        recorded = datamanifest.Manifest.from_json(a.data_manifest, f"{where}: data_manifest")
        if not ddir.is_dir():
            checks.append(Check("data", a.data_hash or "", f"{ddir}: not a folder", False))
        else:
            v = datamanifest.verify(ddir, recorded)
            now = datamanifest.hash_tree(ddir).to_json() if not v.ok else a.data_manifest
            checks.append(_check("data manifest hash", a.data_hash, manifest_hash(now)))
            entries = {f.path: f for f in recorded.files}
            for p in v.changed:
                e = entries[p]
                now_file = ddir / p
                checks.append(Check(f"data {p}", _file_state(e.size, e.digest), _file_state(
                    now_file.stat().st_size, datamanifest.hash_file(now_file)), False))
            checks.extend(Check(f"data {p}", _file_state(entries[p].size, entries[p].digest),
                                "(missing)", False) for p in v.missing)
            checks.extend(Check(f"data {p}", "(absent)", "(extra file)", False)
                          for p in v.extra)
    env_now = seed_env()
    in_snapshot = set(a.snapshot.get("env", {})) | set(snap.env)  # compared there already
    for k in sorted((set(a.seed_env) | set(env_now)) - in_snapshot):
        checks.append(_check(f"seed variable {k}", a.seed_env.get(k), env_now.get(k)))
    mpath = _at(a.metrics_file, root) if a.metrics_file else None
    before = _stat(mpath) if mpath else None
    run = run_shell(a.command, root, exe, echo)
    checks.append(_check("exit code", str(a.exit_code), str(run.exit_code)))
    try:
        values = read_metrics(mpath, before) if mpath else last_json(run.stdout)
    except ReproError as e:
        checks.append(Check("metrics", "recorded", str(e), False))
    else:
        checks.extend(compare_metrics(a.metrics, values, rtol, atol,
                                      tuple(a.ignore) + tuple(ignore)))
    return VerifyReport(where, exe, source, tuple(checks), rtol, atol, run.wall_time_s)


__all__ = ["Attestation", "VerifyReport", "Check", "TamperedError", "attest",
           "verify_attestation", "read_attestation", "code_hash", "code_files", "flatten",
           "compare_metrics", "same_value", "run_shell", "last_json", "seed_env",
           "env_for_lock"]
