"""Reference dates: the git HEAD commit (read from .git directly, no git binary) and arXiv ids."""

import datetime as _dt
import os
import re
import zlib
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from repro_core.fsutil import SkippedFile, inside, read_bytes_inside


def _read(root: str, path: str, limit: int = 1 << 20) -> Optional[bytes]:
    """At most ``limit`` bytes of ``path``, only when it resolves inside ``root``."""
    try:
        return read_bytes_inside(root, path, limit, truncate=True)
    except SkippedFile:
        return None


def _git_dir(root: str, warnings: Optional[List[str]] = None) -> Optional[str]:
    """The repository's git folder: ``.git``, or the folder a ``gitdir:`` file names; None
    (with a warning) when it resolves outside ``root`` (a link to another repository)."""
    g = os.path.join(root, ".git")
    if os.path.isdir(g):
        target = g
    else:
        data = _read(root, g, 4096)
        if not (data and data.startswith(b"gitdir:")):
            return None
        target = os.path.join(root, data[7:].strip().decode("utf-8", "replace"))
    try:
        real = inside(root, target)
    except SkippedFile:
        if warnings is not None:
            warnings.append(".git: not read (its git folder is outside the repository)")
        return None
    return real if os.path.isdir(real) else None


def _common(root: str, gd: str) -> str:
    cd = _read(root, os.path.join(gd, "commondir"), 4096)
    if cd:
        return os.path.normpath(os.path.join(gd, cd.strip().decode("utf-8", "replace")))
    return gd


def _head_sha(root: str, gd: str) -> Optional[str]:
    head = (_read(root, os.path.join(gd, "HEAD"), 4096) or b"").strip().decode("ascii",
                                                                             "replace")
    if re.fullmatch(r"[0-9a-f]{40}", head):
        return head
    if not head.startswith("ref:"):
        return None
    ref = head[4:].strip()
    for base in (gd, _common(root, gd)):
        loose = _read(root, os.path.join(base, *ref.split("/")), 4096)
        if loose and re.fullmatch(rb"[0-9a-f]{40}", loose.strip()):
            return loose.strip().decode()
        packed = _read(root, os.path.join(base, "packed-refs"))
        if packed:
            for line in packed.decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


def _date(ts: int, tz: str = "+0000") -> Optional[str]:
    """YYYY-MM-DD of a git timestamp and offset; None when out of range (year > 9999)."""
    sign = -1 if tz.startswith("-") else 1
    try:
        off = _dt.timedelta(hours=int(tz[1:3] or 0), minutes=int(tz[3:5] or 0)) * sign
        return (_dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=ts) + off).strftime("%Y-%m-%d")
    except (OverflowError, ValueError):
        return None


def head_commit(root: str) -> Optional[str]:
    """The HEAD commit id of the repository at ``root`` (read inside ``root`` only; no git
    binary), or None."""
    gd = _git_dir(root)
    return _head_sha(root, gd) if gd else None


def git_date(root: str, warnings: Optional[List[str]] = None) -> Optional[Tuple[str, str]]:
    """(YYYY-MM-DD, description) of the HEAD commit, else of the last reflog entry. Only files
    inside ``root`` are read; ``warnings`` receives why a date was not taken."""
    gd = _git_dir(root, warnings)
    if not gd:
        return None
    sha = _head_sha(root, gd)
    if sha:
        for base in (gd, _common(root, gd)):
            raw = _read(root, os.path.join(base, "objects", sha[:2], sha[2:]))
            if not raw:
                continue
            try:
                obj = zlib.decompressobj().decompress(raw, 1 << 16)
            except zlib.error:
                break
            m = re.search(rb"^committer .*> (\d+) ([+-]\d{4})$", obj, re.M)
            if m:
                day = _date(int(m.group(1)), m.group(2).decode())
                if day:
                    return day, f"git HEAD commit {sha[:10]}"
                if warnings is not None:
                    warnings.append(f".git: HEAD commit {sha[:10]} has an impossible date")
            break
    log = _read(root, os.path.join(gd, "logs", "HEAD"), 8 << 20)
    if log:
        lines = [ln for ln in log.splitlines() if ln.strip()]
        if lines:
            m = re.search(rb"> (\d+) ([+-]\d{4})\t", lines[-1])
            if m:
                day = _date(int(m.group(1)), m.group(2).decode())
                if day:
                    return day, "git reflog (logs/HEAD)"
                if warnings is not None:
                    warnings.append(".git: the last reflog entry has an impossible date")
    return None


@dataclass(frozen=True, order=True)
class DateSource:
    """A reference date and where it comes from: ``kind`` is "git" (the HEAD commit or the
    reflog) or "arxiv" (an arXiv id in a README); ``label`` says which, for people
    ("git HEAD commit 1a2b3c4d5e", "arXiv:2111.06377")."""

    date: str  # YYYY-MM-DD
    label: str
    kind: str


def pick(sources: Sequence[DateSource]) -> Optional[str]:
    """The reference date: the git commit date when known, else the newest arXiv id (a README
    cites older papers, rarely newer ones)."""
    git = [s.date for s in sources if s.kind == "git"]
    if git:
        return max(git)
    return max((s.date for s in sources), default=None)
