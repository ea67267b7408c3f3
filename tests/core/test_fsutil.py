import os

import pytest

from repro_core.fsutil import atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "sub" / "out.txt"
    atomic_write_text(p, "first")
    atomic_write_text(p, "second")
    assert p.read_text() == "second"
    assert os.listdir(p.parent) == ["out.txt"]  # no temp files left behind


def test_atomic_write_failure_keeps_old_content(tmp_path):
    p = tmp_path / "out.json"
    atomic_write_json(p, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(p, {"a": object()})  # not serialisable: fails before writing
    assert p.read_text().strip() == '{\n  "a": 1\n}'
    assert os.listdir(tmp_path) == ["out.json"]
