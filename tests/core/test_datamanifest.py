"""repro_core.datamanifest on real trees: hashes against hashlib, tampering, DVC inputs."""

import hashlib
import json
import os

import pytest

from repro_core import datamanifest as dm
from repro_core.errors import ReproError


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "data"
    (root / "train" / "cls_a").mkdir(parents=True)
    (root / "val").mkdir()
    (root / "train" / "cls_a" / "img0.bin").write_bytes(bytes(range(256)) * 4000)  # 1 MB, 2 chunks
    (root / "train" / "labels.csv").write_text("id,label\n0,a\n")
    (root / "val" / "empty.txt").write_bytes(b"")
    (root / "README").write_text("toy dataset\n")
    return root


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_hash_matches_hashlib_and_sizes(tree):
    m = dm.hash_tree(tree)
    assert [f.path for f in m.files] == ["README", "train/cls_a/img0.bin", "train/labels.csv",
                                         "val/empty.txt"]
    for f in m.files:
        assert f.digest == _sha(tree / f.path)
        assert f.size == (tree / f.path).stat().st_size
    assert m.total_size == 1024000 + 13 + 0 + 12
    assert dm.Manifest.from_json(json.loads(json.dumps(m.to_json()))) == m


def test_multi_chunk_file_streams(tmp_path):
    p = tmp_path / "big"
    p.write_bytes(os.urandom(dm.CHUNK * 3 + 17))
    seen = []
    assert dm.hash_file(p, progress=seen.append) == _sha(p)
    assert seen == [dm.CHUNK] * 3 + [17]


def test_verify_clean_tree_is_ok(tree):
    r = dm.verify(tree, dm.hash_tree(tree))
    assert r.ok and r.checked == 4 and not (r.changed or r.missing or r.extra)


def test_verify_names_changed_missing_extra(tree):
    m = dm.hash_tree(tree)
    img = tree / "train" / "cls_a" / "img0.bin"
    data = bytearray(img.read_bytes())
    data[500000] ^= 1  # one bit of one byte, same size
    img.write_bytes(bytes(data))
    (tree / "train" / "labels.csv").write_text("id,label\n0,b\n")  # same size, other content
    (tree / "README").unlink()
    (tree / "val" / "new.txt").write_text("x")
    r = dm.verify(tree, m)
    assert not r.ok
    assert r.changed == ("train/cls_a/img0.bin", "train/labels.csv")
    assert r.missing == ("README",)
    assert r.extra == ("val/new.txt",)
    assert dict(r.details)["train/labels.csv"].startswith("sha256 ")
    assert dm.Verification.from_json(r.to_json()) == r


def test_size_change_is_reported_without_hashing(tree):
    m = dm.hash_tree(tree)
    (tree / "README").write_text("toy dataset, longer\n")
    r = dm.verify(tree, m)
    assert r.changed == ("README",) and dict(r.details)["README"] == "size 12 -> 20"


def test_manifest_inside_the_tree_is_not_extra(tree):
    out = tree / "data.manifest.json"
    m = dm.hash_tree(tree, exclude=out)
    m.write(out)
    assert "data.manifest.json" not in [f.path for f in m.files]
    assert dm.verify(tree, dm.load(out), exclude=out).ok


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside", "a/../../b", "a//b", "./a",
                                 "C:/x", "a\\b", ""])
def test_manifest_paths_that_leave_the_tree_are_refused(bad):
    doc = {"format": dm.FORMAT, "version": 1, "files": [{"path": bad, "size": 1, "sha256": "0"}]}
    with pytest.raises(ReproError, match="path"):
        dm.Manifest.from_json(doc)


def test_link_out_of_the_tree_is_refused_when_hashing(tree, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s")
    os.symlink(secret, tree / "val" / "leak.txt")
    with pytest.raises(ReproError, match="points outside"):
        dm.hash_tree(tree)


def test_link_inside_the_tree_counts_as_the_file(tree):
    os.symlink("../README", tree / "val" / "readme_link")
    os.symlink("../train", tree / "val" / "train_link")  # folder links are not followed
    m = dm.hash_tree(tree)
    entry = {f.path: f for f in m.files}
    assert entry["val/readme_link"].digest == _sha(tree / "README")
    assert not any(p.startswith("val/train_link") for p in entry)


def test_manifest_path_through_an_outside_link_is_refused(tree, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "f").write_text("x")
    os.symlink(outside, tree / "ext")
    doc = {"format": dm.FORMAT, "version": 1, "complete": False,
           "files": [{"path": "ext/f", "size": 1, "sha256": _sha(outside / "f")}]}
    with pytest.raises(ReproError, match="points outside"):
        dm.verify(tree, dm.Manifest.from_json(doc))


def test_write_refuses_a_non_regular_target(tree, tmp_path):
    m = dm.hash_tree(tree)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ReproError, match="not a regular file"):
        m.write(fifo)
    with pytest.raises(ReproError, match="not a regular file"):
        m.write(tmp_path)  # a folder
    assert not list(tmp_path.glob(".pipe.*"))  # no temp file left


def test_unreadable_file_is_one_line(tree, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(dm, "open", denied, raising=False)
    with pytest.raises(ReproError, match="README: cannot read: Permission denied"):
        dm.hash_tree(tree)


def test_bad_manifest_json_is_one_line(tmp_path, tree):
    p = tmp_path / "m.json"
    p.write_text("{ not json")
    with pytest.raises(ReproError, match=r"m.json:1: invalid JSON"):
        dm.load(p)
    p.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ReproError, match="not a repro data manifest"):
        dm.load(p)


