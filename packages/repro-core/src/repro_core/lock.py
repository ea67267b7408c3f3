"""``repro lock``: a hashed pip requirements lock for a plan candidate or requirements files.

Resolution is uv's (``uv pip compile --exclude-newer --generate-hashes``) for the target Python
and platform, never the host's. torch, torchvision, timm and numpy are pinned from the chosen
plan candidate; everything else is resolved as of the date cutoff. A CUDA build with a local
version (``1.10.0+cu113``) lives on the PyTorch wheel index of that variant: the registry
resolves its public version (same dependencies), then the pin becomes the local version with
an ``--extra-index-url`` line and that index's hashes (unhashed, with one warning, when the
index cannot be reached).

    from repro_core.lock import lock_requirements, lock_path
    lk = lock_requirements(["torch==1.10.0", "timm==0.4.12"], date="2021-11-11", python="3.9")
    lk.text()          # the requirements.lock file; Lock.to_json()/from_json() round-trip
"""

import datetime as _dt
import json
import os
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from repro_core import __version__
from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text
from repro_core.hardware import Hardware
from repro_core.uvtool import run_uv

PYTORCH_INDEX = "https://download.pytorch.org/whl/{variant}"
#: packages whose CUDA builds carry the variant as a local version on the PyTorch index
VARIANT_PACKAGES = ("torch", "torchvision", "torchaudio")
PLATFORMS = {"linux": "x86_64-unknown-linux-gnu", "linux-aarch64": "aarch64-unknown-linux-gnu",
             "macos": "aarch64-apple-darwin", "windows": "x86_64-pc-windows-msvc"}
_WHEEL_PLATFORM = {"linux": "linux", "linux-aarch64": "linux", "macos": "macosx",
                   "windows": "win"}
_HASH_RE = re.compile(r"--hash[= ](\S+)")


@dataclass(frozen=True)
class Pin:
    """One locked distribution: ``name==version`` with its sha256 hashes."""

    name: str
    version: str
    hashes: Tuple[str, ...] = ()
    marker: str = ""
    index: str = ""  # the extra index that serves it ("" = the registry)

    def line(self) -> str:
        req = f"{self.name}=={self.version}" + (f" ; {self.marker}" if self.marker else "")
        return " \\\n    ".join([req] + [f"--hash={h}" for h in self.hashes])


@dataclass(frozen=True)
class Lock:
    """A resolved, hashed set of pins and where they came from."""

    pins: Tuple[Pin, ...]
    date: str  # cutoff: packages uploaded on or before this day (UTC)
    python: str  # X.Y
    platform: str  # "linux" or a uv target triple
    variant: str = ""  # "cu113", "cpu" or "" (not a torch lock)
    source: str = ""  # plan/candidate or requirements files it came from
    index_urls: Tuple[str, ...] = ()  # --extra-index-url lines
    repro_version: str = __version__
    warnings: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def unhashed(self) -> Tuple[str, ...]:
        return tuple(p.name for p in self.pins if not p.hashes)

    def pin(self, name: str) -> Optional[Pin]:
        key = canonicalize_name(name)
        return next((p for p in self.pins if canonicalize_name(p.name) == key), None)

    def text(self) -> str:
        """pip requirements format with hashes, headed by a comment block."""
        head = [f"# repro lock (repro {self.repro_version})",
                f"# date cutoff: {self.date} (packages uploaded on or before, UTC)",
                f"# python: {self.python}", f"# platform: {self.platform}",
                f"# variant: {self.variant or 'none'}", f"# source: {self.source or '-'}"]
        if self.unhashed:
            head.append("# unhashed: " + ", ".join(self.unhashed)
                        + " (their index could not be reached when locking)")
        body = [f"--extra-index-url {u}" for u in self.index_urls]
        body += [p.line() for p in self.pins]
        return "\n".join(head + [""] + body) + "\n"

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Lock":
        d = json.loads(text)
        pins = tuple(Pin(**{**p, "hashes": tuple(p.get("hashes", ()))}) for p in d["pins"])
        return cls(**{**d, "pins": pins, "index_urls": tuple(d.get("index_urls", ())),
                      "warnings": tuple(d.get("warnings", ()))})


