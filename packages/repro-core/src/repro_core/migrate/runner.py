"""``migrate(path)``: the rules' codemods over a tree, in check, diff or write mode."""

import difflib
import os
import re
import stat
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from repro_core import kb
from repro_core.errors import ReproError
from repro_core.fsutil import SkippedFile, atomic_write, read_bytes_inside
from repro_core.kb.rules import Rule
from repro_core.match import cpp as match_cpp
from repro_core.match import python as match_python
from repro_core.match.span import Match
from repro_core.migrate.result import Change, Failure, MigrationResult
from repro_core.migrate.target import installed_target, parse_target, satisfies, why_skipped

MODES = ("check", "diff", "write")
MAX_BYTES = 2 << 20
CPP_EXT = (".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh", ".h", ".hh", ".hpp", ".hxx")
Progress = Callable[[int, int, str], None]  # (files done, files in all, path)


def _target(target: Union[None, str, Dict[str, str]]) -> Dict[str, str]:
    base = installed_target()
    if target is None:
        return base
    given = parse_target(target) if isinstance(target, str) else {
        k.lower(): str(v) for k, v in target.items()}
    return {**base, **given}


def select_rules(target: Dict[str, str], rules: Optional[Sequence[str]]
                 ) -> Tuple[List[Rule], Set[str], Dict[str, str]]:
    """(rules to look for, rules named explicitly, rule id -> why skipped)."""
    from repro_core.migrate import cpp as mcpp
    from repro_core.migrate.python import REQUIRES, supported

    named: Set[str] = set()
    if rules:
        for rid in rules:
            r = kb.rule(rid)  # ReproError for an unknown id
            if r.source == "requirements":
                raise ReproError(f"rule {rid!r} is about requirements, not code")
            named.add(rid)
    out: List[Rule] = []
    skipped: Dict[str, str] = {}
    for r in kb.rules():
        if r.source == "requirements" or (named and r.id not in named):
            continue
        if not r.codemod and r.safety == "safe":
            continue  # a fact for plan (or a new API), not something to rewrite
        why = why_skipped(r, target)
        if why is None and r.codemod and not satisfies(REQUIRES.get(r.codemod, ""), target):
            why = f"the new code needs {REQUIRES[r.codemod]}"
        if why is not None and r.id not in named:
            skipped[r.id] = why
            continue
        if r.codemod and not (supported(r.codemod) or r.codemod in mcpp.CODEMODS):
            pass  # reported for review with the rule's fix
        out.append(r)
    return out, named, skipped


def _files(root: str) -> Iterable[str]:
    from repro_core.scan import walk

    for rel, size in walk(root):
        low = rel.lower()
        if size <= MAX_BYTES and (low.endswith(".py") or low.endswith(CPP_EXT)):
            yield rel


def _read(root: str, rel: str) -> Tuple[Optional[str], str]:
    """(text, "") or (None, why): read through ``fsutil.read_bytes_inside`` as scan reads
    (inside ``root`` only, no link followed, regular files only), UTF-8 only: a file that is
    not is left alone rather than rewritten with replaced bytes (``read_text_inside`` replaces
    them, fine for scanning, not for writing back)."""
    try:
        data = read_bytes_inside(root, rel, MAX_BYTES)
    except SkippedFile as e:
        return None, ("" if str(e).startswith("larger than") else f"not read: {e}")
    if b"\0" in data[:8192]:
        return None, ""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 ({e.reason} at byte {e.start}); left alone"


_CPP_EXTENSION = re.compile(r"\b(CppExtension|CUDAExtension|BuildExtension)\b")


def _extension_dirs(root: str, files: Sequence[str]) -> List[str]:
    """Folders (``""`` for the root) of the setup.py files that build a torch C++ extension:
    the C/C++/CUDA sources under them are an extension's, as scan attributes them."""
    out = []
    for rel in files:
        if rel.rsplit("/", 1)[-1] == "setup.py":
            text, _ = _read(root, rel)
            if text and _CPP_EXTENSION.search(text):
                out.append(rel.rpartition("/")[0])
    return out


