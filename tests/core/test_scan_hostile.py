"""Hostile repositories (issue 14): scan never reads outside the repository, stays linear, and
one bad file is a warning naming it, never the end of the scan. Every input is built here."""

import json
import os
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from repro_cli.main import main
from repro_core import fsutil
from repro_core.errors import ReproError
from repro_core.scan import scan
from repro_core.scan.collector import MAX_SPECS_PER_PACKAGE

SRC = Path(__file__).resolve().parents[2] / "packages" / "repro-core" / "src"
COMMIT_2020 = 1600000000  # 2020-09-13 UTC


def _repo(tmp_path, files):
    """A repository folder ``tmp_path/repo`` holding ``files`` (name -> text or bytes)."""
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
    return root


def _git_dir(path, timestamp=COMMIT_2020):
    """A minimal git folder: HEAD -> refs/heads/main -> one loose commit object."""
    sha = "ab" * 20
    (path / "refs" / "heads").mkdir(parents=True)
    (path / "objects" / sha[:2]).mkdir(parents=True)
    (path / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "refs" / "heads" / "main").write_text(sha + "\n")
    body = (f"tree {'cd' * 20}\nauthor A <a@b> {timestamp} +0000\n"
            f"committer A <a@b> {timestamp} +0000\n\nmsg\n").encode()
    obj = b"commit %d\0" % len(body) + body
    (path / "objects" / sha[:2] / sha[2:]).write_bytes(zlib.compress(obj))
    return path


# --- nothing outside the repository is read -----------------------------------------------

def test_include_through_a_symlinked_folder_is_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("secretpkg==6.6.6\n")
    root = _repo(tmp_path, {"requirements.txt": "-r etc/passwd\nnumpy<1.24\n"})
    os.symlink(str(outside), str(root / "etc"))
    r = scan(root)
    assert "secretpkg" not in r.constraints
    assert r.constraints["numpy"] == "<1.24"
    assert "etc/passwd: skipped (outside the repository)" in r.warnings


def test_symlinked_file_pointing_outside_is_named_in_a_warning(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secretpkg==6.6.6\n")
    root = _repo(tmp_path, {})
    os.symlink(str(outside), str(root / "requirements.txt"))
    r = scan(root)
    assert "secretpkg" not in r.constraints
    assert "requirements.txt: skipped (a symbolic link)" in r.warnings


def test_include_inside_through_a_symlink_is_read(tmp_path):
    root = _repo(tmp_path, {"deps/base.txt": "timm==0.3.2\n",
                            "requirements.txt": "-r linked/base.txt\n"})
    os.symlink(str(root / "deps"), str(root / "linked"))
    assert scan(root).constraints["timm"] == "==0.3.2"


def test_git_symlink_to_another_repository_is_not_read(tmp_path):
    other = _git_dir(tmp_path / "other" / ".git")
    root = _repo(tmp_path, {"README.md": "see arXiv:1805.01234\n"})
    os.symlink(str(other), str(root / ".git"))
    r = scan(root)
    assert r.reference_date == "2018-05-01"  # the README's arXiv id, not the other history
    assert not any(s.startswith("git") for s in r.date_sources)
    assert any(".git: not read" in w for w in r.warnings)


@pytest.mark.parametrize("relative", [False, True])
def test_gitdir_file_naming_a_folder_outside_is_not_read(tmp_path, relative):
    other = _git_dir(tmp_path / "other" / ".git")
    root = _repo(tmp_path, {})
    target = "../other/.git" if relative else str(other)
    (root / ".git").write_text(f"gitdir: {target}\n")
    r = scan(root)
    assert r.reference_date is None
    assert any(".git: not read" in w for w in r.warnings)


def test_git_inside_the_repository_still_dates_it(tmp_path):
    root = _repo(tmp_path, {"a.py": "import numpy\n"})
    _git_dir(root / ".git")
    r = scan(root)
    assert r.reference_date == "2020-09-13"
    assert r.date_sources[0].startswith("git HEAD commit abababab")


def test_git_ref_escaping_the_git_folder_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ref").write_text("ab" * 20 + "\n")
    root = _repo(tmp_path, {})
    gd = _git_dir(root / ".git")
    (gd / "refs" / "heads" / "main").unlink()
    (gd / "HEAD").write_text("ref: ../../outside/ref\n")  # the object exists inside
    assert scan(root).reference_date is None


def test_fsutil_inside_refuses_escapes(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "f").write_text("x")
    assert fsutil.inside(tmp_path / "r", "f") == os.path.realpath(str(tmp_path / "r" / "f"))
    for bad in ("../x", "/etc/passwd", "f/../../x"):
        with pytest.raises(fsutil.SkippedFile, match="outside the repository"):
            fsutil.inside(tmp_path / "r", bad)
    # a sibling whose name starts with the root's name is outside too
    (tmp_path / "r2").mkdir()
    with pytest.raises(fsutil.SkippedFile):
        fsutil.inside(tmp_path / "r", "../r2/x")


def test_fifo_and_socket_are_not_read(tmp_path):
    root = _repo(tmp_path, {"requirements-b.txt": "numpy<1.24\n"})
    os.mkfifo(str(root / "requirements.txt"))  # reading it would block forever
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(root / "Dockerfile"))
        r = scan(root)
    finally:
        s.close()
    assert r.constraints == {"numpy": "<1.24"}
    assert "requirements.txt: skipped (not a regular file)" in r.warnings
    assert "Dockerfile: skipped (not a regular file)" in r.warnings
    with pytest.raises(fsutil.SkippedFile, match="not a regular file"):
        fsutil.read_bytes_inside(root, "requirements.txt", 100)