# --- DVC -----------------------------------------------------------------------------------


def _md5(b):
    return hashlib.md5(b).hexdigest()


def test_dvc3_file(tmp_path):
    (tmp_path / "data.xml").write_bytes(b"<xml>\r\n</xml>\r\n")
    md5 = _md5((tmp_path / "data.xml").read_bytes())
    dvc = tmp_path / "data.xml.dvc"
    dvc.write_text(f"outs:\n- md5: {md5}\n  size: 15\n  hash: md5\n  path: data.xml\n")
    m = dm.load(dvc)
    assert [(f.path, f.size, f.digest, f.algorithm) for f in m.files] == [
        ("data.xml", 15, md5, "md5")]
    assert dm.verify(tmp_path, m).ok
    (tmp_path / "data.xml").write_bytes(b"<xml>\r\n</xmL>\r\n")
    assert dm.verify(tmp_path, m).changed == ("data.xml",)
    (tmp_path / "data.xml").unlink()
    assert dm.verify(tmp_path, m).missing == ("data.xml",)


def test_dvc2_text_files_hash_with_lf_endings(tmp_path):
    """DVC 2 (no `hash: md5`) hashed text files after CRLF -> LF; binary files as they are."""
    body = b"x" * (dm.CHUNK - 1) + b"\r\n" + b"a,b\r\n"  # one CRLF straddles two chunks
    (tmp_path / "t.csv").write_bytes(body)
    (tmp_path / "b.bin").write_bytes(b"\x00\r\n\x01")
    text_md5 = _md5(body.replace(b"\r\n", b"\n"))
    bin_md5 = _md5(b"\x00\r\n\x01")
    dvc = tmp_path / "data.dvc"
    dvc.write_text(f"outs:\n- md5: {text_md5}\n  path: t.csv\n- md5: {bin_md5}\n  path: 'b.bin'\n")
    m = dm.load(dvc)
    assert {f.algorithm for f in m.files} == {"md5-dvc2"}
    assert dm.verify(tmp_path, m).ok


def test_dvc_lock_deps_and_outs(tmp_path):
    (tmp_path / "data").mkdir()
    raw = b"raw data\n"
    (tmp_path / "data" / "data.xml").write_bytes(raw)
    (tmp_path / "prepare.py").write_bytes(b"print(1)\n")
    (tmp_path / "data" / "out.txt").write_bytes(b"prepared\n")
    script_md5, out_md5 = _md5(b"print(1)\n"), _md5(b"prepared\n")
    lock = tmp_path / "dvc.lock"
    lock.write_text(f"""schema: '2.0'
stages:
  prepare:
    cmd: |
      python prepare.py
      - path: not/a/dep.txt
        md5: 00000000000000000000000000000000
    deps:
    - path: data/data.xml
      hash: md5
      md5: {_md5(raw)}
      size: 9
    - path: prepare.py  # the script
      hash: md5
      md5: {script_md5}
      size: 9
    params:
      params.yaml:
        prepare.seed: 20170428
    outs:
    - path: "data/out.txt"
      hash: md5
      md5: {out_md5}
      size: 9
""")
    m = dm.load(lock)
    assert [f.path for f in m.files] == ["data/data.xml", "data/out.txt", "prepare.py"]
    assert not m.complete
    assert dm.verify(tmp_path, m).ok
    (tmp_path / "data" / "out.txt").write_bytes(b"prepareD\n")
    (tmp_path / "extra.bin").write_bytes(b"not tracked by dvc")
    r = dm.verify(tmp_path, m)
    assert r.changed == ("data/out.txt",) and r.extra == ()


def test_dvc_directory_output_from_the_cache(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"\x89PNG a")
    (tmp_path / "images" / "b.png").write_bytes(b"\x89PNG b")
    listing = [{"md5": _md5(b"\x89PNG a"), "relpath": "a.png"},
               {"md5": _md5(b"\x89PNG b"), "relpath": "b.png"}]
    text = json.dumps(listing)
    h = _md5(text.encode())
    cache = tmp_path / ".dvc" / "cache" / "files" / "md5" / h[:2]
    cache.mkdir(parents=True)
    (cache / f"{h[2:]}.dir").write_text(text)
    dvc = tmp_path / "images.dvc"
    dvc.write_text(f"outs:\n- md5: {h}.dir\n  size: 12\n  nfiles: 2\n  hash: md5\n"
                   f"  path: images\n")
    m = dm.load(dvc)
    assert [f.path for f in m.files] == ["images/a.png", "images/b.png"]
    (tmp_path / "images" / "b.png").write_bytes(b"\x89PNG B")
    assert dm.verify(tmp_path, m).changed == ("images/b.png",)
    (cache / f"{h[2:]}.dir").unlink()
    with pytest.raises(ReproError, match="DVC cache"):
        dm.load(dvc)


def test_dvc_paths_leaving_the_folder_are_refused(tmp_path):
    dvc = tmp_path / "x.dvc"
    dvc.write_text(f"outs:\n- md5: {'0' * 32}\n  path: ../x\n")
    with pytest.raises(ReproError, match="leaves the tree"):
        dm.load(dvc)
    dvc.write_text(f"outs:\n- md5: {'0' * 32}\n  path: /etc/passwd\n")
    with pytest.raises(ReproError, match="not a relative POSIX path"):
        dm.load(dvc)
