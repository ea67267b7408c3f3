"""kb extension_build.json and lock.extension_build_extra: what building a repository's own
extension needs that nothing declares. The torch and setuptools facts are checked against the
lines read out of the real wheels (tests/data/kb/extension_build_wheels.txt) and against the
torch and setuptools installed here."""

import importlib.util
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from repro_core import kb
from repro_core.lock import extension_build_extra

WHEELS = Path(__file__).resolve().parents[1] / "data" / "kb" / "extension_build_wheels.txt"


def _rows(kind):
    for line in WHEELS.read_text(encoding="utf-8").splitlines():
        if line.startswith(kind + " "):
            _, version, _wheel, _sha, rest = line.split(" ", 4)
            yield version, rest


def _pin(when):
    rows = [p for p in kb.build_pins() if p.when == when]
    assert len(rows) == 1
    return rows[0]


def test_torch_range_is_where_cpp_extension_imports_pkg_resources():
    row = _pin("cpp_extension")
    seen = list(_rows("torch"))
    assert len(seen) >= 10
    for version, lines in seen:
        imports = "from pkg_resources import packaging" in lines
        assert imports == (Version(version) in SpecifierSet(row.torch)), version
        assert kb.extension_build_requirements(version) == ((row,) if imports else ())


def test_setuptools_bound_keeps_pkg_resources_packaging():
    req = _pin("cpp_extension").requirement
    assert req.startswith("setuptools")
    spec = SpecifierSet(req[len("setuptools"):])
    for version, lines in _rows("setuptools"):
        if version in spec:  # every release the bound allows binds the name
            assert lines != "-" and "no pkg_resources" not in lines, version
    assert "70.0.0" not in spec and "82.0.0" not in spec  # the two kinds of breakage


def test_installed_torch_and_setuptools_agree_with_the_facts():
    torch_spec = importlib.util.find_spec("torch")
    if torch_spec is None:
        pytest.skip("torch not installed")
    from importlib.metadata import version

    # the file's text, not an import: importing it imports setuptools, whose vendored
    # distributions would then be on sys.path for the rest of the test run
    origin = Path(torch_spec.submodule_search_locations[0]) / "utils" / "cpp_extension.py"
    imports = "from pkg_resources import packaging" in origin.read_text(encoding="utf-8")
    assert imports == bool(kb.extension_build_requirements(version("torch")))


def test_installed_setuptools_agrees_with_the_bound():
    """torch < 2.2's import line, run here: it works under every setuptools the bound allows
    (Python 3.8 venv: 56.0.0) and fails under 82+ (Python 3.11 venv: 84.2.1)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        have = version("setuptools")
    except PackageNotFoundError:
        pytest.skip("setuptools not installed")
    spec = SpecifierSet(_pin("cpp_extension").requirement[len("setuptools"):])
    try:
        from pkg_resources import packaging  # noqa: F401
        works = True
    except ImportError:
        works = False
    if have in spec:
        assert works, have
    if Version(have) >= Version("82"):
        assert not works, have


def _repo(tmp_path, setup, files=()):
    tmp_path.mkdir()
    (tmp_path / "setup.py").write_text(setup)
    for rel, text in files:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


def test_extension_build_extra_reads_setup_py_and_pyx(tmp_path):
    ce = _repo(tmp_path / "a", "from torch.utils.cpp_extension import CppExtension\n")
    assert extension_build_extra("1.10.2+cpu", ce, ["."]) == ["setuptools<70"]
    assert extension_build_extra("2.14.1", ce, ["."]) == []
    assert extension_build_extra("1.7.1", ce, ["."]) == []  # no pkg_resources import before 1.8
    assert extension_build_extra("1.10.2", ce, []) == []  # no setup.py builds it

    py2 = 'from Cython.Distutils import build_ext\nExtension("m._mask", ["m/_mask.pyx"])\n'
    cy = _repo(tmp_path / "b", py2, [("m/_mask.pyx", "cdef int n = len(x) / 2\n")])
    assert extension_build_extra("2.14.1", cy, ["."]) == ["cython<3"]
    level = _repo(tmp_path / "c", py2,
                  [("m/_mask.pyx", "# cython: language_level=3\ncdef int n\n")])
    assert extension_build_extra("2.14.1", level, ["."]) == []
    in_setup = _repo(tmp_path / "d", py2 + "compiler_directives={'language_level': '2'}\n",
                     [("m/_mask.pyx", "cdef int n\n")])
    assert extension_build_extra("2.14.1", in_setup, ["."]) == []
    missing = _repo(tmp_path / "e", py2)  # the .pyx is not there: nothing to build
    assert extension_build_extra("2.14.1", missing, ["."]) == []
