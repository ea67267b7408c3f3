"""``repro scan``: what a paper repository needs, read statically (nothing is imported, executed
or built). One reader per source kind; ``combine`` turns their evidence into constraints.

    from repro_core.scan import scan
    report = scan("path/to/repo")          # -> ScanReport (frozen; to_json()/from_json())
"""

import contextlib
import functools
import gc
import os
import re
import stat
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from repro_core.errors import ReproError
from repro_core.fsutil import MissingFile, SkippedFile, read_text_inside
from repro_core.match import requirements as match_requirements
from repro_core.scan import (
    conda,
    cpp,
    dockerfile,
    history,
    metadata,
    notebook,
    parallel,
    python_api,
    readme,
    requirements,
    setup_py,
)
from repro_core.scan.collector import Collector
from repro_core.scan.combine import constraints as combine_constraints
from repro_core.scan.report import (
    Evidence,
    Extension,
    Finding,
    ImportUse,
    ScanReport,
)
from repro_core.scan.reqs import canon, commands, install_command

__all__ = ["scan", "ScanReport"]

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox", ".venv",
             "site-packages", "build", "dist", ".eggs", ".mypy_cache", ".pytest_cache",
             ".ipynb_checkpoints", ".idea", ".vscode", ".cache", "wandb", ".ruff_cache"}
MAX_BYTES = 2 << 20  # source/text files
MAX_NOTEBOOK_BYTES = 16 << 20
MAX_FILES = 50000
_BUILD_FILES = ("setup.py", "CMakeLists.txt", "build.py", "make.sh", "Makefile", "build.sh")
_REQ_NAME = re.compile(r"(^|[-_.])req(uirement)?s?([-_.]|$)|requirements", re.I)


def _is_venv(path: str, names: List[str]) -> bool:
    return "pyvenv.cfg" in names or "conda-meta" in names or (
        os.path.isfile(os.path.join(path, "bin", "activate")))


def walk(root: str, skipped: Optional[List[str]] = None) -> Iterator[Tuple[str, int]]:
    """(posix relative path, size) of the regular files worth reading, sorted per folder.
    Symlinks are never followed (no loops, nothing outside the repository); ``skipped``
    receives a warning per unreadable folder and per linked or special file of a kind scan
    reads."""
    count = 0

    def onerror(e: OSError) -> None:
        if skipped is not None and e.filename:
            rel = os.path.relpath(e.filename, root).replace(os.sep, "/")
            skipped.append(f"{rel}: folder skipped (unreadable: {e.strerror or e})")

    top = os.path.join(root, "")  # with a separator at its end
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        sub = "" if dirpath == root else dirpath[len(top):].replace(os.sep, "/") + "/"
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.endswith(".egg-info")
            and not os.path.islink(os.path.join(dirpath, d))
            and not _is_venv(os.path.join(dirpath, d), _listdir(os.path.join(dirpath, d))))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                rel = sub + name
                if skipped is not None and _kind(rel):
                    what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
                    skipped.append(f"{rel}: skipped ({what})")
                continue
            count += 1
            if count > MAX_FILES:
                return
            yield sub + name, st.st_size


