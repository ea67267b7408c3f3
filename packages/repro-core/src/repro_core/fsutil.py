"""File helpers shared by every package: atomic writes, so nothing is half-written; reads
confined to a root, so a scanned repository cannot point repro at files outside it."""

import codecs
import functools
import glob
import json
import os
import stat
from pathlib import Path
from typing import Any, List, Union

from repro_core.errors import ReproError

PathLike = Union[str, "os.PathLike[str]"]


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, then rename; the
    folder is created. The rules of ``atomic_write`` apply."""
    atomic_write(path, data, make_parents=True)


# ---- atomic writes: the one way repro writes a file ---------------------------------

_KINDS = ((stat.S_ISLNK, "a symlink"), (stat.S_ISDIR, "a directory"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class OutputExistsError(ReproError):
    """``path`` is an existing file and the caller did not allow replacing it."""

    def __init__(self, path: PathLike) -> None:
        super().__init__(f"{path}: already exists; not replacing it")
        self.path = str(path)


def check_destination(path: PathLike, overwrite: bool = True) -> None:
    """ReproError unless ``path`` may be written: it must not exist, or be a regular file
    (never a symlink, directory, FIFO, device or socket) and ``overwrite`` must be true
    (else ``OutputExistsError``)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise ReproError(f"{path}: cannot write: {e.strerror}") from e
    for is_kind, kind in _KINDS:
        if is_kind(st.st_mode):
            raise ReproError(f"{path}: exists and is {kind}, not a regular file; "
                             "not replacing it")
    if not stat.S_ISREG(st.st_mode):
        raise ReproError(f"{path}: exists and is not a regular file; not replacing it")
    if not overwrite:
        raise OutputExistsError(path)


def _mode_for(path: Path) -> int:
    """The permission bits a replaced file keeps, else those of a new file (0666 less the
    umask), as ``open(path, "w")`` would give."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: PathLike, data: bytes, *, overwrite: bool = True,
                 make_parents: bool = False) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temp file ``.NAME.*.tmp`` in the
    same folder, fsync, rename. ``check_destination`` rules apply; a missing folder
    (unless ``make_parents``) or any OS error is a one-line ReproError naming ``path``."""
    path = Path(path)
    check_destination(path, overwrite)
    tmp = None
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.parent.is_dir():
            raise ReproError(f"{path}: folder {path.parent} does not exist")
        import tempfile  # here: reading (a scan) never needs it

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                   dir=str(path.parent))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600; keep what a plain open() gives
        check_destination(path, overwrite)  # again: it may have changed meanwhile
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise ReproError(f"{path}: cannot write: {e.strerror or e}") from e
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temps(path: PathLike) -> List[str]:
    """Delete the temp files ``atomic_write(path, ...)`` leaves when killed mid-write
    (regular files ``.NAME.*.tmp`` beside ``path``); returns their paths."""
    path = Path(path)
    removed = []
    for tmp in sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp")):
        if stat.S_ISREG(os.lstat(tmp).st_mode):
            os.unlink(tmp)
            removed.append(str(tmp))
    return removed


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# --- Reading inside a root (scan): one way to open a file a repository names. Every path is
# resolved (symlinks included) and refused when it lands outside the root; only regular files
# are read (a FIFO or device never blocks or streams forever); text is decoded from UTF-8,
# UTF-8/16/32 with a BOM, or BOM-less UTF-16.

class SkippedFile(Exception):
    """A file that was not read; ``str(e)`` says why ("outside the repository", ...)."""


class MissingFile(SkippedFile):
    """The file does not exist."""


@functools.lru_cache(maxsize=16)
def _real_root(root: str) -> str:
    """realpath of a root, once per process (a scan reads thousands of files under it)."""
    return os.path.realpath(root)


def inside(root: PathLike, rel: PathLike) -> str:
    """The real path of ``rel`` (relative to ``root``, or absolute); ``SkippedFile`` when it
    resolves outside the real path of ``root``."""
    base = _real_root(os.path.abspath(os.fspath(root)))
    prefix = base.rstrip(os.sep) + os.sep
    path = os.path.normpath(os.path.join(base, os.fspath(rel)))
    if path != base and not path.startswith(prefix):
        raise SkippedFile("outside the repository")
    probe = path  # fast path: no link between base and path, so path is already real
    while len(probe) > len(base):
        if os.path.islink(probe):
            path = os.path.realpath(path)
            if path != base and not path.startswith(prefix):
                raise SkippedFile("outside the repository")
            break
        probe = os.path.dirname(probe)
    return path


def read_bytes_inside(root: PathLike, rel: PathLike, limit: int, truncate: bool = False,
                      offset: int = 0) -> bytes:
    """At most ``limit`` bytes of the regular file ``rel`` inside ``root``, from byte
    ``offset``; ``SkippedFile`` (outside the root, missing, unreadable, not a regular file,
    larger than ``limit`` unless ``truncate``: then its first ``limit`` bytes)."""
    real = inside(root, rel)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | \
        getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise MissingFile("not found") from None
    except OSError as e:
        raise SkippedFile(f"unreadable: {e.strerror or e}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SkippedFile("not a regular file")
        with os.fdopen(fd, "rb") as f:
            fd = -1  # the file object owns it now
            if offset:
                f.seek(offset)
            data = f.read(limit + 1)
    except OSError as e:
        raise SkippedFile(f"unreadable: {e.strerror or e}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        if truncate:
            return data[:limit]
        raise SkippedFile(f"larger than {limit} bytes")
    return data


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_text(data: bytes) -> str:
    """Text of a file's bytes (undecodable bytes replaced); ``SkippedFile`` for binary data
    (a NUL byte in the first 8 KB that is not BOM-less UTF-16)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    head = data[:8192]
    if b"\0" in head:
        even = head[:len(head) // 2 * 2]
        zeros_odd, zeros_even = even[1::2].count(0), even[0::2].count(0)
        half = len(even) // 2
        if half >= 2 and zeros_odd == half and zeros_even == 0:
            return data.decode("utf-16-le", errors="replace")
        if half >= 2 and zeros_even == half and zeros_odd == 0:
            return data.decode("utf-16-be", errors="replace")
        raise SkippedFile("binary (a NUL byte in the first 8 KB)")
    return data.decode("utf-8", errors="replace")


def read_text_inside(root: PathLike, rel: PathLike, limit: int) -> str:
    """``decode_text(read_bytes_inside(root, rel, limit))``."""
    return decode_text(read_bytes_inside(root, rel, limit))
