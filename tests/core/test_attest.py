"""repro_core.attest: real runs of a pure-Python script, then verify against changed data,
a changed environment and an edited document."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro_core.attest import (
    Attestation,
    TamperedError,
    code_hash,
    compare_metrics,
    flatten,
    read_attestation,
    same_value,
    verify_attestation,
)
from repro_core.attest import attest as do_attest
from repro_core.errors import ReproError

TRAIN = '''\
import json, os
vals = []
for name in sorted(os.listdir("data")):
    with open(os.path.join("data", name)) as f:
        vals += [float(x) for x in f.read().split()]
mean = sum(vals) / len(vals)
print("training on", len(vals), "values")
print(json.dumps({"n": len(vals), "mean": mean, "model": {"name": "avg", "max": max(vals)}}))
print("done")
'''


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "train.py").write_text(TRAIN)
    (repo / "data" / "a.txt").write_text("1 2 3\n")
    (repo / "data" / "b.txt").write_text("4.5 6\n")
    return repo


def fake_venv(where: Path) -> Path:
    """A venv without pip: an interpreter whose distributions we control."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    return where / "bin" / "python"


def add_dist(python: Path, name: str, version: str) -> None:
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    d = Path(site.stdout.strip()) / f"{name}-{version}.dist-info"
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.fixture
def attested(tmp_path):
    repo = make_repo(tmp_path)
    py = fake_venv(tmp_path / "venv")
    add_dist(py, "tinypkg", "1.0")
    a = do_attest(repo, "python train.py", data=repo / "data", python=str(py), seed=7,
                  output=repo / "attestation.json", echo=False)
    out = repo / "attestation.json"
    a.write(out)
    return repo, py, a, out


def test_attest_records_independently_computed_values(attested):
    repo, py, a, out = attested
    vals = [1, 2, 3, 4.5, 6]
    assert a.metrics == {"n": 5, "mean": sum(vals) / 5, "model": {"name": "avg", "max": 6.0}}
    assert a.exit_code == 0 and a.seed == 7 and a.python_source == "given"
    assert a.python == str(py.absolute())
    assert a.data == "data" and set(a.excludes) == {"data", "attestation.json"}
    # the code hash: path NUL sha256 per file, sorted; data and the document left out
    digest = hashlib.sha256(b"train.py\0" + hashlib.sha256(TRAIN.encode()).hexdigest().encode()
                            + b"\n").hexdigest()
    assert a.code_hash == f"sha256:{digest}" and a.code_files == 1
    assert [f["path"] for f in a.data_manifest["files"]] == ["a.txt", "b.txt"]
    assert a.data_manifest["files"][0]["sha256"] == hashlib.sha256(b"1 2 3\n").hexdigest()
    assert any(d["name"] == "tinypkg" for d in a.snapshot["distributions"])
    assert a.snapshot_hash == a.snapshot["hash"]
    # the document's hash: sha256 of its canonical JSON without the hash field
    d = json.loads(out.read_text())
    body = {k: v for k, v in d.items() if k != "hash"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert d["hash"] == "sha256:" + hashlib.sha256(canon.encode()).hexdigest()
    assert read_attestation(out) == Attestation.from_json(d)


def test_verify_passes_unchanged(attested):
    repo, py, a, out = attested
    r = verify_attestation(read_attestation(out), echo=False)
    assert r.ok, r.differences
    assert r.python == str(py.absolute()) and r.python_source == "given"
    names = {c.name for c in r.checks}
    assert {"code hash", "environment snapshot hash", "data manifest hash", "exit code",
            "metric mean", "metric model.max", "metric model.name", "metric n"} <= names


def test_changed_data_file_names_the_file_and_the_metric(attested):
    repo, py, a, out = attested
    (repo / "data" / "b.txt").write_text("4.5 7\n")
    r = verify_attestation(read_attestation(out), echo=False)
    bad = {c.name: c for c in r.differences}
    assert set(bad) == {"data manifest hash", "data b.txt", "metric mean", "metric model.max"}
    assert bad["metric mean"].recorded == json.dumps(sum([1, 2, 3, 4.5, 6]) / 5)
    assert bad["metric mean"].now == json.dumps(sum([1, 2, 3, 4.5, 7]) / 5)
    assert (bad["metric model.max"].recorded, bad["metric model.max"].now) == ("6.0", "7.0")
    assert not r.ok


def test_changed_environment_names_the_package(attested, tmp_path):
    repo, py, a, out = attested
    add_dist(py, "otherpkg", "2.0")
    r = verify_attestation(read_attestation(out), echo=False)
    bad = {c.name: (c.recorded, c.now) for c in r.differences}
    assert bad == {"environment snapshot hash": (a.snapshot_hash, bad[
        "environment snapshot hash"][1]), "package otherpkg": ("(absent)", "2.0")}


def test_edited_document_is_refused(attested):
    repo, py, a, out = attested
    d = json.loads(out.read_text())
    d["metrics"]["mean"] = 3.0
    out.write_text(json.dumps(d, indent=2))
    with pytest.raises(TamperedError, match="does not match its hash"):
        read_attestation(out)


def test_failed_command_and_missing_metrics(tmp_path):
    repo = make_repo(tmp_path)
    a = do_attest(repo, "python -c 'import sys; print(\"no json\"); sys.exit(3)'", echo=False)
    assert a.exit_code == 3 and a.metrics is None and a.python_source == "current"
    r = verify_attestation(a, echo=False)
    assert r.ok
    with pytest.raises(ReproError, match="did not write it"):
        (repo / "m.json").write_text("{}")
        do_attest(repo, "true", metrics="m.json", echo=False)


def test_metrics_file_json_lines_and_ignore(tmp_path):
    repo = make_repo(tmp_path)
    cmd = ("python -c 'import json, time\n"
           "with open(\"out/log.jsonl\", \"w\") as f:\n"
           "    [f.write(json.dumps({\"loss\": 1.0 / s, \"t\": time.time()}) + \"\\n\")"
           " for s in (1, 2)]'")
    (repo / "out").mkdir()
    a = do_attest(repo, cmd, metrics="out/log.jsonl", exclude=["out"], ignore=["*.t"],
                  echo=False)
    assert [m["loss"] for m in a.metrics] == [1.0, 0.5]
    r = verify_attestation(a, echo=False)
    assert r.ok, r.differences
    assert [c.name for c in r.checks if c.name.startswith("metric")] == ["metric 0.loss",
                                                                        "metric 1.loss"]


def test_code_hash_skips_caches_and_sees_edits(tmp_path):
    repo = make_repo(tmp_path)
    h0 = code_hash(repo)
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert code_hash(repo) == h0
    (repo / "train.py").write_text(TRAIN + "#\n")
    assert code_hash(repo) != h0
    assert code_hash(repo, ["train.py"])[1] == 2  # data/a.txt, data/b.txt


def test_git_commit_is_read_from_dot_git(tmp_path):
    git = subprocess.run(["git", "--version"], capture_output=True)
    if git.returncode != 0:
        pytest.skip("no git binary to make a repository")
    repo = make_repo(tmp_path)
    env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a",
               GIT_COMMITTER_EMAIL="a@b")
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    a = do_attest(repo, "python train.py", echo=False)
    assert a.code_commit == head


