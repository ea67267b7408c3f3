"""End to end, every stage real: `repro reproduce` takes examples/legacy-vit (torch 1.8.1 /
timm 0.3.2 pins, torch._six, a THC-era extension) to a passing training step under the
newest torch of the knowledge base, and takes a repository whose failure only diagnose can
explain (tests/data/reproduce/tb_undeclared) through a second round. Needs PyPI, uv and the
planned Pythons (3.10 and 3.13 here); a few minutes each on 2 cores."""

import hashlib
import json
import os

import pytest

from repro_cli.main import main
from repro_core import kb
from repro_core.reproduce import REPORT_JSON, REPORT_MD, ReproduceReport

pytestmark = pytest.mark.slow


def _digest(root):
    h = hashlib.sha256()
    for dirpath, dirnames, files in sorted(os.walk(root)):
        dirnames.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def _report(workdir):
    return ReproduceReport.from_json((workdir / REPORT_JSON).read_text())


def test_legacy_vit_trains_under_the_newest_torch(repo_root, tmp_path, registry, capsys):
    example = repo_root / "examples" / "legacy-vit"
    before = _digest(example)
    w = tmp_path / "work"
    # with --strategy auto the stated stack (exact torch 1.8.1) now passes first, after
    # diagnose's `pin pillow<10.4` (2026-12-01); this test is about the forward-port
    code = main(["reproduce", str(example), "--gpu", "none", "--workdir", str(w),
                 "--strategy", "forward-port"])
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    rep = _report(w)
    assert rep.passed and rep.chosen
    chosen = rep.attempts[-1]
    newest = max(kb.torch_releases(), key=lambda r: tuple(int(x) for x in r.version.split(".")))
    assert chosen.torch.startswith(newest.version + ".") and chosen.strategy == "forward-port"
    # the training step ran, on the migrated copy
    assert "done: mean loss" in rep.smoke_tail
    assert "-from torch._six import" in rep.migrations
    assert rep.snapshot_hash.startswith("sha256:")
    assert "torch==" + newest.version in rep.lock
    # the stages are logged with their times; the summary and the Markdown report exist
    assert "repro reproduce: smoke    ok in" in out.err
    assert "PASSED" in out.out and (w / REPORT_MD).is_file()
    # the user's checkout is untouched
    assert _digest(example) == before
    # a finished run resumes to the same result without running anything again
    assert main(["reproduce", str(example), "--gpu", "none", "--workdir", str(w),
                 "--strategy", "forward-port", "--resume", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["passed"] and all(s["resumed"] for s in again["stages"])


def test_a_failure_only_diagnose_can_fix_passes_in_round_two(repo_root, tmp_path, registry,
                                                             capsys):
    fixture = repo_root / "tests" / "data" / "reproduce" / "tb_undeclared"
    w = tmp_path / "work"
    code = main(["reproduce", str(fixture), "--gpu", "none", "--workdir", str(w)])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    rep = _report(w)
    assert rep.passed and rep.rounds == 2
    diag = [s for s in rep.stages if s.name == "diagnose"]
    assert len(diag) == 1 and "install tensorboard" in diag[0].summary
    first_smoke = [s for s in rep.stages if s.name == "smoke"][0]
    assert "No module named 'tensorboard'" in first_smoke.data["tail"]
    locks = [s for s in rep.stages if s.name == "lock"]
    assert len(locks) == 2
    assert not any(p["name"] == "tensorboard" for p in locks[0].data["lock"]["pins"])
    assert any(p["name"] == "tensorboard" for p in locks[1].data["lock"]["pins"])
    assert "trained 1 step(s)" in rep.smoke_tail
