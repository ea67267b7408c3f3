"""Reference dates: the git HEAD commit (read from .git directly, no git binary) and arXiv ids.

A commit is read as a loose object or from a pack (index version 2, deltas resolved), as a
fresh ``git clone`` keeps every object in a pack."""

import datetime as _dt
import glob
import os
import re
import struct
import zlib
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from repro_core.fsutil import SkippedFile, inside, read_bytes_inside


def _read(root: str, path: str, limit: int = 1 << 20, offset: int = 0) -> Optional[bytes]:
    """At most ``limit`` bytes of ``path`` (from ``offset``), only when it resolves inside
    ``root``."""
    try:
        return read_bytes_inside(root, path, limit, truncate=True, offset=offset)
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


_IDX_LIMIT = 256 << 20  # a pack index over this (10M objects) is not read
_OBJ_LIMIT = 1 << 20  # a commit or delta read from a pack: its compressed bytes, at most


def _inflate(data: bytes, size: int) -> Optional[bytes]:
    try:
        out = zlib.decompressobj().decompress(data, size)
    except zlib.error:
        return None
    return out if len(out) == size else None


def _varint(data: bytes, i: int) -> Tuple[int, int]:
    """A delta header size (7 bits a byte, least significant first) and the next index."""
    value = shift = 0
    while True:
        c = data[i]
        i += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return value, i


def _apply_delta(base: bytes, delta: bytes) -> Optional[bytes]:
    """git's delta format: the source and target sizes, then copy/insert instructions."""
    try:
        src, i = _varint(delta, 0)
        dst, i = _varint(delta, i)
        if src != len(base):
            return None
        out = bytearray()
        while i < len(delta):
            op = delta[i]
            i += 1
            if op & 0x80:  # copy from the base: offset bytes (bits 0-3), size bytes (4-6)
                off = size = 0
                for bit in range(4):
                    if op & (1 << bit):
                        off |= delta[i] << (8 * bit)
                        i += 1
                for bit in range(3):
                    if op & (1 << (4 + bit)):
                        size |= delta[i] << (8 * bit)
                        i += 1
                size = size or 0x10000
                if off + size > len(base):
                    return None
                out += base[off:off + size]
            elif op:  # insert the next ``op`` bytes
                out += delta[i:i + op]
                i += op
            else:
                return None
    except IndexError:
        return None
    return bytes(out) if len(out) == dst else None


def _pack_offset(idx: bytes, sha: bytes) -> Optional[int]:
    """Offset of ``sha`` in the pack of the version-2 index ``idx``, or None."""
    if len(idx) < 8 + 1024 or idx[:8] != b"\xfftOc\x00\x00\x00\x02":
        return None
    fan = struct.unpack(">256I", idx[8:8 + 1024])
    n = fan[255]
    names = 8 + 1024
    lo, hi = (fan[sha[0] - 1] if sha[0] else 0), fan[sha[0]]
    if len(idx) < names + 28 * n or hi > n:
        return None
    while lo < hi:  # binary search among the names starting with sha's first byte
        mid = (lo + hi) // 2
        name = idx[names + 20 * mid:names + 20 * mid + 20]
        if name == sha:
            off, = struct.unpack(">I", idx[names + 24 * n + 4 * mid:names + 24 * n + 4 * mid + 4])
            if off & 0x80000000:  # an index into the 8-byte offsets
                at = names + 28 * n + 8 * (off & 0x7FFFFFFF)
                if len(idx) < at + 8:
                    return None
                off, = struct.unpack(">Q", idx[at:at + 8])
            return off
        lo, hi = (mid + 1, hi) if name < sha else (lo, mid)
    return None


def _pack_object(root: str, pack: str, offset: int, packs: List[Tuple[bytes, str]],
                 depth: int = 0) -> Optional[bytes]:
    """The inflated object at ``offset`` of ``pack`` (deltas resolved, 50 deep at most)."""
    if depth > 50:
        return None
    data = _read(root, pack, _OBJ_LIMIT, offset=offset)
    if not data:
        return None
    c, i = data[0], 1
    kind, size, shift = (c >> 4) & 7, c & 15, 4
    while c & 0x80 and i < len(data):
        c = data[i]
        i += 1
        size |= (c & 0x7F) << shift
        shift += 7
    if kind in (1, 2, 3, 4):  # commit, tree, blob, tag
        return _inflate(data[i:], size)
    if kind == 6 and i < len(data):  # OFS_DELTA: the base is this many bytes before
        c = data[i]
        i += 1
        back = c & 0x7F
        while c & 0x80 and i < len(data):
            c = data[i]
            i += 1
            back = ((back + 1) << 7) | (c & 0x7F)
        base = _pack_object(root, pack, offset - back, packs, depth + 1) if back <= offset \
            else None
    elif kind == 7:  # REF_DELTA: the base by name
        base = _packed(root, data[i:i + 20].hex(), packs, depth + 1)
        i += 20
    else:
        return None
    delta = _inflate(data[i:], size)
    return _apply_delta(base, delta) if base is not None and delta is not None else None


def _packs(root: str, base: str) -> List[Tuple[bytes, str]]:
    """(index bytes, pack path) of each pack under ``base/objects/pack``."""
    found = []
    for idx_path in sorted(glob.glob(os.path.join(glob.escape(base), "objects", "pack",
                                                  "pack-*.idx"))):
        idx = _read(root, idx_path, _IDX_LIMIT)
        if idx and len(idx) < _IDX_LIMIT:
            found.append((idx, idx_path[:-4] + ".pack"))
    return found


def _packed(root: str, sha: str, packs: List[Tuple[bytes, str]], depth: int = 0
            ) -> Optional[bytes]:
    """The object ``sha`` (hex) from the first pack that has it, inflated."""
    name = bytes.fromhex(sha)
    for idx, pack in packs:
        off = _pack_offset(idx, name)
        if off is not None:
            return _pack_object(root, pack, off, packs, depth)
    return None


def _commit(root: str, base: str, sha: str) -> Optional[bytes]:
    """The commit ``sha`` under the git folder ``base``: loose, else from a pack."""
    raw = _read(root, os.path.join(base, "objects", sha[:2], sha[2:]))
    if raw:
        try:
            obj = zlib.decompressobj().decompress(raw, 1 << 16)
        except zlib.error:
            return None
        return obj.split(b"\0", 1)[1] if b"\0" in obj[:32] else obj
    return _packed(root, sha, _packs(root, base))


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
        for base in dict.fromkeys((gd, _common(root, gd))):
            obj = _commit(root, base, sha)
            if not obj:
                continue
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