def _bound_dirs(root: str, files: Sequence[str]) -> Set[str]:
    """Folders holding a C/C++ source that binds an extension module: the sources beside it
    are an extension's, as scan attributes them (``repro_core.scan.cpp``)."""
    out = set()
    for rel in files:
        if rel.lower().endswith(CPP_EXT) and rel.rpartition("/")[0] not in out:
            text, _ = _read(root, rel)
            if text and match_cpp.binds(match_cpp.code_only(text)):
                out.add(rel.rpartition("/")[0])
    return out


def _under(rel: str, dirs: Sequence[str]) -> bool:
    return any(not d or rel.startswith(d + "/") for d in dirs)


FFI_RULE = "torch-utils-ffi"


def _ffi_port(root: str, rel: str, text: str, tree: Sequence[str], mode: str, apply: bool,
              changes: List[Change], review: List[Change], failed: List[Failure],
              changed_files: List[str], diffs: List[str]) -> None:
    """The cpp_extension port skeleton of each ``create_extension(...)`` in ``rel``: NEW files
    beside it, written only when the rule is named (``--rules torch-utils-ffi``); an existing
    file is never overwritten (the same text: already done)."""
    from repro_core.migrate import ffi

    for ext in ffi.find(rel, text, lambda p: _read(root, p)[0], tree):
        files = ext.files()
        todo = {p: t for p, t in files.items() if _read(root, p)[0] != t}
        if not todo:
            continue  # written by an earlier run
        clash = [p for p in todo if os.path.lexists(os.path.join(root, p))]
        after = (f"new files {', '.join(files)} ({len(ext.functions)} C functions bound; "
                 "port their bodies to ATen)")
        c = Change(rel, FFI_RULE, "torch-ffi-port", ext.line, ext.col, ext.end_line,
                   ext.end_col, ext.call, after, review=not apply,
                   note="cpp_extension port skeleton: review it; nothing existing is changed")
        if not apply or clash:
            review.append(c)
            for p in clash:
                failed.append(Failure(p, "exists and differs from the port skeleton; left alone"))
            continue
        changes.append(c)
        for p, t in todo.items():
            changed_files.append(p)
            if mode == "diff":
                diffs.append("".join(difflib.unified_diff(
                    [], t.splitlines(True), "/dev/null", f"b/{p}")))
            elif mode == "write":
                try:
                    atomic_write(os.path.join(root, p), t.encode("utf-8"), overwrite=False)
                except (ReproError, OSError) as e:
                    failed.append(Failure(p, str(e)))
                    changed_files.pop()


