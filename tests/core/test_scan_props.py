"""Property tests: whatever the repository holds, scan finishes and returns a report."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro_core.scan import scan
from repro_core.scan.collector import Collector
from repro_core.scan.reqs import parse_requirement
from repro_core.scan.requirements import read as read_requirements

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@SETTINGS
@given(st.lists(LINE, max_size=12))
def test_malformed_requirement_lines_never_crash(lines):
    col = Collector()
    read_requirements(col, ".", "requirements.txt", "\n".join(lines), lambda rel: None)
    for line in lines:
        parse_requirement(line)


@SETTINGS
@given(st.binary(max_size=2048), st.sampled_from(
    ["a.py", "requirements.txt", "setup.py", "Dockerfile", "README.md", "k.cu", "nb.ipynb",
     "environment.yml", "pyproject.toml", "setup.cfg"]))
def test_binary_and_non_utf8_files_never_crash(tmp_path_factory, data, name):
    repo = tmp_path_factory.mktemp("r")
    (repo / name).write_bytes(data)
    (repo / "ok.py").write_bytes(b"# -*- coding: latin-1 -*-\nx = '\xe9'\nimport numpy\n")
    report = scan(repo)
    assert "numpy" in report.constraints


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_python_text_never_crashes(tmp_path_factory, text):
    repo = tmp_path_factory.mktemp("r")
    (repo / "m.py").write_text(text, encoding="utf-8", errors="surrogatepass")
    scan(repo)


def test_huge_files_are_skipped_with_a_warning(tmp_path):
    big = tmp_path / "big.py"
    with open(big, "wb") as f:
        f.write(b"import torch._six\n")
        f.seek(3 << 20)
        f.write(b"\n")
    (tmp_path / "requirements.txt").write_text("torch==" + "1" * 50000 + "\n")
    r = scan(tmp_path)
    assert "torch-six" not in {f.rule for f in r.findings}
    assert any("big.py: skipped" in w for w in r.warnings)


def test_deeply_nested_python_does_not_crash(tmp_path):
    (tmp_path / "deep.py").write_text("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    scan(tmp_path)


def test_symlink_loops_and_dangling_links(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import numpy as np\nx = np.float\n")
    os.symlink(str(tmp_path), str(tmp_path / "pkg" / "loop"))
    os.symlink(str(tmp_path / "nowhere"), str(tmp_path / "dangling.py"))
    os.symlink("/etc/passwd", str(tmp_path / "requirements.txt"))
    r = scan(tmp_path)
    assert [f.rule for f in r.findings] == ["np-builtin-aliases"]
    assert r.files_scanned == 1
