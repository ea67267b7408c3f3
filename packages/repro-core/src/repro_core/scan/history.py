"""Reference dates: the git HEAD commit (read from .git directly, no git binary) and arXiv ids."""

import datetime as _dt
import os
import re
import zlib
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple


def _read(path: str, limit: int = 1 << 20) -> Optional[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None


def _git_dir(root: str) -> Optional[str]:
    g = os.path.join(root, ".git")
    if os.path.isdir(g):
        return g
    data = _read(g, 4096)
    if data and data.startswith(b"gitdir:"):
        target = data[7:].strip().decode("utf-8", "replace")
        target = os.path.join(root, target)
        return target if os.path.isdir(target) else None
    return None


def _common(gd: str) -> str:
    cd = _read(os.path.join(gd, "commondir"), 4096)
    if cd:
        return os.path.normpath(os.path.join(gd, cd.strip().decode("utf-8", "replace")))
    return gd


def _head_sha(gd: str) -> Optional[str]:
    head = (_read(os.path.join(gd, "HEAD"), 4096) or b"").strip().decode("ascii", "replace")
    if re.fullmatch(r"[0-9a-f]{40}", head):
        return head
    if not head.startswith("ref:"):
        return None
    ref = head[4:].strip()
    for base in (gd, _common(gd)):
        loose = _read(os.path.join(base, *ref.split("/")), 4096)
        if loose and re.fullmatch(rb"[0-9a-f]{40}", loose.strip()):
            return loose.strip().decode()
        packed = _read(os.path.join(base, "packed-refs"))
        if packed:
            for line in packed.decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


def _date(ts: int, tz: str = "+0000") -> str:
    sign = -1 if tz.startswith("-") else 1
    off = _dt.timedelta(hours=int(tz[1:3] or 0), minutes=int(tz[3:5] or 0)) * sign
    return (_dt.datetime(1970, 1, 1) + _dt.timedelta(seconds=ts) + off).strftime("%Y-%m-%d")


def git_date(root: str) -> Optional[Tuple[str, str]]:
    """(YYYY-MM-DD, description) of the HEAD commit, else of the last reflog entry."""
    gd = _git_dir(root)
    if not gd:
        return None
    sha = _head_sha(gd)
    if sha:
        for base in (gd, _common(gd)):
            raw = _read(os.path.join(base, "objects", sha[:2], sha[2:]))
            if not raw:
                continue
            try:
                obj = zlib.decompressobj().decompress(raw, 1 << 16)
            except zlib.error:
                break
            m = re.search(rb"^committer .*> (\d+) ([+-]\d{4})$", obj, re.M)
            if m:
                return _date(int(m.group(1)), m.group(2).decode()), f"git HEAD commit {sha[:10]}"
            break
    log = _read(os.path.join(gd, "logs", "HEAD"), 8 << 20)
    if log:
        lines = [ln for ln in log.splitlines() if ln.strip()]
        if lines:
            m = re.search(rb"> (\d+) ([+-]\d{4})\t", lines[-1])
            if m:
                return _date(int(m.group(1)), m.group(2).decode()), "git reflog (logs/HEAD)"
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
