"""repro_core.envs: interpreter discovery, conda files, and (with the registry) a real 3.8 env:
lock numpy as of 2020-06-01, create, snapshot, uninstall, diff."""

import os
import sys

import pytest

from repro_core.diff import diff_files, diff_sides, side_of_lock, side_of_snapshot
from repro_core.envs import create_env, environment_yml, find_python, find_pythons
from repro_core.errors import ReproError
from repro_core.lock import Lock, Pin, lock_requirements, write_lock
from repro_core.snapshot import take_snapshot, write_snapshot
from repro_core.uvtool import run_uv


def test_discovery_finds_this_interpreter_by_path_and_version():
    me = find_python(sys.executable)
    assert me.version == ".".join(map(str, sys.version_info[:3])) and me.source == "given"
    for it in find_pythons():  # each one found answers with the version it is listed under
        assert find_python(it.path).version == it.version


def test_no_such_python_names_the_ones_found():
    with pytest.raises(ReproError) as e:
        find_python("3.99")
    msg = str(e.value)
    assert msg.startswith("no Python 3.99 found (found: ") and "pyenv install 3.99" in msg
    for it in find_pythons():
        assert f"{it.version} ({it.source})" in msg


def test_environment_yml_lists_python_toolkit_and_pins():
    h = "sha256:" + "c" * 64
    lk = Lock(pins=(Pin("numpy", "1.21.4", (h,)), Pin("torch", "1.10.0+cu113", ())),
              date="2021-11-11", python="3.9", platform="linux", variant="cu113",
              index_urls=("https://download.pytorch.org/whl/cu113",))
    lines = environment_yml(lk, "paper").splitlines()
    assert "name: paper" in lines
    i = lines.index("dependencies:")
    assert lines[i + 1:i + 4] == ["  - python=3.9", "  - cudatoolkit=11.3", "  - pip"]
    assert lines[i + 4:] == ["  - pip:",
                             '    - "--extra-index-url https://download.pytorch.org/whl/cu113"',
                             '    - "numpy==1.21.4"', '    - "torch==1.10.0+cu113"']


def _python38():
    try:
        return find_python("3.8")
    except ReproError as e:
        pytest.skip(str(e))


@pytest.mark.network
@pytest.mark.slow
def test_lock_create_snapshot_uninstall_diff(tmp_path, registry):
    py = _python38()
    lk = lock_requirements(["numpy"], date="2020-06-01", python="3.8")
    assert [p.name for p in lk.pins] == ["numpy"]
    assert lk.pin("numpy").version.startswith("1.18.")  # 1.18.4 came out 2020-05-03
    lock_file = tmp_path / "requirements.lock"
    write_lock(lk, str(lock_file))

    env = create_env(str(lock_file), python=py.path, prefix=str(tmp_path / "env"))
    assert sorted(os.listdir(tmp_path)) == ["env", "requirements.lock"]  # nothing partial
    snap = take_snapshot(env.python_bin)
    assert snap.python == py.version
    assert {d.name: d.version for d in snap.distributions} == {
        "numpy": lk.pin("numpy").version}
    assert diff_sides(side_of_lock(lk, "lock"), side_of_snapshot(snap, "env")).equal
    before = tmp_path / "before.json"
    write_snapshot(snap, str(before))

    run_uv(["pip", "uninstall", "--python", env.python_bin, "numpy"], "uninstall")
    after = tmp_path / "after.json"
    write_snapshot(take_snapshot(env.python_bin), str(after))
    d = diff_files(str(before), str(after))
    assert [(c.name, c.kind) for c in d.packages] == [("numpy", "removed")] and not d.facts

    with pytest.raises(ReproError, match="already exists"):
        create_env(lk, prefix=env.path)  # a Lock value works as well as its file


@pytest.mark.network
def test_a_failed_install_leaves_nothing(tmp_path, registry):
    py = _python38()
    bad = Lock(pins=(Pin("six", "1.15.0", ("sha256:" + "0" * 64,)),), date="2020-06-01",
               python="3.8", platform="linux")
    lock_file = tmp_path / "bad.lock"
    write_lock(bad, str(lock_file))
    with pytest.raises(ReproError) as e:
        create_env(str(lock_file), python=py.path, prefix=str(tmp_path / "env"))
    assert "\n" not in str(e.value) and "hash" in str(e.value).lower()
    assert os.listdir(tmp_path) == ["bad.lock"]
