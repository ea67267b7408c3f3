"""`repro data hash|verify` as a user runs it: exit codes, named differences, refusals."""

import hashlib
import json
import os

from repro_cli.main import main


def _tree(root):
    (root / "sub").mkdir(parents=True)
    (root / "a.bin").write_bytes(os.urandom(4096))
    (root / "sub" / "b.txt").write_text("hello\n")
    return root


def test_hash_then_verify_roundtrip(tmp_path, capsys):
    root = _tree(tmp_path / "d")
    out = tmp_path / "data.manifest.json"
    assert main(["data", "hash", str(root), "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["file_count"] == 2
    assert {f["path"]: f["sha256"] for f in doc["files"]}["sub/b.txt"] == \
        hashlib.sha256(b"hello\n").hexdigest()
    assert "2 files" in capsys.readouterr().err
    assert main(["data", "verify", str(root), str(out)]) == 0
    assert "OK: all 2 files" in capsys.readouterr().out


def test_hash_prints_to_stdout_without_o(tmp_path, capsys):
    root = _tree(tmp_path / "d")
    assert main(["data", "hash", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "repro-data-manifest"


def test_verify_names_each_difference_and_exits_1(tmp_path, capsys):
    root = _tree(tmp_path / "d")
    out = tmp_path / "m.json"
    main(["data", "hash", str(root), "-o", str(out)])
    (root / "sub" / "b.txt").write_text("hellO\n")
    (root / "a.bin").unlink()
    (root / "c.txt").write_text("new")
    capsys.readouterr()
    assert main(["data", "verify", str(root), str(out)]) == 1
    text = capsys.readouterr().out
    assert "changed  sub/b.txt" in text and "missing  a.bin" in text and "extra    c.txt" in text
    assert "3 differences: 1 changed, 1 missing, 1 extra" in text
    assert main(["data", "verify", str(root), str(out), "--json"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert (r["changed"], r["missing"], r["extra"], r["ok"]) == (["sub/b.txt"], ["a.bin"],
                                                                ["c.txt"], False)


def test_manifest_leaving_the_tree_is_refused_in_one_line(tmp_path, capsys):
    root = _tree(tmp_path / "d")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "repro-data-manifest", "version": 1, "files": [
        {"path": "../secret", "size": 1, "sha256": "00"}]}))
    assert main(["data", "verify", str(root), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'../secret'" in err and err.startswith("repro data:")


def test_outside_link_refused_when_hashing(tmp_path, capsys):
    root = _tree(tmp_path / "d")
    os.symlink("/etc/hostname", root / "leak")
    out = tmp_path / "m.json"
    assert main(["data", "hash", str(root), "-o", str(out)]) == 2
    assert "points outside" in capsys.readouterr().err
    assert not out.exists()


def test_output_onto_a_folder_is_refused(tmp_path, capsys):
    root = _tree(tmp_path / "d")
    assert main(["data", "hash", str(root), "-o", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_verify_a_dvc_file(tmp_path, capsys):
    (tmp_path / "data.csv").write_bytes(b"a,b\n1,2\n")
    md5 = hashlib.md5(b"a,b\n1,2\n").hexdigest()
    (tmp_path / "data.csv.dvc").write_text(f"outs:\n- md5: {md5}\n  size: 8\n  hash: md5\n"
                                           f"  path: data.csv\n")
    assert main(["data", "verify", str(tmp_path), str(tmp_path / "data.csv.dvc")]) == 0
    (tmp_path / "data.csv").write_bytes(b"a,b\n1,3\n")
    assert main(["data", "verify", str(tmp_path), str(tmp_path / "data.csv.dvc")]) == 1
    assert "changed  data.csv  (md5 " in capsys.readouterr().out


def test_progress_lines_for_large_work(tmp_path, capsys, monkeypatch):
    from repro_cli.commands import data
    root = _tree(tmp_path / "d")
    monkeypatch.setattr(data, "PROGRESS_BYTES", 1)  # stderr is not a tty here
    assert main(["data", "hash", str(root), "-o", str(tmp_path / "m.json")]) == 0
    err = capsys.readouterr().err
    assert "hashing" in err and "(100%)" in err