def migrate(path: str, target: Union[None, str, Dict[str, str]] = None, mode: str = "check",
            rules: Optional[Sequence[str]] = None,
            progress: Optional[Progress] = None) -> MigrationResult:
    """Rewrite the deprecated APIs the knowledge base's rules find under ``path`` (a folder
    or one file) for the ``target`` stack (``"torch==2.14,timm==1.0"``, a dict, or None:
    the installed one, read from package metadata). ``mode``: ``check`` (report),
    ``diff`` (report + unified diff), ``write`` (apply, atomically per file). Safe rules are
    applied; needs-review ones are reported with the suggested change unless named in
    ``rules`` (which also limits the run to those rules). Never follows a link; files
    outside ``path`` are never read or written."""
    if mode not in MODES:
        raise ReproError(f"mode {mode!r} not one of {', '.join(MODES)}")
    if os.path.islink(path):
        raise ReproError(f"{path}: is a symlink; give the real path")
    if not os.path.exists(path):
        raise ReproError(f"{path}: no such file or folder")
    try:
        import libcst  # noqa: F401
    except ImportError:
        raise ReproError("repro migrate needs libcst (pip install libcst)") from None
    from repro_core.migrate.cpp import migrate_cpp
    from repro_core.migrate.python import migrate_source

    tgt = _target(target)
    selected, named, skipped = select_rules(tgt, rules)
    py_rules = tuple(r for r in selected if r.source == "python")
    cpp_rules = tuple(r for r in selected if r.source == "cpp")
    matcher = match_python.matcher()  # the default one: its pre-filter is built once
    wanted = {r.id for r in py_rules}

    def decide(m: Match, proven: Optional[bool]) -> bool:
        if m.rule.id in named:
            return True
        if proven is not None:
            return proven
        return m.rule.safety == "safe"

    if os.path.isdir(path):
        root, files = path, list(_files(path))
    else:
        root, files = os.path.dirname(path) or ".", [os.path.basename(path)]
    ext_dirs = _extension_dirs(root, files) if cpp_rules else []
    bound = _bound_dirs(root, files) if cpp_rules else set()
    ffi_on = any(r.id == FFI_RULE for r in selected)
    changes: List[Change] = []
    review: List[Change] = []
    failed: List[Failure] = []
    changed_files: List[str] = []
    diffs: List[str] = []
    for n, rel in enumerate(files, 1):
        if progress is not None:
            progress(n, len(files), rel)
        text, why = _read(root, rel)
        if text is None:
            if why:
                failed.append(Failure(rel, why))
            continue
        try:
            if ffi_on and rel.lower().endswith(".py") and "create_extension" in text:
                _ffi_port(root, rel, text, files, mode, FFI_RULE in named, changes, review,
                          failed, changed_files, diffs)
            if rel.lower().endswith(".py"):
                if not py_rules or matcher.prefilter(text) is not None:
                    continue
                parsed = match_python.parse(text)
                if parsed is None:
                    failed.append(Failure(rel, "does not parse as Python 3; left alone"))
                    continue
                ms = [m for m in matcher.find(rel, parsed) if m.rule.id in wanted]
                if not ms:
                    continue
                new, outcomes = migrate_source(text, parsed, ms, tgt, decide)
            else:
                if not cpp_rules:
                    continue
                ext = _under(rel, ext_dirs) or rel.rpartition("/")[0] in bound
                ms = match_cpp.find(rel, text, cpp_rules, extension=ext)
                if not ms:
                    continue
                new, outcomes = migrate_cpp(text, ms, decide)
                for _ in range(8):  # an edit overlapping an applied one waits for the next pass
                    more = match_cpp.find(rel, new, cpp_rules, extension=ext)
                    again, extra = migrate_cpp(new, more, decide)
                    if again == new:
                        break
                    new = again
                    outcomes += [o for o in extra if o.applied]
        except Exception as e:  # libcst.ParserSyntaxError and friends: leave the file alone
            if isinstance(e, ReproError):
                raise
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            failed.append(Failure(rel, f"cannot rewrite: {first}; left alone"))
            continue
        for o in outcomes:
            m = o.match
            c = Change(rel, m.rule.id, m.rule.codemod or "", m.line, m.col, m.end_line,
                       m.end_col, o.before, o.after, review=o.review, note=o.note)
            if o.applied:
                changes.append(c)
            elif o.review and (o.before or o.after):
                review.append(c)
        if new == text:
            continue
        changed_files.append(rel)
        if mode == "diff":
            diffs.append("".join(difflib.unified_diff(
                text.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}")))
        elif mode == "write":
            full = os.path.join(root, rel)
            try:
                old_mode = stat.S_IMODE(os.lstat(full).st_mode)
                atomic_write(full, new.encode("utf-8"))
                os.chmod(full, old_mode)
            except (ReproError, OSError) as e:
                failed.append(Failure(rel, str(e)))
                changed_files.pop()
    return MigrationResult(
        path=str(path), mode=mode, target=tgt, changes=tuple(changes), review=tuple(review),
        failed=tuple(failed), skipped_rules=skipped, files_scanned=len(files),
        files_changed=tuple(changed_files), diff="".join(diffs))