# --- reading -------------------------------------------------------------------------------


def logical_lines(text: str) -> List[str]:
    """Requirement-file lines with backslash continuations joined and comments dropped."""
    out: List[str] = []
    buf = ""
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        if buf.strip():
            out.append(" ".join(buf.split()))
        buf = ""
    if buf.strip():
        out.append(" ".join(buf.split()))
    return out


def parse_pins(text: str) -> Tuple[Tuple[Pin, ...], Tuple[str, ...]]:
    """(pins, extra index URLs) of a lock or pinned requirements text (``name==version``
    lines; unpinned ones are kept with version "")."""
    pins: List[Pin] = []
    urls: List[str] = []
    for line in logical_lines(text):
        if line.startswith(("--extra-index-url", "--index-url", "-i ")):
            urls.append(line.split(None, 1)[-1].lstrip("=").strip())
            continue
        if line.startswith("-"):
            continue
        hashes = tuple(_HASH_RE.findall(line))
        spec = _HASH_RE.sub("", line).strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue
        version = ""
        for s in req.specifier:
            if s.operator in ("==", "==="):
                version = s.version
        pins.append(Pin(req.name, version, hashes, str(req.marker or "")))
    return tuple(pins), tuple(urls)


def read_lock(path: str) -> Lock:
    """A lock file written by ``repro lock`` (its JSON twin, or the requirements text)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ReproError(f"{path}: cannot read ({e.strerror})") from None
    if text.lstrip().startswith("{"):
        try:
            return Lock.from_json(text)
        except (ValueError, KeyError, TypeError) as e:
            raise ReproError(f"{path}: not a lock ({e})") from None
    head = dict(re.findall(r"^# (date cutoff|python|platform|variant|source): (.*)$", text, re.M))
    pins, urls = parse_pins(text)
    return Lock(pins=pins, date=head.get("date cutoff", "").split(" ")[0],
                python=head.get("python", ""), platform=head.get("platform", ""),
                variant=head.get("variant", "").replace("none", ""),
                source=head.get("source", path), index_urls=urls)


# --- locking -------------------------------------------------------------------------------


def _check_date(date: str) -> str:
    try:
        return _dt.date.fromisoformat(date).isoformat()
    except (TypeError, ValueError):
        raise ReproError(f"date {date!r}: expected YYYY-MM-DD") from None


def _check_python(python: str) -> str:
    if not re.match(r"^3\.\d+$", python or ""):
        raise ReproError(f"python {python!r}: expected a version X.Y such as 3.9")
    return python


def exclude_newer(date: str) -> str:
    """The uv cutoff for "uploaded on or before DATE (UTC)": the next midnight, UTC."""
    day = _dt.date.fromisoformat(date) + _dt.timedelta(days=1)
    return f"{day.isoformat()}T00:00:00Z"


def compile_args(infile: str, date: str, python: str, platform: str) -> List[str]:
    """The ``uv pip compile`` arguments repro runs (the benchmark runs the same)."""
    return ["pip", "compile", infile, "--exclude-newer", exclude_newer(date),
            "--python-version", python, "--python-platform", PLATFORMS.get(platform, platform),
            "--generate-hashes", "--no-header", "--no-annotate", "--quiet"]


def _variant_hashes(index: str, name: str, version: str, python: str,
                    platform: str, timeout: float = 10) -> Optional[Tuple[str, ...]]:
    """sha256 hashes of ``name==version`` wheels for the target on a PEP 503 index page, or
    None when the page cannot be read."""
    url = f"{index}/{canonicalize_name(name)}/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (https URL)
            page = r.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    return wheel_hashes(page, name, version, python, platform)


def wheel_hashes(page: str, name: str, version: str, python: str,
                 platform: str) -> Tuple[str, ...]:
    """Hashes of the wheels of ``name==version`` on a simple-index page that fit CPython
    ``python`` and ``platform`` (any manylinux/linux tag for linux)."""
    tag = "cp" + python.replace(".", "")
    plat = _WHEEL_PLATFORM.get(platform, platform.split("-")[0])
    out = []
    for href in re.findall(r'href="([^"]+)"', page):
        file, _, frag = urllib.parse.unquote(href).rpartition("/")[2].partition("#")
        parts = file[:-len(".whl")].split("-") if file.endswith(".whl") else []
        if len(parts) < 5 or not frag.startswith("sha256="):
            continue
        if (canonicalize_name(parts[0]) == canonicalize_name(name) and parts[1] == version
                and tag in parts[-3].split(".") and plat in parts[-1]):
            out.append(frag.replace("=", ":", 1))
    return tuple(sorted(set(out)))


def lock_requirements(requirements: Sequence[str], date: str, python: str,
                      platform: str = "linux", variant: str = "", source: str = "",
                      index_url: Optional[str] = None) -> Lock:
    """Lock requirement lines (``torch==1.10.0``, ``-r /abs/reqs.txt``, ...) as of ``date`` for
    Python ``python`` on ``platform``. ``variant`` (``cu113``) moves torch/torchvision/torchaudio
    pins to that PyTorch index; ``index_url`` replaces the registry (tests, mirrors)."""
    date, python = _check_date(date), _check_python(python)
    if variant and variant != "cpu" and not re.match(r"^cu\d{2,3}$", variant):
        raise ReproError(f"variant {variant!r}: expected cpu or cuXYZ such as cu113")
    with tempfile.TemporaryDirectory(prefix="repro-lock-") as tmp:
        infile = os.path.join(tmp, "requirements.in")
        with open(infile, "w", encoding="utf-8") as f:
            f.write("\n".join(requirements) + "\n")
        args = compile_args(infile, date, python, platform)
        if index_url:
            args += ["--default-index", index_url]
        r = run_uv(args, f"cannot lock as of {date} for Python {python} on {platform}")
    pins, _ = parse_pins(r.stdout)
    warnings: List[str] = []
    urls: Tuple[str, ...] = ()
    if variant and variant != "cpu":
        index = PYTORCH_INDEX.format(variant=variant)
        urls = (index,)
        moved, unhashed = [], []
        for p in pins:
            if canonicalize_name(p.name) not in VARIANT_PACKAGES:
                moved.append(p)
                continue
            local = f"{p.version.split('+')[0]}+{variant}"
            hashes = _variant_hashes(index, p.name, local, python, platform)
            if not hashes:
                unhashed.append(f"{p.name}=={local}")
            moved.append(replace(p, version=local, hashes=hashes or (), index=index))
        pins = tuple(moved)
        if unhashed:
            warnings.append(f"{', '.join(unhashed)}: no hashes ({index} could not be read or "
                            f"lists no wheel for Python {python} on {platform}); install "
                            f"verifies the other hashes only")
    return Lock(pins=pins, date=date, python=python, platform=platform, variant=variant,
                source=source, index_urls=urls, warnings=tuple(warnings))


# --- inputs: a repository, a saved plan, requirements files ---------------------------------

_PINNED = ("torch", "torchvision", "timm", "numpy")
_NOT_PACKAGES = ("python", "cuda", "cudnn")


def _candidate_pins(c: Any) -> List[str]:
    return [f"{name}=={v}" for name, v in (("torch", c.torch), ("torchvision", c.torchvision),
                                          ("timm", c.timm), ("numpy", c.numpy)) if v]


def _variant(cuda: Optional[str], default: str) -> str:
    """--cuda 11.3 -> cu113, cpu -> cpu, None -> the candidate's variant."""
    if cuda is None:
        return default
    if cuda.lower() in ("cpu", "none"):
        return "cpu"
    if cuda.startswith("cu"):
        return cuda
    m = re.match(r"^(\d+)\.(\d)$", cuda)
    if not m:
        raise ReproError(f"cuda {cuda!r}: expected X.Y such as 11.3, or cpu")
    return f"cu{m.group(1)}{m.group(2)}"


