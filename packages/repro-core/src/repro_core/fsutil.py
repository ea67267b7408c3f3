"""File helpers shared by every package: atomic writes, so nothing is half-written."""

import glob
import json
import os
import stat
import tempfile
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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                   dir=str(path.parent))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
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
