"""`repro attest` / `repro verify` on `repro-mae pretrain --synthetic`: the per-step losses are
recorded from log.jsonl and re-run bit-identically (rtol 0, atol 0) on CPU."""

import json
import os

import pytest
from test_pretrain import GOLDEN_LOSSES, GOLDEN_RUN  # tests/mae is on sys.path (rootdir)

from repro_core.attest import attest, read_attestation, verify_attestation


@pytest.mark.slow
def test_attested_pretrain_verifies_bit_identical(tmp_path, monkeypatch):
    # the command runs in the repository: a relative PYTHONPATH (a source checkout) must not
    # depend on the folder
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(os.path.abspath(p) for p in paths if p))
    repo = tmp_path / "paper"
    repo.mkdir()
    (repo / "README.md").write_text("MAE, tiny\n")
    cmd = "python -m repro_mae.cli " + " ".join(GOLDEN_RUN) + " --output_dir out"
    a = attest(repo, cmd, metrics="out/log.jsonl", exclude=["out"], ignore=["*.imgs_per_s"],
               seed=0, echo=False)
    assert a.exit_code == 0
    assert [r["loss"] for r in a.metrics] == pytest.approx(GOLDEN_LOSSES, rel=1e-5)
    doc = tmp_path / "mae.attestation.json"
    a.write(doc)
    r = verify_attestation(read_attestation(doc), rtol=0.0, atol=0.0, echo=False)
    assert r.ok, r.differences
    losses = [c for c in r.checks if c.name.endswith(".loss")]
    assert [c.name for c in losses] == ["metric 0.loss", "metric 1.loss", "metric 2.loss"]
    assert all(c.recorded == c.now for c in losses)
    logged = [json.loads(ln)["loss"] for ln in (repo / "out" / "log.jsonl").open()]
    assert [json.loads(c.now) for c in losses] == logged