def lock_plan(plan: Any, candidate: int = 1, date: Optional[str] = None,
              python: Optional[str] = None, cuda: Optional[str] = None,
              platform: str = "linux", extra: Sequence[str] = (),
              index_url: Optional[str] = None) -> Lock:
    """Lock candidate ``candidate`` (1-based, as `repro plan` numbers them) of a ``Plan``;
    ``extra`` adds the repository's other requirements."""
    if not 1 <= candidate <= len(plan.candidates):
        raise ReproError(f"candidate {candidate}: the plan has {len(plan.candidates)} "
                         f"(1-{len(plan.candidates)})")
    c = plan.candidates[candidate - 1]
    default_variant = c.torch_build.partition("+")[2] or "cpu"
    variant = _variant(cuda, default_variant)
    py = python or c.python
    source = f"{plan.path} candidate {candidate} ({c.strategy} torch {c.torch_build})"
    return lock_requirements(_candidate_pins(c) + list(extra),
                             date=date or _dt.datetime.now(_dt.timezone.utc).date().isoformat(),
                             python=py, platform=platform, variant=variant, source=source,
                             index_url=index_url)


def _scan_extra(report: Any) -> List[str]:
    """The repository's other requirements (scan constraints, minus what the plan pins)."""
    out = []
    for name, spec in sorted(report.constraints.items()):
        if name.lower() in _PINNED + _NOT_PACKAGES or name.lower() == "torchaudio":
            continue
        try:
            out.append(str(Requirement(f"{name}{spec}")))
        except InvalidRequirement:
            out.append(name)
    return out


