"""`repro attest` and `repro verify` as a user runs them: files written, side-by-side output,
exit codes (0 match, 1 difference, 2 edited document or bad input)."""

import hashlib
import json

from repro_cli.main import main

TRAIN = '''\
import json
with open("data/x.csv") as f:
    rows = [float(v) for v in f.read().split(",")]
print(json.dumps({"total": sum(rows), "rows": len(rows), "tag": "v1"}))
'''


def _repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "train.py").write_text(TRAIN)
    (repo / "data" / "x.csv").write_text("1.5,2.5,3")
    return repo


def test_attest_then_verify_then_change_data(tmp_path, capsys):
    repo = _repo(tmp_path)
    doc = tmp_path / "att.json"
    assert main(["attest", str(repo), "--run", "python train.py", "--data",
                 str(repo / "data"), "-o", str(doc)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {doc}: exit 0") and "3 metrics" in out
    d = json.loads(doc.read_text())
    assert d["metrics"] == {"total": 7.0, "rows": 3, "tag": "v1"}
    assert main(["verify", str(doc)]) == 0
    assert "OK: " in capsys.readouterr().out

    (repo / "data" / "x.csv").write_text("1.5,2.5,4")
    assert main(["verify", str(doc)]) == 1
    lines = capsys.readouterr().out.splitlines()
    rows = {ln.split()[0] + " " + ln.split()[1]: ln.split()[2:] for ln in lines[2:-1]}
    assert rows["metric total"] == ["7.0", "8.0"]
    old, new = (hashlib.sha256(t).hexdigest()[:12] for t in (b"1.5,2.5,3", b"1.5,2.5,4"))
    assert rows["data x.csv"] == ["9", "B,", "sha256", old + "…", "9", "B,", "sha256",
                                  new + "…"]
    assert lines[-1].startswith("3 differences")  # manifest hash, x.csv, total
    assert main(["verify", str(doc), "--json", "--ignore", "total"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["ok"] is False
    assert {c["name"] for c in r["checks"] if not c["ok"]} == {"data manifest hash",
                                                               "data x.csv"}


def test_tolerance(tmp_path, capsys):
    repo = _repo(tmp_path)
    doc = tmp_path / "att.json"
    assert main(["attest", str(repo), "--run", "python train.py", "-o", str(doc)]) == 0
    (repo / "data" / "x.csv").write_text("1.5,2.5,3.0000001")  # code hash excludes nothing
    capsys.readouterr()
    # without --data, data/ is part of the code: the code hash differs either way
    assert main(["verify", str(doc), "--json", "--rtol", "0"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in r["checks"] if not c["ok"]} == {"code hash", "metric total"}
    assert main(["verify", str(doc), "--json"]) == 1  # default rtol 1e-6 > 1e-7 / 7
    bad = {c["name"] for c in json.loads(capsys.readouterr().out)["checks"] if not c["ok"]}
    assert bad == {"code hash"}
    assert main(["verify", str(doc), "--json", "--rtol", "0", "--atol", "2e-7"]) == 1
    bad = {c["name"] for c in json.loads(capsys.readouterr().out)["checks"] if not c["ok"]}
    assert bad == {"code hash"}


def test_edited_document_is_one_line_exit_2(tmp_path, capsys):
    repo = _repo(tmp_path)
    doc = tmp_path / "att.json"
    assert main(["attest", str(repo), "--run", "python train.py", "-o", str(doc)]) == 0
    doc.write_text(doc.read_text().replace('"rows": 3', '"rows": 4'))
    capsys.readouterr()
    assert main(["verify", str(doc)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was edited after `repro attest`" in err[0]


def test_failing_command_is_recorded_and_exit_1(tmp_path, capsys):
    repo = _repo(tmp_path)
    doc = tmp_path / "att.json"
    assert main(["attest", str(repo), "--run", "exit 4", "-o", str(doc)]) == 1
    assert json.loads(doc.read_text())["exit_code"] == 4
    assert "exited with 4" in capsys.readouterr().err
    assert main(["verify", str(doc)]) == 0  # it fails the same way: reproduced


def test_bad_inputs_are_one_line_exit_2(tmp_path, capsys):
    repo = _repo(tmp_path)
    assert main(["attest", str(repo), "--run", "true", "--data", str(tmp_path / "no")]) == 2
    assert "--data" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    assert main(["attest", str(repo), "--run", "true", "-o", str(tmp_path / "d")]) == 2
    assert "not a regular file" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{}")
    assert main(["verify", str(tmp_path / "x.json")]) == 2
    assert "not a repro attestation" in capsys.readouterr().err