# --- linear, capped ------------------------------------------------------------------------

def _run(code, timeout=60):
    """Run ``code`` in a fresh interpreter (repro-core importable); its stdout."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=timeout, check=True)
    return out.stdout


def test_thousands_of_bounds_on_one_package_finish(tmp_path):
    """5,000 `torch>=1.{i%10}.{i}` lines (never finished before): one file contributes its
    first MAX_SPECS_PER_PACKAGE statements, with a warning."""
    lines = "".join(f"torch>=1.{i % 10}.{i}\n" for i in range(5000))
    root = _repo(tmp_path, {"requirements.txt": lines})
    out = json.loads(_run(f"import json; from repro_core.scan import scan; "
                          f"r = scan({str(root)!r}); "
                          f"print(json.dumps([r.constraints['torch'], r.warnings]))"))
    assert set(out[0].split(",")) == {f">=1.{i % 10}.{i}" for i in range(MAX_SPECS_PER_PACKAGE)}
    assert out[1] == [f"requirements.txt:{MAX_SPECS_PER_PACKAGE + 1}: more than "
                      f"{MAX_SPECS_PER_PACKAGE} version statements for torch; the rest were "
                      "ignored"]


def test_many_files_of_bounds_combine_linearly(tmp_path):
    """1,000 bounds from ten files (99 s before): every one is combined."""
    files = {f"requirements-{f}.txt": "".join(f"torch>=1.{i % 10}.{i}\n"
                                              for i in range(f * 100, f * 100 + 100))
             for f in range(10)}
    root = _repo(tmp_path, files)
    out = _run(f"from repro_core.scan import scan; print(scan({str(root)!r}).constraints['torch'])")
    assert set(out.strip().split(",")) == {f">=1.{i % 10}.{i}" for i in range(1000)}


def _combine(specs, extra=""):
    """Run constraints() in a subprocess on torch evidence ``specs`` (requirements.txt, line i)
    plus the evidence expression ``extra``; (specifier, conflicts, warnings) as JSON."""
    code = (
        "import json\n"
        "from repro_core.scan.combine import constraints\n"
        "from repro_core.scan.report import Evidence\n"
        f"evs = [Evidence('torch', s, 'r.txt', i, 'x', 'requirements') "
        f"for i, s in enumerate({specs!r})] {extra}\n"
        "out, conflicts, warnings = constraints(evs)\n"
        "print(json.dumps([out['torch'], [[c.kept.specifier, c.dropped.specifier] "
        "for c in conflicts], warnings]))\n")
    return json.loads(_run(code))


def test_combination_of_a_thousand_mixed_specifiers():
    """constraints() on 999 kept specifiers (>=, <, !=) and a README clashing with them."""
    specs = ([f">=1.{i}" for i in range(400)] + [f"<9.{i}" for i in range(300)]
             + [f"!=5.{i}" for i in range(299)])
    spec, conflicts, warnings = _combine(
        specs, "+ [Evidence('torch', '<1.5', 'README.md', 1, 'x', 'readme')]")
    assert sorted(spec.split(",")) == sorted(specs)
    assert conflicts == [[">=1.5", "<1.5"]]  # the first kept source it clashes with
    assert warnings == []


def test_combination_keeps_the_most_trusted_statements_of_a_package():
    """5,000 statements: the 1,000 most trusted are combined, with a warning."""
    spec, conflicts, warnings = _combine(
        [f">=1.{i}" for i in range(5000)],
        "+ [Evidence('torch', '<1.5', 'README.md', 1, 'x', 'readme')]")
    assert set(spec.split(",")) == {f">=1.{i}" for i in range(1000)}
    assert conflicts == []
    assert warnings == ["torch: 5001 version statements; only the 1000 most trusted were "
                        "combined"]


def test_two_mib_of_continuation_lines(tmp_path):
    """2 MiB of backslash-continued lines (63 s / 75 s before) read as one logical line."""
    n = (2 << 20) // 4 - 64  # just under the 2 MiB a text file may have
    root = _repo(tmp_path, {
        "requirements.txt": "torch\\\n" + "  \\\n" * n + ">=1.7\n",
        "Dockerfile": "RUN pip install torch==1.7.1 \\\n" + "  \\\n" * n + " numpy<1.24\n"})
    out = json.loads(_run(f"import json; from repro_core.scan import scan; "
                          f"print(json.dumps(scan({str(root)!r}).constraints))"))
    assert out == {"torch": "==1.7.1,>=1.7", "numpy": "<1.24"}


def test_one_file_contributes_a_capped_number_of_install_words(tmp_path):
    words = " ".join(f"pkg{i}" for i in range(20000))
    root = _repo(tmp_path, {"Dockerfile": f"RUN pip install numpy<1.24\nRUN pip install {words}\n"})
    r = scan(root)
    assert r.constraints["numpy"] == "<1.24"
    assert "pkg0" not in r.constraints
    assert any("Dockerfile: more than 5000" in w for w in r.warnings)


def test_config_files_with_thousands_of_late_dependencies(tmp_path):
    """A 1.9 MB comment before 4,999 dependencies, in four files (a find per dependency:
    about 17 s a file before); the line numbers are those of the dependencies."""
    pad = "#" + "x" * 1_900_000 + "\n"
    deps = [f"q{i}" for i in range(4999)]
    toml = "[project]\n" + pad + "dependencies = [\n" + "".join(f'  "{d}",\n' for d in deps) \
        + "]\n"
    cfg = "[options]\n" + pad + "install_requires =\n" + "".join(f"    {d}\n" for d in deps)
    files = {"a/pyproject.toml": toml, "b/pyproject.toml": toml, "c/setup.cfg": cfg,
             "d/setup.cfg": cfg}
    root = _repo(tmp_path, files)
    out = json.loads(_run(
        "import json; from repro_core.scan import scan; "
        f"r = scan({str(root)!r}); "
        "print(json.dumps(sorted((e.path, e.package, e.line) for e in r.evidence)))"))
    want = sorted((f, d, 4 + i) for f in files for i, d in enumerate(deps))
    assert [tuple(x) for x in out] == want


def test_long_runs_that_made_regexes_backtrack(tmp_path):
    """100,000 spaces after "PyTorch" (README), a 100,000-letter ENV word (Dockerfile) and
    100,000 spaces inside a conda item each made a regex quadratic (minutes)."""
    root = _repo(tmp_path, {
        "README.md": "PyTorch" + " " * 100_000 + "x\nTested with PyTorch 1.7.1\n",
        "Dockerfile": "ENV " + "a" * 100_000 + "\nENV TORCH_VERSION=1.10.2\n",
        "environment.yml": "dependencies:\n  - a" + " " * 100_000 + "b\n  - python=3.8\n"})
    out = json.loads(_run(
        "import json; from repro_core.scan import scan; "
        f"r = scan({str(root)!r}); "
        "print(json.dumps(sorted((e.path, e.package, e.specifier) for e in r.evidence)))"))
    assert [tuple(x) for x in out] == [("Dockerfile", "torch", "==1.10.2"),
                                       ("README.md", "torch", "==1.7.1"),
                                       ("environment.yml", "python", "==3.8.*")]


# --- one bad file is a warning, never the end of the scan ----------------------------------

NOTEBOOKS = {
    "worksheets-int.ipynb": '{"worksheets": 5}',
    "worksheet-int.ipynb": '{"worksheets": [5]}',
    "list.ipynb": "[5]",
    "source-ints.ipynb": '{"cells": [{"cell_type": "code", "source": [1, 2]}]}',
}
PYPROJECTS = {
    "a/pyproject.toml": 'project = "str"\n',
    "b/pyproject.toml": "[project]\ndependencies = 5\n",
    "c/pyproject.toml": "build-system = 5\n",
    "d/pyproject.toml": '[tool]\npoetry = "x"\n',
}


@pytest.mark.parametrize("name,text", sorted({**NOTEBOOKS, **PYPROJECTS}.items()))
def test_malformed_file_is_a_warning_naming_it(tmp_path, name, text):
    root = _repo(tmp_path, {name: text, "requirements.txt": "numpy<1.24\n"})
    r = scan(root)
    assert r.constraints["numpy"] == "<1.24"
    assert any(w.startswith(name + ":") for w in r.warnings), r.warnings


def test_git_timestamp_out_of_range(tmp_path):
    root = _repo(tmp_path, {"requirements.txt": "numpy<1.24\n"})
    _git_dir(root / ".git", timestamp=99999999999999)
    r = scan(root)
    assert r.reference_date is None
    assert r.constraints["numpy"] == "<1.24"
    assert any(".git: HEAD commit" in w and "impossible date" in w for w in r.warnings)


def test_reader_failure_is_contained(tmp_path, monkeypatch):
    """The last line of defence: a reader that raises names its file in a warning."""
    from repro_core.scan import dockerfile

    def broken(col, rel, text):
        raise KeyError("boom")

    monkeypatch.setattr(dockerfile, "read", broken)
    root = _repo(tmp_path, {"Dockerfile": "FROM python:3.8\n", "requirements.txt": "numpy\n"})
    r = scan(root)
    assert "numpy" in r.constraints
    assert "Dockerfile: not fully read (KeyError: 'boom')" in r.warnings


def test_empty_path_is_an_error_not_the_current_folder(tmp_path, monkeypatch, capsys):
    _repo(tmp_path, {"requirements.txt": "numpy\n"})
    monkeypatch.chdir(tmp_path / "repo")
    with pytest.raises(ReproError):
        scan("")
    assert main(["scan", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty path" in err


# --- encodings, binary and unreadable files ------------------------------------------------

@pytest.mark.parametrize("data", [
    "\ufefftorch==1.7.1\nnumpy<1.24\n".encode("utf-8"),
    "torch==1.7.1\nnumpy<1.24\n".encode("utf-16"),  # with a BOM
    "torch==1.7.1\nnumpy<1.24\n".encode("utf-16-le"),  # without
    "torch==1.7.1\nnumpy<1.24\n".encode("utf-16-be"),
    "torch==1.7.1\nnumpy<1.24\n".encode("utf-32"),
], ids=["utf8-bom", "utf16-bom", "utf16le", "utf16be", "utf32-bom"])
def test_encodings_are_decoded(tmp_path, data):
    r = scan(_repo(tmp_path, {"requirements.txt": data}))
    assert r.constraints == {"torch": "==1.7.1", "numpy": "<1.24"}
    assert r.warnings == ()


def test_binary_file_is_skipped_with_a_warning(tmp_path):
    r = scan(_repo(tmp_path, {"requirements.txt": b"torch==1.7.1\n\0\xff\x00junk\n",
                              "a.py": "import numpy\n"}))
    assert "torch" not in r.constraints and "numpy" in r.constraints
    assert "requirements.txt: skipped (binary (a NUL byte in the first 8 KB))" in r.warnings


def test_unreadable_file_is_skipped_with_a_warning(tmp_path, monkeypatch):
    """Tests run as root, where chmod 000 blocks nothing: the open itself is made to fail."""
    root = _repo(tmp_path, {"requirements.txt": "torch==1.7.1\n", "a.py": "import numpy\n"})
    real_open = os.open

    def deny(path, flags, *args, **kw):
        if str(path).endswith("requirements.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(fsutil.os, "open", deny)
    r = scan(root)
    assert "torch" not in r.constraints and "numpy" in r.constraints
    assert "requirements.txt: skipped (unreadable: Permission denied)" in r.warnings


def test_unreadable_root_is_an_error_and_unreadable_folder_a_warning(tmp_path, monkeypatch):
    """As above, the listing itself is made to fail (root reads every folder)."""
    root = _repo(tmp_path, {"sub/requirements.txt": "torch==1.7.1\n", "a.py": "import numpy\n"})
    real_scandir = os.scandir
    denied = {str(root / "sub")}

    def deny(path="."):
        if os.fspath(path) in denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    r = scan(root)
    assert "torch" not in r.constraints and "numpy" in r.constraints
    assert "sub: folder skipped (unreadable: Permission denied)" in r.warnings
    denied.add(str(root))
    with pytest.raises(ReproError, match="cannot read the folder"):
        scan(root)


def test_include_naming_a_folder_is_skipped_with_a_warning(tmp_path):
    """Found by the git fuzz test: opening a folder succeeds on Linux, reading it fails."""
    root = _repo(tmp_path, {"sub/a.py": "x = 1\n", "requirements.txt": "-r sub\nnumpy\n"})
    r = scan(root)
    assert "numpy" in r.constraints
    assert "sub: skipped (not a regular file)" in r.warnings
    assert "requirements.txt:1: included file sub not read" in r.warnings


# --- scanning never executes code ----------------------------------------------------------

_RUNNERS_IMPORTED = {"subprocess", "runpy", "importlib", "multiprocessing", "ctypes", "pty",
                     "code", "codeop", "pickle", "marshal", "shelve"}
_RUNNERS_CALLED = {"exec", "eval", "compile", "__import__", "execfile", "system", "popen",
                   "spawnl", "spawnv", "execv", "execve", "execvp", "startfile", "run_path",
                   "run_module", "import_module"}


def test_scan_workers_only_run_repro_code():
    """The one module that starts processes forks them (no new interpreter, no command) and
    runs the function it is given: python_api's analysis, nothing read from a repository."""
    import ast

    from repro_core.scan import parallel, python_api

    text = (SRC / "repro_core" / "scan" / "parallel.py").read_text(encoding="utf-8")
    calls = {n.func.attr for n in ast.walk(ast.parse(text))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert calls & {"Popen", "run", "system", "spawn", "exec", "execv"} == set()
    assert 'get_context("fork")' in text and "set_start_method" not in text
    users = [p.name for p in (SRC / "repro_core").rglob("*.py")
             if "Forked(" in p.read_text(encoding="utf-8") and p.name != "parallel.py"]
    assert users == ["python_api.py"]
    with parallel.Forked(len, ["ab", "c"], 2) as job:
        assert list(job.results()) == [2, 1]
    with python_api.start_analysis(["a.py"], 1, {"a.py": "import os\n"}.get) as job:
        assert next(job.results()).imports[0].module == "os"


def test_scan_sources_have_no_way_to_run_code():
    """The scan package (and the fsutil reads it uses) neither imports a module that runs
    code (pickle included) nor calls exec/eval/compile/os.system/... (``re.compile`` is not
    Python's compile)."""
    import ast

    scan_dir = SRC / "repro_core" / "scan"
    files = sorted(scan_dir.glob("*.py")) + [SRC / "repro_core" / "fsutil.py"]
    assert len(files) > 10
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # parallel.py forks workers that run repro's own analysis on texts already read
        allowed = {"multiprocessing"} if path.name == "parallel.py" else set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                assert not {n.split(".")[0] for n in names} & _RUNNERS_IMPORTED - allowed, \
                    (path.name, node.lineno)
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(
                    f.value, ast.Name) else ""
                if name == "compile" and owner == "re":
                    continue
                assert name not in _RUNNERS_CALLED, (path.name, node.lineno, name)