def _name(line: str) -> str:
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return line


def extension_build_extra(torch: str, root: str, folders: Sequence[str]) -> List[str]:
    """What building the extensions of ``root`` needs with ``torch`` beyond the torch wheel
    (kb ``extension_build.json``). ``folders``: those whose setup.py builds one (relative to
    ``root``). A setup.py naming ``cpp_extension``: ``setuptools<70`` for torch 1.8 - 2.1; one
    building a ``.pyx`` that sets no ``language_level``: ``cython<3``. Files are read, never run;
    a missing or unreadable one counts as building nothing."""
    from repro_core import kb

    out: List[str] = []
    setups = [(f, _read_inside(root, os.path.join(f, "setup.py"))) for f in folders]
    if torch and any("cpp_extension" in text for _, text in setups):
        out += [p.requirement for p in kb.extension_build_requirements(torch)]
    if any(_cython_py2(root, f, text) for f, text in setups):
        out += [p.requirement for p in kb.extension_build_requirements(
            torch or "0", "cython-language-level-2")]
    return out


_PYX = re.compile(r"""['"]([^'"\s]+\.pyx)['"]""")


def _read_inside(root: str, rel: str) -> str:
    from repro_core.fsutil import SkippedFile, read_text_inside

    try:
        return read_text_inside(root, os.path.normpath(rel), 1 << 20)
    except (OSError, ReproError, SkippedFile):  # missing, a link, not a regular file, too big
        return ""


def builds_pyx(root: str, folder: str) -> bool:
    """Whether ``folder``'s setup.py (relative to ``root``) names a ``.pyx`` the folder has:
    its build must regenerate the C files (a shipped ``_mask.c`` from Cython 0.24 no longer
    compiles on Python 3.10), so repro builds it with ``--force``."""
    setup = _read_inside(root, os.path.join(folder, "setup.py"))
    return any(_read_inside(root, os.path.join(folder, rel)) for rel in _PYX.findall(setup))


def _cython_py2(root: str, folder: str, setup: str) -> bool:
    """A .pyx the setup.py builds sets no ``language_level`` (nor does the setup.py): Cython < 3
    compiled it as Python 2 code, Cython 3 as Python 3."""
    if "language_level" in setup:
        return False
    for rel in dict.fromkeys(_PYX.findall(setup)):
        head = _read_inside(root, os.path.join(folder, rel))
        if head and not re.search(r"^#\s*cython\s*:.*language_level", head, re.M):
            return True
    return False