def test_metric_comparison_rules():
    assert flatten({"a": {"b": 1, "c": [2, {"d": 3}]}}) == {"a.b": 1, "a.c.0": 2, "a.c.1.d": 3}
    assert same_value(1.0, 1.0 + 1e-7, 1e-6, 0) and not same_value(1.0, 1.1, 1e-6, 0)
    assert same_value(0.0, 1e-9, 0, 1e-8) and not same_value(0.0, 1e-9, 1e-6, 0)
    assert same_value(float("nan"), float("nan"), 0, 0)
    assert not same_value(True, 1, 1, 1) and not same_value("1", 1, 1, 1)
    checks = compare_metrics({"x": 1, "y": "a"}, {"x": 1, "z": 2}, 0, 0)
    assert [(c.name, c.recorded, c.now, c.ok) for c in checks] == [
        ("metric x", "1", "1", True), ("metric y", "a", "(absent)", False),
        ("metric z", "(absent)", "2", False)]


@pytest.mark.network
@pytest.mark.slow
def test_lock_builds_the_env_and_verify_names_a_changed_pin(tmp_path, registry, monkeypatch):
    from repro_core.lock import lock_requirements, write_lock
    from repro_core.uvtool import run_uv

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lock = tmp_path / "repo" / "requirements.lock"
    repo = make_repo(tmp_path)
    write_lock(lock_requirements(["six==1.16.0"], date="2024-01-01", python=minor), str(lock))
    a = do_attest(repo, "python -c 'import json, six; print(json.dumps({\"six\": "
                  "six.__version__}))'", lock=lock, echo=False)
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    env = tmp_path / "cache" / "repro" / "envs" / f"lock-{digest[:12]}"
    assert (a.python_source, a.python, a.lock) == ("lock", str(env / "bin" / "python"),
                                                    "requirements.lock")
    assert a.lock_hash == f"sha256:{digest}" and a.metrics == {"six": "1.16.0"}
    assert verify_attestation(a, echo=False).ok
    run_uv(["pip", "install", "--python", str(env / "bin" / "python"), "six==1.15.0"],
           "install")
    r = verify_attestation(a, echo=False)
    assert {(c.name, c.recorded, c.now) for c in r.differences} >= {
        ("package six", "1.16.0", "1.15.0"), ("metric six", "1.16.0", "1.15.0")}


def test_a_re_signed_document_with_a_bad_field_is_refused(attested):
    repo, py, a, out = attested
    d = json.loads(out.read_text())
    d["exit_code"] = "0"
    body = {k: v for k, v in d.items() if k != "hash"}
    d["hash"] = "sha256:" + hashlib.sha256(json.dumps(
        body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    out.write_text(json.dumps(d))
    with pytest.raises(ReproError, match="field 'exit_code' has a bad value '0'"):
        read_attestation(out)


def test_excludes_are_normalised_and_must_stay_inside(tmp_path):
    repo = make_repo(tmp_path)
    a = do_attest(repo, "true", exclude=["./data/", "*.md"], echo=False)
    assert a.excludes == ("data", "*.md") and a.code_files == 1
    with pytest.raises(ReproError, match="--exclude ../x: not a path or glob inside"):
        do_attest(repo, "true", exclude=["../x"], echo=False)
