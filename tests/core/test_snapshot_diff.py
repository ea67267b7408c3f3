"""repro_core.snapshot and repro_core.diff: signatures taken by a real interpreter, diffs of
snapshots, locks and requirements files."""

import json
import os
import sys
from importlib import metadata

from packaging.utils import canonicalize_name

from repro_core.diff import diff_files, diff_sides, side_of_snapshot
from repro_core.snapshot import Dist, Snapshot, take_snapshot


def _snap(**kw):
    base = dict(python="3.8.18", implementation="CPython", platform="Linux-x", system="Linux",
                machine="x86_64", glibc="2.36",
                distributions=(Dist("numpy", "1.18.5", "uv"), Dist("six", "1.15.0", "uv")),
                env={"PYTHONHASHSEED": "0"}, executable="/a/bin/python", prefix="/a")
    base.update(kw)
    s = Snapshot(**base)
    return Snapshot(**{**s.__dict__, "hash": s.signature()})


def test_the_snapshot_of_this_interpreter_lists_what_importlib_sees(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    monkeypatch.setenv("NOT_A_RESULT_VAR", "x")
    s = take_snapshot(sys.executable)
    mine = {}
    # the probe runs without PYTHONPATH (it describes the environment, not this session)
    grafted = set(filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    path = [p for p in sys.path if p not in grafted and os.path.abspath(p) not in
            {os.path.abspath(g) for g in grafted}]
    for d in metadata.distributions(path=path):  # first on sys.path wins, like the probe
        mine.setdefault(canonicalize_name(d.metadata["Name"]), d.version)
    assert {canonicalize_name(d.name): d.version for d in s.distributions} == mine
    assert s.python == ".".join(map(str, sys.version_info[:3]))
    assert s.env.get("CUBLAS_WORKSPACE_CONFIG") == ":4096:8" and "NOT_A_RESULT_VAR" not in s.env
    assert s.hash == s.signature() and s.hash.startswith("sha256:")
    assert Snapshot.from_json(s.to_json()) == s


def test_the_hash_covers_contents_not_location():
    a = _snap()
    assert _snap(executable="/elsewhere/bin/python", prefix="/elsewhere",
                 platform="Linux-6.1-x86_64").hash == a.hash
    assert _snap(glibc="2.31").hash != a.hash
    assert _snap(env={"PYTHONHASHSEED": "1"}).hash != a.hash
    assert _snap(distributions=(Dist("numpy", "1.18.4", "uv"),)).hash != a.hash


def test_freeze_format():
    s = _snap(distributions=(Dist("numpy", "1.18.5"), Dist("mylib", "0.1", "pip",
                                                          "file:///src/mylib", True)))
    lines = s.freeze().splitlines()
    assert lines[0].startswith("# python 3.8.18") and lines[-2:] == [
        "numpy==1.18.5", "-e mylib @ file:///src/mylib"]


def test_diff_a_snapshot_against_a_lock_and_requirements(tmp_path):
    snap = tmp_path / "env.json"
    snap.write_text(_snap().to_json())
    lock = tmp_path / "requirements.lock"
    lock.write_text("# repro lock (repro 0.1.0)\n# date cutoff: 2020-06-01\n# python: 3.8\n"
                    "# platform: linux\n# variant: none\n\n"
                    "NumPy==1.18.5 \\\n    --hash=sha256:" + "a" * 64 + "\nscipy==1.4.1\n")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("numpy==1.18.4\nsix==1.15.0.0\n")
    d = diff_files(str(snap), str(lock))
    assert [(c.name, c.kind, c.old, c.new) for c in d.packages] == [
        ("scipy", "added", None, "1.4.1"), ("six", "removed", "1.15.0", None)]
    assert d.facts == () and d.same == 1  # python 3.8.18 is a 3.8; numpy equal across case
    d2 = diff_files(str(reqs), str(snap))
    assert [(c.name, c.kind) for c in d2.packages] == [("numpy", "changed")]  # 1.15.0.0 == 1.15.0
    assert diff_files(str(lock), str(lock)).equal
    assert json.loads(d.to_json())["packages"][0]["kind"] == "added"


def test_environment_facts_differ():
    a = side_of_snapshot(_snap(), "a")
    b = side_of_snapshot(
        _snap(python="3.9.18", env={"PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": "1"}), "b")
    d = diff_sides(a, b)
    assert [(c.name, c.old, c.new) for c in d.facts] == [
        ("python", "3.8.18", "3.9.18"), ("env CUDA_VISIBLE_DEVICES", None, "1")]
    assert not d.packages and not d.equal