def _listdir(path: str) -> List[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _kind(rel: str) -> Optional[str]:
    name = rel.rsplit("/", 1)[-1]
    low = name.lower()
    parent = rel.rsplit("/", 2)[-2].lower() if "/" in rel else ""
    if low.endswith(".py"):
        return "setup.py" if low == "setup.py" else "python"
    if low.endswith(".ipynb"):
        return "notebook"
    if low.endswith(cpp.CPP_EXT):
        return "cpp"
    if low.endswith((".txt", ".in", ".pip")) and (_REQ_NAME.search(low.rsplit(".", 1)[0])
                                                   or parent == "requirements"):
        return "requirements"
    if low == "setup.cfg":
        return "setup.cfg"
    if low == "pyproject.toml":
        return "pyproject"
    if low.endswith((".yml", ".yaml")) and ("environment" in low or low.startswith(
            ("conda", "env"))):
        return "environment.yml"
    if low.startswith("dockerfile") or low.endswith(".dockerfile"):
        return "dockerfile"
    if low.endswith((".md", ".rst", ".markdown")) or low.startswith(("readme", "install")):
        if low.startswith(("readme", "install", "getting_started", "get_started")) or \
                "/" not in rel or "install" in low:
            return "readme"
        return "doc"
    if low.endswith(".sh"):
        return "script"
    return None


def _read_text(root: str, rel: str, limit: int = MAX_BYTES) -> Optional[str]:
    """The file's text (UTF-8, or UTF-8/16/32 with a BOM, or BOM-less UTF-16; undecodable
    bytes replaced). ``SkippedFile`` (binary, too large, unreadable, outside ``root``, not a
    regular file); None when it does not exist."""
    try:
        return read_text_inside(root, rel, limit)
    except MissingFile:
        return None


def scan(path: str, workers: Optional[int] = None) -> ScanReport:
    """Read the repository at ``path`` (never executing it) into a ``ScanReport``. Many
    Python files are read by ``workers`` processes (default: one per CPU, see
    ``parallel.workers``); the report is the same for any number."""
    enabled = gc.isenabled()
    gc.disable()  # ast trees are acyclic and freed by refcount; GC passes only cost time
    try:
        return _scan(path, workers)
    finally:
        if enabled:
            gc.enable()


Reader = Callable[[Collector, str, str], None]  # (collector, posix relative path, text)


def _scan(path: str, workers: Optional[int]) -> ScanReport:
    if not os.fspath(path):
        raise ReproError("empty path: give the repository folder (e.g. '.')")
    root = os.path.abspath(os.fspath(path))
    if not os.path.isdir(root):
        raise ReproError(f"{path}: not a directory")
    try:
        with os.scandir(root):
            pass
    except OSError as e:
        raise ReproError(f"{path}: cannot read the folder ({e.strerror or e})") from None
    col = Collector()
    files = list(walk(root, col.warnings))
    if len(files) >= MAX_FILES:
        col.warnings.append(f"{path}: more than {MAX_FILES} files; the rest were not read")
    by_kind: Dict[str, List[str]] = {}
    for rel, size in files:
        k = _kind(rel)
        if not k:
            continue
        limit = MAX_NOTEBOOK_BYTES if k == "notebook" else MAX_BYTES
        if size > limit:
            col.warnings.append(f"{rel}: skipped ({size} bytes > {limit})")
            continue
        by_kind.setdefault(k, []).append(rel)
    imports: Dict[str, ImportUse] = {}
    local = _local_modules(by_kind)
    with _python_job(root, by_kind.get("python", []), workers) as job:
        cpp_ahead: Optional[_Ahead] = None
        notebooks: Optional[_Ahead] = None
        for kind, reader in _readers(root, local, imports):
            if kind == "python" and job:
                # the C++ sources and the notebooks are read here while the workers still read
                # the Python files
                cpp_ahead = _Ahead.load(root, by_kind.get("cpp", []))
                cpp_ahead.analyze(lambda rel, text: cpp.analyze(
                    rel, text, cpp.in_extension(col, rel)))
                notebooks = _Ahead.load(root, by_kind.get("notebook", []), MAX_NOTEBOOK_BYTES)
                notebooks.analyze(_notebook_ahead)
                job.record(col, lambda rel, text, a: python_api.read(
                    col, rel, text, local=local, imports=imports, analysis=a))
            elif kind == "notebook" and notebooks:
                notebooks.record(col, lambda rel, text, a, nb=reader: nb(col, rel, text, ahead=a))
            elif kind == "cpp" and cpp_ahead:
                cpp_ahead.record(col, lambda rel, text, a: cpp.record(col, rel, a))
            else:
                limit = MAX_NOTEBOOK_BYTES if kind == "notebook" else MAX_BYTES
                for rel in by_kind.get(kind, []):
                    text = _load(col, root, rel, limit)
                    if text is not None:
                        with _one_file(col, rel):
                            reader(col, rel, text)
    cpp.finish(col)
    extensions = _extensions(col, by_kind.get("cpp", []), [r for r, _ in files])
    with _one_file(col, ".git"):
        gd = history.git_date(root, col.warnings)
        if gd:
            col.dates.append(history.DateSource(gd[0], gd[1], "git"))
    return _finish(col, os.fspath(path), imports, extensions, len(files),
                   lambda rel: _source_text(root, rel))


class _Ahead:
    """Files read (and analysed) before their turn; ``record`` then records them, and the
    warnings of those that could not be read, at their turn: the report is the one of
    reading them in turn."""

    def __init__(self, items: List[Tuple[str, str]], warnings: List[str]) -> None:
        self.items, self.warnings = items, warnings
        self.results: Iterable[object] = []

    @classmethod
    def load(cls, root: str, rels: List[str], limit: int = MAX_BYTES) -> "_Ahead":
        sink = Collector()
        items = [(rel, text) for rel in rels for text in [_load(sink, root, rel, limit)]
                 if text is not None]
        return cls(items, sink.warnings)

    def analyze(self, fn: Callable[[str, str], object]) -> None:
        """Each file's ``fn(rel, text)``; an exception is kept, to be raised at its turn."""
        results: List[object] = []
        for rel, text in self.items:
            try:
                results.append(fn(rel, text))
            except Exception as e:  # noqa: BLE001 - raised again in record, as a warning
                results.append(e)
        self.results = results

    def record(self, col: Collector, fn: Callable[[str, str, Any], None]) -> None:
        """``fn(rel, text, result)`` of each file in turn (a failure is one warning)."""
        for w in self.warnings:
            if w not in col.warnings:
                col.warnings.append(w)
        for (rel, text), result in zip(self.items, self.results):
            with _one_file(col, rel):
                if isinstance(result, Exception):
                    raise result
                fn(rel, text, result)


class _PythonJob:
    """The Python files, read and analysed by worker processes from the start of the scan."""

    def __init__(self, root: str, rels: List[str], analyses: parallel.Forked) -> None:
        self.root, self.rels, self.analyses = root, rels, analyses

    def record(self, col: Collector, fn: Callable[[str, Optional[str], Any], None]) -> None:
        """``fn(rel, text, analysis)`` of each file in turn, as the analyses come; the text is
        read here (in turn: its warnings where reading in turn puts them) only when the
        analysis failed or ``python_api.needs_text``, else it is None."""
        for rel, analysis in zip(self.rels, self.analyses.results()):
            text = None
            if python_api.needs_text(col, analysis):
                text = _load(col, self.root, rel)
                if text is None:
                    continue
            with _one_file(col, rel):
                fn(rel, text, analysis)


@contextlib.contextmanager
def _python_job(root: str, rels: List[str], workers: Optional[int]
                ) -> Iterator[Optional[_PythonJob]]:
    """Many Python files: read and analysed by worker processes while the other readers run
    (None: they are read in turn, here)."""
    if len(rels) < python_api.PARALLEL_MIN or (workers is not None and workers <= 1):
        yield None
        return
    n = parallel.workers() if workers is None else workers
    with python_api.start_analysis(rels, n, lambda rel: _read_text(root, rel)) as analyses:
        yield _PythonJob(root, rels, analyses)


def _readers(root: str, local: Set[str], imports: Dict[str, ImportUse]
             ) -> List[Tuple[str, Reader]]:
    """(file kind, reader) in reading order; every reader is ``reader(col, rel, text)``.
    Order matters: setup.py files name the repository's extension modules (then local, not
    dependencies) before any Python file is read."""
    seen_req: Set[str] = set()

    def reqs(col: Collector, rel: str, text: str) -> None:  # -r includes read from the tree
        requirements.read(col, root, rel, text, lambda inc: _load(col, root, inc), seen_req)

    def prose(kind: str) -> Reader:
        def read(col: Collector, rel: str, text: str) -> None:
            if kind != "doc":
                readme.read(col, rel, text, kind=kind)
            col.dates.extend(history.DateSource(d, why, "arxiv")
                             for d, why in readme.arxiv_dates(text))
        return read

    def setup(col: Collector, rel: str, text: str) -> None:
        setup_py.read(col, rel, text)
        local.update(_ext_names(text))

    py = functools.partial(python_api.read, local=local, imports=imports)
    return [("requirements", reqs), ("setup.cfg", metadata.read_setup_cfg),
            ("pyproject", metadata.read_pyproject), ("environment.yml", conda.read),
            ("dockerfile", dockerfile.read), ("readme", prose("readme")),
            ("script", prose("script")), ("doc", prose("doc")), ("setup.py", setup),
            ("setup.py", py), ("python", py),
            ("notebook", functools.partial(_notebook, python=py)), ("cpp", cpp.read)]


def _notebook(col: Collector, rel: str, text: str, *, python: Callable[..., None],
              ahead: object = None) -> None:
    """A notebook's code cells as one Python source, plus its ``!pip install`` lines;
    ``ahead``: its ``_notebook_ahead`` made beforehand."""
    try:
        if isinstance(ahead, str):  # read ahead: why it is not readable
            raise ValueError(ahead)
        src, shell, analysis = ahead or (*notebook.code(text), None)  # type: ignore[misc]
    except ValueError as e:
        col.warnings.append(f"{rel}: not a readable notebook ({e})")
        return
    python(col, rel, src, analysis=analysis)
    for line, cmd in shell:
        for toks in commands(cmd):
            if not col.charge(rel, len(toks)):
                return
            for s in install_command(toks) or []:
                col.spec(s, rel, line, "notebook", "notebook install command")


def _notebook_ahead(rel: str, text: str) -> object:
    """(code, shell lines, ``python_api.analyze_ahead`` of the code) of a notebook, or why
    it is not readable (a string)."""
    try:
        src, shell = notebook.code(text)
    except ValueError as e:
        return str(e)
    return src, shell, python_api.analyze_ahead(rel, src)


def _source_text(root: str, rel: str) -> Optional[str]:
    """The text line numbers of ``rel`` refer to (a notebook's: its joined code cells)."""
    try:
        if not rel.endswith(".ipynb"):
            return _read_text(root, rel)
        text = _read_text(root, rel, MAX_NOTEBOOK_BYTES)
        return notebook.code(text)[0] if text is not None else None
    except (SkippedFile, ValueError):
        return None


def _load(col: Collector, root: str, rel: str, limit: int = MAX_BYTES) -> Optional[str]:
    """The text of ``rel``; None (with one warning naming it) when it cannot be read."""
    try:
        return _read_text(root, rel, limit)
    except SkippedFile as e:
        warning = f"{rel}: skipped ({e})"
        if warning not in col.warnings:
            col.warnings.append(warning)
        return None


@contextlib.contextmanager
def _one_file(col: Collector, rel: str) -> Iterator[None]:
    """Run one file's reader: a failure on a hostile file is a warning naming it (what was
    read before it stays), never the end of the scan."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - the promise is: one bad file never aborts a scan
        msg = str(e).splitlines()[0][:120] if str(e) else ""
        col.warnings.append(f"{rel}: not fully read ({type(e).__name__}{': ' if msg else ''}"
                            f"{msg})")


def _local_modules(by_kind: Dict[str, List[str]]) -> Set[str]:
    """Top-level names importable from inside the repository: every .py stem and every folder
    holding .py files (scripts put their own folders on sys.path)."""
    out: Set[str] = set()
    for rel in by_kind.get("python", []) + by_kind.get("setup.py", []):
        parts = rel.split("/")
        out.add(parts[-1][:-3])
        out.update(parts[:-1])
    return out


def _ext_names(text: str) -> Set[str]:
    """Module names of extensions a setup.py builds (``CUDAExtension('name', ...)``)."""
    found = re.findall(r"(?:CUDAExtension|CppExtension|Extension)\(\s*(?:name\s*=\s*)?['\"]"
                       r"([\w.]+)['\"]", text)
    return {p for n in found for p in (n.split(".")[0], n.split(".")[-1])}


def _extensions(col: Collector, cpp_files: List[str], all_files: List[str]) -> List[Extension]:
    """Group C++/CUDA sources into extensions: by the nearest folder holding a build file."""
    build_dirs: Dict[str, str] = {}
    for rel in all_files:
        d, _, name = rel.rpartition("/")
        if name in _BUILD_FILES:
            build_dirs.setdefault(d, rel)
    groups: Dict[str, List[str]] = {}
    for rel in cpp_files:
        d = rel.rpartition("/")[0]
        root = d
        probe = d
        while True:
            if probe in build_dirs or probe in col.ext_builds:
                root = probe
                break
            if not probe:
                break
            probe = probe.rpartition("/")[0]
        groups.setdefault(root, []).append(rel)
    out = []
    for d, srcs in sorted(groups.items()):
        if not any(s.endswith((".c", ".cc", ".cpp", ".cxx", ".cu")) for s in srcs):
            continue
        kind = "cuda" if any(s.endswith((".cu", ".cuh")) for s in srcs) else "cpp"
        legacy = [a for s in srcs for a in col.cpp_hits.get(s, [])]
        legacy += col.build_hits.get(d, [])
        build = col.ext_builds.get(d) or build_dirs.get(d, "")
        out.append(Extension(path=d or ".", kind=kind, sources=tuple(srcs),
                             legacy_apis=tuple(legacy), build=build))
    return out


def _finish(col: Collector, path: str, imports: Dict[str, ImportUse],
            extensions: List[Extension], nfiles: int,
            read: Callable[[str], Optional[str]]) -> ScanReport:
    stated = {r.name for r in col.requirements}
    uses = tuple(ImportUse(i.module, i.distribution, i.path, i.line,
                           canon(i.distribution) in stated) for _, i in sorted(imports.items()))
    for u in uses:
        if not u.stated:
            col.evidence.append(Evidence(canon(u.distribution), "", u.path, u.line,
                                         f"imports {u.module}", "api"))
    _requirement_rules(col, read)
    cons, conflicts, warns = combine_constraints(col.evidence)
    findings = list(col.findings)
    for c in conflicts:
        findings.append(Finding(
            rule="source-conflict", path=c.dropped.path, line=c.dropped.line, message=c.message,
            fix=f"make the sources agree; repro plans with {c.package}{c.kept.specifier}",
            library=c.package, bound="", safety="needs-review"))
    findings.sort(key=lambda f: (f.path, f.line, f.rule))
    seen = set()
    reqs = []
    for r in col.requirements:
        if (r.name, r.specifier, r.source) not in seen:
            seen.add((r.name, r.specifier, r.source))
            reqs.append(r)
    dates = sorted(set(col.dates))
    return ScanReport(
        path=path, reference_date=history.pick(dates),
        date_sources=tuple(f"{s.label} ({s.date})" for s in dates),
        requirements=tuple(reqs), constraints=cons, evidence=tuple(col.evidence),
        extensions=tuple(extensions), findings=tuple(findings),
        conflicts=tuple(conflicts), imports=uses, files_scanned=nfiles,
        warnings=tuple(col.warnings + warns))


def _requirement_rules(col: Collector, read: Callable[[str], Optional[str]]) -> None:
    """Rules over stated requirements (timm==0.3.2 -> torch<1.8, 'sklearn', ...)."""
    # a bound implied by a stated pin is as strong as the pin's source
    kinds = {(e.package, e.specifier, e.path, e.line): e.kind for e in col.evidence}
    stated = []
    for req in col.requirements:
        path, _, line = req.source.rpartition(":")
        stated.append(match_requirements.Stated(req.name, req.specifier, path, int(line or 0)))
    for m in match_requirements.find(stated, read=read):
        s = m.node
        col.hit(m.rule, s.path, s.line, m.api,
                kind=kinds.get((s.name, s.specifier, s.path, s.line), "api"))
