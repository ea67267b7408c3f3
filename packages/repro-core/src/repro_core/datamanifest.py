"""Pinned data: content hashes of a dataset tree, and a check of a tree against them.

``hash_tree(DIR) -> Manifest`` records every regular file under DIR with its size and
SHA-256 (read in 1 MiB chunks, so files of many GB use constant memory); ``verify(DIR,
manifest) -> Verification`` names each changed, missing and extra file. A manifest can also
come from DVC (``read_dvc``: a ``.dvc`` file or ``dvc.lock``; DVC itself not needed).

Nothing leaves DIR: a manifest path that is absolute or has a ``..`` part is refused, and so
is a symbolic link whose target lies outside DIR (when hashing and when verifying).
"""

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[[int, int], None]  # (bytes done, bytes total)

FORMAT = "repro-data-manifest"
VERSION = 1
CHUNK = 1 << 20
# "md5" is a plain MD5 of the bytes (DVC 3 outputs, marked `hash: md5`); "md5-dvc2" is how
# DVC 2 hashed: MD5 of text files after CRLF -> LF (dvc/utils istextfile + dos2unix).
ALGORITHMS = ("sha256", "md5", "md5-dvc2")


@dataclass(frozen=True)
class FileEntry:
    """One file: its path relative to the tree root (POSIX separators), size in bytes (None
    when the source did not record it) and hex digest under ``algorithm``."""

    path: str
    size: Optional[int]
    digest: str
    algorithm: str = "sha256"

    def to_json(self) -> Dict[str, Any]:
        return {"path": self.path, "size": self.size, self.algorithm: self.digest}

    @classmethod
    def from_json(cls, d: Dict[str, Any], where: str = "manifest") -> "FileEntry":
        if not isinstance(d, dict) or not isinstance(d.get("path"), str):
            raise ReproError(f"{where}: each file needs a string 'path'")
        algos = [a for a in ALGORITHMS if a in d]
        if len(algos) != 1 or not isinstance(d[algos[0]], str):
            raise ReproError(f"{where}: file {d['path']!r} needs one digest "
                             f"({' or '.join(ALGORITHMS)})")
        size = d.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ReproError(f"{where}: file {d['path']!r} has a bad size {size!r}")
        return cls(check_relpath(d["path"], where), size, d[algos[0]].lower(), algos[0])


@dataclass(frozen=True)
class Manifest:
    """The files of a tree, sorted by path. ``complete``: the manifest lists the whole tree,
    so a file not in it is "extra" (False for DVC inputs, which list only tracked data)."""

    files: Tuple[FileEntry, ...]
    complete: bool = True

    @property
    def total_size(self) -> int:
        return sum(f.size or 0 for f in self.files)

    def to_json(self) -> Dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "complete": self.complete,
                "file_count": len(self.files), "total_size": self.total_size,
                "files": [f.to_json() for f in self.files]}

    @classmethod
    def from_json(cls, d: Any, where: str = "manifest") -> "Manifest":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ReproError(f"{where}: not a repro data manifest (no \"format\": \"{FORMAT}\")")
        if d.get("version") != VERSION:
            raise ReproError(f"{where}: manifest version {d.get('version')!r} is not {VERSION}")
        if not isinstance(d.get("files"), list):
            raise ReproError(f"{where}: 'files' must be a list")
        files = [FileEntry.from_json(f, where) for f in d["files"]]
        return cls(_unique(files, where), bool(d.get("complete", True)))

    def write(self, path: PathLike) -> None:
        atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")


@dataclass(frozen=True)
class Verification:
    """The result of checking a tree: each list names paths relative to the root."""

    checked: int
    changed: Tuple[str, ...] = ()
    missing: Tuple[str, ...] = ()
    extra: Tuple[str, ...] = ()
    details: Tuple[Tuple[str, str], ...] = ()  # (path, why it differs) for changed files

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def to_json(self) -> Dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "changed": list(self.changed),
                "missing": list(self.missing), "extra": list(self.extra),
                "details": dict(self.details)}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Verification":
        return cls(int(d["checked"]), tuple(d["changed"]), tuple(d["missing"]),
                   tuple(d["extra"]), tuple(sorted(d.get("details", {}).items())))


# --- paths ---------------------------------------------------------------------------------


