"""``repro env create``: an isolated environment built from a lock, with uv.

Interpreters are found, never downloaded: pyenv installs, uv-managed Pythons, then PATH.
The venv is built beside the target and renamed into place at the end, so a failed install
leaves nothing; uv links files from its cache, so a second env with the same wheels costs
almost no disk.

    from repro_core.envs import create_env
    env = create_env("requirements.lock", name="paper")   # Env; env.python_bin
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text
from repro_core.lock import Lock, read_lock
from repro_core.uvtool import run_uv

_VERSION_CODE = "import platform,sys;print(platform.python_version());print(sys.executable)"
#: never download an interpreter (the user's choice of Pythons is the machine's)
NO_DOWNLOADS = {"UV_PYTHON_DOWNLOADS": "never"}


@dataclass(frozen=True)
class Interpreter:
    version: str  # X.Y.Z
    path: str
    source: str  # "pyenv" | "uv" | "PATH" | "given"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class Env:
    path: str
    python: str  # X.Y.Z of the env's interpreter
    base: str  # the interpreter it was created from
    lock: str  # the lock file installed
    packages: int
    hashes_required: bool

    @property
    def python_bin(self) -> str:
        return os.path.join(self.path, "bin", "python")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Env":
        return cls(**json.loads(text))


# --- finding interpreters ------------------------------------------------------------------


def _vkey(version: str) -> tuple:
    return tuple(int(x) if x.isdigit() else -1 for x in version.split("."))


def _ask(exe: str) -> Optional[Interpreter]:
    try:
        r = subprocess.run([exe, "-c", _VERSION_CODE], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = r.stdout.split()
    if r.returncode != 0 or len(lines) != 2:
        return None
    return Interpreter(lines[0], exe, "PATH")


def _pyenv() -> List[Interpreter]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    out = []
    for d in sorted(root.glob("*"), key=lambda d: _vkey(d.name)) if root.is_dir() else []:
        exe = d / "bin" / "python"
        if re.match(r"^\d+\.\d+\.\d+$", d.name) and os.access(exe, os.X_OK):
            out.append(Interpreter(d.name, str(exe), "pyenv"))
    return out


def _uv_managed() -> List[Interpreter]:
    try:
        r = run_uv(["python", "list", "--only-installed", "--python-preference", "only-managed",
                    "--output-format", "json"], "uv python list", env=NO_DOWNLOADS, timeout=60)
        rows = json.loads(r.stdout or "[]")
    except (ReproError, ValueError):
        return []
    return [Interpreter(x["version"], x["path"], "uv") for x in rows
            if x.get("implementation") == "cpython" and x.get("path")
            and re.match(r"^\d+\.\d+\.\d+$", x.get("version", ""))]


def _on_path() -> List[Interpreter]:
    out = []
    seen = set()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or os.path.basename(d.rstrip("/")) == "shims":  # pyenv shims: found above
            continue
        for name in ["python3"] + [f"python3.{m}" for m in range(6, 16)]:
            exe = os.path.join(d, name)
            if not os.access(exe, os.X_OK) or os.path.realpath(exe) in seen:
                continue
            seen.add(os.path.realpath(exe))
            it = _ask(exe)
            if it:
                out.append(it)
    return out


def find_pythons() -> List[Interpreter]:
    """Every CPython interpreter found: pyenv installs, uv-managed, then PATH (one per real
    file), in that order of preference."""
    out: List[Interpreter] = []
    seen = set()
    for it in _pyenv() + _uv_managed() + _on_path():
        real = os.path.realpath(it.path)
        if real not in seen:
            seen.add(real)
            out.append(it)
    return out


def find_python(spec: str) -> Interpreter:
    """An interpreter for ``spec``: a path, or a version X.Y (the newest X.Y.Z found)."""
    if os.sep in spec or os.path.isfile(spec):
        it = _ask(spec)
        if it is None:
            raise ReproError(f"{spec}: not a working Python interpreter")
        return Interpreter(it.version, spec, "given")
    if not re.match(r"^\d+\.\d+$", spec):
        raise ReproError(f"python {spec!r}: expected X.Y (such as 3.8) or an interpreter path")
    for source in (_pyenv, _uv_managed, _on_path):  # cheapest first; stop at a match
        match = [it for it in source() if it.minor == spec]
        if match:
            return max(match, key=lambda it: _vkey(it.version))
    have = ", ".join(f"{it.version} ({it.source})" for it in find_pythons()) or "none"
    raise ReproError(f"no Python {spec} found (found: {have}); install it with "
                     f"`pyenv install {spec}` or `uv python install {spec}`")


# --- creating ------------------------------------------------------------------------------


def envs_home() -> Path:
    """~/.cache/repro/envs (under $XDG_CACHE_HOME when set)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "repro" / "envs"


