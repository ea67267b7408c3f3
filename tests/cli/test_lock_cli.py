"""`repro lock`: a plan candidate to a lock file; errors write nothing."""

import json

import pytest

from repro_cli.main import main
from repro_core.errors import ReproError
from repro_core.plan import Candidate, Plan


def _plan_file(tmp_path):
    c = Candidate(python="3.9", torch="1.10.0", torchvision="0.11.1", cuda=None, timm="0.4.12",
                  numpy=None, strategy="exact", migrations=(), reasons=("r",),
                  torch_build="1.10.0+cpu")
    p = tmp_path / "plan.json"
    p.write_text(Plan(path="paper", gpu=None, gpu_name="", driver=None,
                      candidates=(c,)).to_json())
    return p


def test_a_failed_lock_writes_nothing_and_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    from repro_core.uvtool import uv_bin

    try:
        uv_bin()
    except ReproError as e:
        pytest.skip(str(e))
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    out = tmp_path / "requirements.lock"
    out.write_text("old\n")
    code = main(["lock", str(_plan_file(tmp_path)), "--date", "2021-11-11", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("repro lock: error: ") and err.count("\n") == 1
    assert out.read_text() == "old\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["plan.json", "requirements.lock"]


def test_candidate_out_of_range(tmp_path, capsys):
    code = main(["lock", str(_plan_file(tmp_path)), "--candidate", "3", "-o",
                 str(tmp_path / "x.lock")])
    assert code == 2 and "candidate 3: the plan has 1" in capsys.readouterr().err
    assert not (tmp_path / "x.lock").exists()


@pytest.mark.network
def test_lock_a_plan_candidate(tmp_path, capsys, registry):
    out = tmp_path / "requirements.lock"
    code = main(["lock", str(_plan_file(tmp_path)), "--date", "2021-11-11", "-o", str(out),
                 "--json"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    pins = {p["name"]: p["version"] for p in d["pins"]}
    assert pins["torch"] == "1.10.0" and pins["timm"] == "0.4.12"  # cpu: the registry's build
    assert d["python"] == "3.9" and d["variant"] == "cpu" and d["index_urls"] == []
    text = out.read_text()
    assert "# source: paper candidate 1 (exact torch 1.10.0+cpu)" in text
    assert "--extra-index-url" not in text and "torch==1.10.0 \\\n    --hash=sha256:" in text


@pytest.mark.network
def test_lock_a_repository(tmp_path, capsys, registry, repo_root):
    """Scan + plan + lock: candidate 1's pins and the repository's other requirements."""
    out = tmp_path / "requirements.lock"
    repo = repo_root / "tests" / "data" / "repos" / "style2021"
    assert main(["lock", str(repo), "--cuda", "cpu", "--date", "2021-03-01", "-o", str(out),
                 "--json"]) == 0
    pins = {p["name"]: p["version"] for p in json.loads(capsys.readouterr().out)["pins"]}
    # the scan pins torch 1.7.1, torchvision 0.8.2, timm 0.3.2, tensorboard 2.4.1 (fixture)
    assert (pins["torch"], pins["torchvision"], pins["timm"], pins["tensorboard"]) == (
        "1.7.1", "0.8.2", "0.3.2", "2.4.1")
    assert {"opencv-python", "pyyaml", "scikit-learn"} <= set(pins)  # imported, unpinned
    assert f"# source: {repo} candidate 1 (exact torch 1.7.1+cpu)" in out.read_text()