def _req_file_lines(path: str) -> Tuple[List[str], str]:
    """Lines of a requirements file ready for uv: includes made absolute, PyTorch find-links /
    index lines dropped, and ``torch==1.10.0+cu113`` read as torch==1.10.0 plus variant cu113."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ReproError(f"{path}: cannot read ({e.strerror})") from None
    base = os.path.dirname(os.path.abspath(path))
    out: List[str] = []
    variant = ""
    for line in logical_lines(text):
        m = re.match(r"^(-r|-c|--requirement|--constraint)[ =](.+)$", line)
        if m:
            out.append(f"{m.group(1)} {os.path.join(base, m.group(2).strip())}")
            continue
        if "download.pytorch.org" in line or line.startswith(("-f ", "--find-links")):
            continue
        local = re.match(r"^([A-Za-z0-9_.-]+)\s*==\s*([0-9][^+\s;]*)\+(cu\d+|cpu)\b(.*)$", line)
        if local:
            variant = variant or local.group(3)
            line = f"{local.group(1)}=={local.group(2)}{local.group(4)}"
        out.append(line)
    return out, variant


def _plan(report: Any, hardware: Optional[Hardware], cpu_only: bool) -> Any:
    """The one call into plan: for ``hardware`` (default this machine, probed), or CPU builds
    only."""
    from repro_core import plan as planning

    if cpu_only:
        hardware = Hardware()
    elif hardware is None:
        from repro_core.probe import hardware as probe_hardware

        hardware = probe_hardware()
    return planning.plan(report, hardware)


def lock_path(inputs: Sequence[str], candidate: int = 1, date: Optional[str] = None,
              python: Optional[str] = None, cuda: Optional[str] = None,
              platform: str = "linux", hardware: Optional[Hardware] = None) -> Lock:
    """Lock a repository folder (scan, plan for ``hardware`` — default this machine — then
    `lock_plan`), a saved `repro plan --json` file, or requirements files."""
    from repro_core.plan import Plan
    from repro_core.scan import scan

    if not inputs:
        raise ReproError("nothing to lock: give a repository, a plan JSON or requirements files")
    first = inputs[0]
    if len(inputs) == 1 and os.path.isdir(first):
        from repro_core.reproduce import setup_folders

        report = scan(first)
        p = _plan(report, hardware, cpu_only=bool(cuda and cuda.lower() in ("cpu", "none")))
        extra = _scan_extra(report)
        if 1 <= candidate <= len(p.candidates):
            builds = extension_build_extra(p.candidates[candidate - 1].torch, first,
                                           setup_folders(report, first))
            names = {_name(b) for b in builds}
            extra = [r for r in extra if _name(r) not in names] + builds
        return lock_plan(p, candidate, date or report.reference_date, python, cuda, platform,
                         extra=extra)
    if len(inputs) == 1 and first.endswith(".json"):
        try:
            with open(first, encoding="utf-8") as f:
                p = Plan.from_json(f.read())
        except OSError as e:
            raise ReproError(f"{first}: cannot read ({e.strerror})") from None
        except (ValueError, KeyError, TypeError) as e:
            raise ReproError(f"{first}: not a `repro plan --json` file ({e})") from None
        return lock_plan(p, candidate, date, python, cuda, platform)
    lines: List[str] = []
    variant = ""
    for path in inputs:
        if os.path.isdir(path):
            raise ReproError(f"{path}: a folder among requirements files (give one repository)")
        got, v = _req_file_lines(path)
        lines += got
        variant = variant or v
    py = python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    return lock_requirements(lines, date=date or _dt.datetime.now(_dt.timezone.utc).date()
                             .isoformat(), python=py, platform=platform,
                             variant=_variant(cuda, variant), source=" ".join(inputs))


def write_lock(lk: Lock, path: str) -> None:
    """Write the lock text atomically (never over a folder or other non-regular file)."""
    atomic_write_text(path, lk.text())


__all__ = ["Lock", "Pin", "lock_requirements", "lock_plan", "lock_path", "read_lock",
           "parse_pins", "write_lock", "compile_args", "exclude_newer", "wheel_hashes"]