def check_relpath(path: str, where: str = "manifest") -> str:
    """A manifest path must be relative, POSIX, without ``..``/``.``/empty parts."""
    if not path or path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path):
        raise ReproError(f"{where}: path {path!r} is not a relative POSIX path inside the tree")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ReproError(f"{where}: path {path!r} leaves the tree or is not normalised "
                         f"('..', '.' or empty parts)")
    return path


def _inside(root_real: str, target: str) -> bool:
    return os.path.commonpath([root_real, target]) == root_real


def _resolve_inside(root: Path, rel: str, root_real: str) -> Path:
    """root/rel, refusing it when links along the way lead outside the root."""
    p = root / rel
    real = os.path.realpath(p)
    if not _inside(root_real, real):
        raise ReproError(f"{p}: a symbolic link points outside {root} (to {real}); refused")
    return p


def _walk(root: Path, skip: Optional[str] = None) -> Iterator[Tuple[str, int]]:
    """(relative POSIX path, size) of each regular file under root, sorted. Links to files
    inside the root count as those files; links to folders are not followed (their files are
    found at their real place); links leading outside the root are refused."""
    root_real = os.path.realpath(root)
    found: List[Tuple[str, int]] = []

    def onerror(e: OSError) -> None:
        raise ReproError(f"{e.filename}: cannot read: {e.strerror}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        base = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = str(base / name) if str(base) != "." else name
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(full)
                if not _inside(root_real, real):
                    raise ReproError(f"{full}: a symbolic link points outside {root} "
                                     f"(to {real}); refused")
                if not os.path.exists(real):
                    raise ReproError(f"{full}: a dangling symbolic link")
                st = os.stat(full)
                if stat.S_ISDIR(st.st_mode):
                    continue
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise ReproError(f"{full}: not a regular file (a FIFO, socket or device)")
            if skip is None or os.path.realpath(full) != skip:
                found.append((rel, st.st_size))
    return iter(sorted(found))


def _root(directory: PathLike) -> Path:
    root = Path(directory)
    if not root.is_dir():
        raise ReproError(f"{root}: not a folder")
    return root


# --- hashing -------------------------------------------------------------------------------


def _is_text(block: bytes) -> bool:
    """DVC 2's istextblock: no NUL and at most 30% bytes outside printable ASCII/whitespace."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    nontext = block.translate(None, bytes(range(32, 127)) + b"\n\r\t\f\b")
    return len(nontext) / len(block) <= 0.30


def hash_file(path: PathLike, algorithm: str = "sha256",
              progress: Optional[Callable[[int], None]] = None) -> str:
    """Hex digest of a file, streamed in 1 MiB chunks; ``progress(n)`` gets each chunk's size.
    ``md5-dvc2`` normalises CRLF to LF in files DVC 2 took for text (first 512 bytes)."""
    if algorithm not in ALGORITHMS:
        raise ReproError(f"unknown hash algorithm {algorithm!r} (known: {', '.join(ALGORITHMS)})")
    h = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    try:
        return _digest(h, path, algorithm, progress)
    except OSError as e:
        raise ReproError(f"{path}: cannot read: {e.strerror or e}") from None


def _digest(h: Any, path: PathLike, algorithm: str,
            progress: Optional[Callable[[int], None]]) -> str:
    with open(path, "rb") as f:
        first = f.read(CHUNK)
        crlf = algorithm == "md5-dvc2" and _is_text(first[:512])
        chunk, carry = first, b""
        while chunk:
            if progress:
                progress(len(chunk))
            if crlf:  # a CR that ends a chunk may pair with the next chunk's LF
                chunk = carry + chunk
                carry = b"\r" if chunk.endswith(b"\r") else b""
                chunk = (chunk[:-1] if carry else chunk).replace(b"\r\n", b"\n")
            h.update(chunk)
            chunk = f.read(CHUNK)
        h.update(carry)
    return h.hexdigest()


def hash_tree(directory: PathLike, progress: Optional[Progress] = None,
              exclude: Optional[PathLike] = None) -> Manifest:
    """SHA-256 and size of every regular file under ``directory`` (``exclude``: one file to
    leave out, e.g. the manifest being written into the tree)."""
    root = _root(directory)
    skip = os.path.realpath(exclude) if exclude is not None else None
    listing = list(_walk(root, skip))
    total, done = sum(s for _, s in listing), [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    files = tuple(FileEntry(rel, size, hash_file(root / rel, "sha256", tick))
                  for rel, size in listing)
    return Manifest(files)


def verify(directory: PathLike, manifest: Manifest, progress: Optional[Progress] = None,
           exclude: Optional[PathLike] = None) -> Verification:
    """Check ``directory`` against ``manifest``: a file whose size or digest differs is
    changed, one listed but absent is missing, one present but unlisted is extra (only for a
    complete manifest). ``exclude``: a file in the tree to ignore (the manifest itself)."""
    root = _root(directory)
    root_real = os.path.realpath(root)
    skip = os.path.realpath(exclude) if exclude is not None else None
    present = dict(_walk(root, skip)) if manifest.complete else {}
    total = sum(f.size or 0 for f in manifest.files)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    changed: List[str] = []
    missing: List[str] = []
    why: Dict[str, str] = {}
    for f in manifest.files:
        p = _resolve_inside(root, f.path, root_real)
        if not p.is_file():
            missing.append(f.path)
            continue
        size = p.stat().st_size
        if f.size is not None and size != f.size:
            changed.append(f.path)
            why[f.path] = f"size {f.size} -> {size}"
            tick(f.size)
            continue
        got = hash_file(p, f.algorithm, tick)
        if got != f.digest:
            changed.append(f.path)
            why[f.path] = f"{f.algorithm} {f.digest[:12]}… -> {got[:12]}…"
    listed = {f.path for f in manifest.files}
    extra = sorted(set(present) - listed)
    return Verification(len(manifest.files), tuple(changed), tuple(missing), tuple(extra),
                        tuple(sorted(why.items())))


def _unique(files: List[FileEntry], where: str) -> Tuple[FileEntry, ...]:
    seen: Dict[str, FileEntry] = {}
    for f in files:
        if f.path in seen and seen[f.path] != f:
            raise ReproError(f"{where}: {f.path!r} is listed twice with different digests")
        seen[f.path] = f
    return tuple(sorted(seen.values(), key=lambda f: f.path))


# --- reading manifests (repro JSON or DVC) -------------------------------------------------


def load(path: PathLike, directory: Optional[PathLike] = None) -> Manifest:
    """A manifest from a file: repro's JSON, or a DVC ``.dvc`` file / ``dvc.lock`` (paths of
    DVC outputs are relative to the DVC file's folder and re-rooted at ``directory``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ReproError(f"{p}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ReproError(f"{p}: not a UTF-8 text file") from None
    if p.suffix == ".dvc" or p.name == "dvc.lock":
        return read_dvc(p, text, directory if directory is not None else p.parent)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReproError(f"{p}:{e.lineno}: invalid JSON: {e.msg}") from None
    return Manifest.from_json(data, str(p))


_ITEM = re.compile(r"^(\s*)-\s+([A-Za-z_][\w-]*):(?:\s+(.*))?$")
_KEY = re.compile(r"^(\s*)([A-Za-z_][\w.-]*):(?:\s+(.*))?$")


def _scalar(raw: Optional[str], where: str) -> str:
    v = (raw or "").strip()
    if v.startswith('"'):
        try:
            return str(json.loads(v))
        except json.JSONDecodeError:
            raise ReproError(f"{where}: cannot read the quoted value {v}") from None
    if v.startswith("'"):
        if not v.endswith("'") or len(v) < 2:
            raise ReproError(f"{where}: unterminated quoted value {v}")
        return v[1:-1].replace("''", "'")
    return re.sub(r"\s+#.*$", "", v)


def _dvc_items(text: str, where: str) -> List[Dict[str, str]]:
    """The entries of every ``deps:``/``outs:`` list in DVC's YAML, as flat string dicts.

    DVC writes these files itself in block style: a list item starts ``- key: value`` and its
    other keys follow one per line, indented to the first key. That subset is read here;
    anything else (cmd, params, flow-style JSON) is skipped, not interpreted."""
    if text.lstrip().startswith("{"):  # JSON is YAML too
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ReproError(f"{where}:{e.lineno}: invalid JSON: {e.msg}") from None
        if not isinstance(data, dict):
            raise ReproError(f"{where}: expected a mapping at the top")
        stages = list(data["stages"].values()) if "stages" in data else [data]
        return [{k: str(v) for k, v in item.items()} for st in stages
                for key in ("deps", "outs") for item in st.get(key, []) or []]
    items: List[Dict[str, str]] = []
    parents: List[Tuple[int, str]] = []  # (indent, key) of the enclosing mapping keys
    current: Optional[Dict[str, str]] = None
    key_indent = -1
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        at = f"{where}:{n}"
        m = _ITEM.match(line)
        if m:
            while parents and parents[-1][0] > indent:
                parents.pop()
            current = None
            if parents and parents[-1][1] in ("deps", "outs") and parents[-1][0] <= indent:
                current = {m.group(2): _scalar(m.group(3), at)}
                items.append(current)
                key_indent = len(m.group(1)) + line[len(m.group(1)):].index(m.group(2))
            continue
        m = _KEY.match(line)
        if current is not None and m and indent == key_indent:
            current[m.group(2)] = _scalar(m.group(3), at)
            continue
        if m:
            current = None
            while parents and parents[-1][0] >= indent:
                parents.pop()
            parents.append((indent, m.group(2)))
    return items


def read_dvc(path: PathLike, text: Optional[str] = None,
             directory: Optional[PathLike] = None) -> Manifest:
    """The md5 entries of a ``.dvc`` file or ``dvc.lock`` as an (incomplete) Manifest.

    Entries with ``hash: md5`` (DVC 3) are plain MD5; those without it were hashed the DVC 2
    way (``md5-dvc2``). A directory output (md5 ending ``.dir``) is expanded from its file
    list in the DVC cache of the project (``.dvc/cache``); without it, it is an error."""
    p = Path(path)
    where = str(p)
    if text is None:
        text = p.read_text(encoding="utf-8")
    root = Path(directory) if directory is not None else p.parent
    base = p.parent
    entries: List[FileEntry] = []
    for item in _dvc_items(text, where):
        if "md5" not in item or "path" not in item or "://" in item["path"]:
            continue  # uncached outputs, imports (their md5 is of a remote source)
        md5 = item["md5"].lower()
        algo = "md5" if item.get("hash") == "md5" else "md5-dvc2"
        rel = _rebase(base, item["path"], root, where)
        if md5.endswith(".dir"):
            entries += _dvc_dir(p, md5, rel, algo, where)
            continue
        if not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise ReproError(f"{where}: {item['path']!r} has a malformed md5 {item['md5']!r}")
        size = int(item["size"]) if item.get("size", "").isdigit() else None
        entries.append(FileEntry(rel, size, md5, algo))
    if not entries:
        raise ReproError(f"{where}: no outputs or dependencies with an md5 found")
    return Manifest(_unique(entries, where), complete=False)


def _rebase(base: Path, path: str, root: Path, where: str) -> str:
    check_relpath(path.rstrip("/"), where)
    full = os.path.normpath(os.path.join(os.path.abspath(base), path))
    rel = os.path.relpath(full, os.path.abspath(root))
    if rel == "." or rel.startswith(".."):
        raise ReproError(f"{where}: {path!r} lies outside {root}")
    return Path(rel).as_posix()


def _dvc_dir(dvc_file: Path, md5: str, rel: str, algo: str, where: str) -> List[FileEntry]:
    h = md5[:-4]
    for folder in dvc_file.resolve().parents:
        cache = folder / ".dvc" / "cache"
        # DVC 3 keeps it under files/md5/, DVC 2 directly under the cache
        for c in (cache / "files" / "md5" / h[:2] / f"{h[2:]}.dir", cache / h[:2] / f"{h[2:]}.dir"):
            if c.is_file():
                try:
                    listing = json.loads(c.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    raise ReproError(f"{c}: unreadable DVC directory listing") from None
                return [FileEntry(f"{rel}/{check_relpath(e['relpath'], str(c))}", None,
                                  str(e["md5"]).lower(), algo) for e in listing]
    raise ReproError(f"{where}: {rel!r} is a DVC directory ({md5}); its file list lives in the "
                     f"DVC cache, which is not here (run `dvc fetch`, or hash it with "
                     f"`repro data hash`)")


# --- writing -------------------------------------------------------------------------------