def _say(progress: bool, text: str) -> None:
    if progress:
        print(f"repro env: {text}", file=sys.stderr, flush=True)


def create_env(lock_file: Union[str, Lock], python: Optional[str] = None,
               prefix: Optional[str] = None, name: Optional[str] = None,
               progress: bool = False) -> Env:
    """Create a venv from ``lock_file`` (a path, or a ``Lock``) at ``prefix`` (or
    ~/.cache/repro/envs/NAME; default NAME: lock-<hash of the lock text>) with an interpreter
    of the lock's Python (or ``python``: X.Y or a path), installing the pins with hashes
    required. ``progress`` shows uv's output."""
    if isinstance(lock_file, Lock):  # uv reads a file: the lock's own text
        with tempfile.TemporaryDirectory(prefix="repro-env-") as d:
            path = os.path.join(d, "requirements.lock")
            atomic_write_text(path, lock_file.text())
            env = create_env(path, python, prefix, name, progress)
        return replace(env, lock=lock_file.source or "(a Lock value)")
    lk = read_lock(lock_file)
    spec = python or lk.python
    if not spec:
        raise ReproError(f"{lock_file}: the lock names no Python; give one (X.Y or a path)")
    interp = find_python(spec)
    if lk.python and interp.minor != lk.python:
        raise ReproError(f"{interp.path} is Python {interp.version}, the lock is for "
                         f"Python {lk.python}")
    if prefix and name:
        raise ReproError("give a prefix or a name, not both")
    if prefix:
        target = Path(prefix).absolute()
    else:
        with open(lock_file, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        target = envs_home() / (name or f"lock-{digest}")
    if os.path.lexists(target):
        raise ReproError(f"{target}: already exists (remove it or choose another place)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                dir=str(target.parent)))
    hashed = not lk.unhashed
    try:
        _say(progress, f"creating {target} with Python {interp.version} ({interp.source}: "
                       f"{interp.path})")
        run_uv(["venv", "--relocatable", "--python", interp.path, "--no-config", "--quiet",
                "--allow-existing", str(tmp)], f"uv venv {target}", env=NO_DOWNLOADS)
        _say(progress, f"installing {len(lk.pins)} pins from {lock_file} ("
                       + ("hashes required)" if hashed else
                          f"hashes verified; unhashed: {', '.join(lk.unhashed)})"))
        args = ["pip", "sync", "--python", str(tmp / "bin" / "python"), "--no-config",
                lock_file]
        if hashed:
            args.append("--require-hashes")
        if not progress:
            args.append("--quiet")
        run_uv(args, f"cannot install {lock_file}", env=NO_DOWNLOADS, capture=not progress)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    env = Env(path=str(target), python=interp.version, base=interp.path,
              lock=os.path.abspath(lock_file), packages=len(lk.pins), hashes_required=hashed)
    _say(progress, f"ready: {env.python_bin}")
    return env


# --- conda ---------------------------------------------------------------------------------


def environment_yml(lk: Lock, name: str = "repro") -> str:
    """A conda environment.yml: python, the CUDA toolkit of the variant, the pins under pip:
    (with their hashes when every pin has one)."""
    deps = [f"python={lk.python}"] if lk.python else []
    if lk.variant.startswith("cu"):
        digits = lk.variant[2:]
        cuda = f"{int(digits[:-1])}.{digits[-1]}"
        deps.append(f"cudatoolkit={cuda}" if int(digits[:-1]) < 12 else f"cuda-version={cuda}")
    deps.append("pip")
    hashed = not lk.unhashed
    pip = [f"--extra-index-url {u}" for u in lk.index_urls]
    for p in lk.pins:
        line = f"{p.name}=={p.version}" + (f" ; {p.marker}" if p.marker else "")
        if hashed:
            line += "".join(f" --hash={h}" for h in p.hashes)
        pip.append(line)
    out = [f"# conda environment from a repro lock (as of {lk.date}, variant "
           f"{lk.variant or 'none'}); create with: conda env create -f environment.yml",
           f"name: {name}", "channels:", "  - conda-forge", "dependencies:"]
    out += [f"  - {d}" for d in deps]
    out += ["  - pip:"] + [f"    - {json.dumps(x)}" for x in pip]
    return "\n".join(out) + "\n"


def write_environment_yml(lock_file: str, out: str = "environment.yml",
                          name: Optional[str] = None) -> str:
    text = environment_yml(read_lock(lock_file), name or "repro")
    atomic_write_text(out, text)
    return text


__all__ = ["Env", "Interpreter", "create_env", "find_python", "find_pythons", "envs_home",
           "environment_yml", "write_environment_yml"]
