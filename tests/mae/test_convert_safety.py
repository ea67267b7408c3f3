"""`repro-mae convert` on hostile input (issue 14): bad tensors and hostile destinations
are one-line errors with exit 2, and nothing is written or replaced."""

import os
import stat

import pytest
import torch

from repro_core.errors import ReproError
from repro_mae import cli, convert
from repro_mae.models import mae_vit_tiny_patch16


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(0)
    return mae_vit_tiny_patch16(img_size=32).state_dict()


def _convert(capsys, *args):
    capsys.readouterr()
    rc = cli.main(["convert", *map(str, args)])
    err = capsys.readouterr().err
    return rc, err


def _refused(capsys, *args, needle):
    rc, err = _convert(capsys, *args)
    assert rc == 2 and err.startswith("repro-mae: error: ") and err.count("\n") == 1, err
    assert needle in err, err


def test_qkv_that_does_not_split_in_three_is_an_error(state, tmp_path, capsys):
    bad = dict(state)
    bad["blocks.0.attn.qkv.weight"] = torch.zeros(10, 4)  # was split 4/4/2
    with pytest.raises(ReproError, match=r"shape \(10, 4\) does not split"):
        convert.mae_to_hf(bad)
    bad = dict(state)
    bad["blocks.0.attn.qkv.weight"] = torch.zeros(12, 5)  # divisible by 3, not (3D, D)
    with pytest.raises(ReproError, match=r"shape \(12, 5\)"):
        convert.mae_to_hf(bad)
    bad = dict(state)
    bad["blocks.0.attn.qkv.bias"] = torch.zeros(7)
    torch.save({"model": bad}, str(tmp_path / "bad.pth"))
    _refused(capsys, tmp_path / "bad.pth", tmp_path / "hf.bin", "--to", "hf",
             needle="'blocks.0.attn.qkv.bias': shape (7,) does not split")
    assert not (tmp_path / "hf.bin").exists()


def test_empty_int_keys_and_mismatched_shapes_are_one_line(state, tmp_path, capsys):
    hf = convert.mae_to_hf(state)
    hf["vit.encoder.layer.0.attention.attention.key.weight"] = torch.zeros(5, 5)
    cases = {
        "empty.pth": ({}, "holds no weights"),
        "empty_model.pth": ({"model": {}}, "holds no weights"),
        "int_keys.pth": ({"model": {5: torch.zeros(1)}}, "key 5 is not a name"),
        "int_keys_bare.pth": ({1: torch.zeros(1), 2: torch.ones(1)}, "key 1 is not a name"),
        "qkv_shapes.pth": (hf, "query, key and value weights have shapes (192, 192), (5, 5)"),
        "values.pth": ({"model": {"a": "x"}}, "values must be tensors"),
    }
    for name, (obj, needle) in cases.items():
        torch.save(obj, str(tmp_path / name))
        _refused(capsys, tmp_path / name, tmp_path / "out.pth", needle=needle)
        assert not (tmp_path / "out.pth").exists()
    with pytest.raises(ReproError, match="no weights to write"):
        convert.save_state_dict(tmp_path / "out.pth", {})


def _hostile_destinations(tmp_path):
    target = tmp_path / "target.bin"
    target.write_bytes(b"keep")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    fifo = tmp_path / "fifo.bin"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    found = {"a symlink": link, "a FIFO": fifo, "a directory": folder}
    try:  # a device node of our own (never /dev/null itself)
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        found["a character device"] = tmp_path / "null"
    except (PermissionError, OSError):
        pass
    return target, found


def test_destination_must_be_absent_or_a_regular_file(state, tmp_path, capsys):
    src = tmp_path / "src.pth"
    convert.save_state_dict(src, state)
    target, hostile = _hostile_destinations(tmp_path)
    for kind, dest in hostile.items():
        before = os.lstat(dest)
        for force in ([], ["--force"]):
            _refused(capsys, src, dest, *force, needle=f"{dest}: exists and is {kind}")
            after = os.lstat(dest)
            assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode), kind
    assert target.read_bytes() == b"keep"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_existing_file_needs_force_and_parents_must_exist(state, tmp_path, capsys):
    src = tmp_path / "src.pth"
    convert.save_state_dict(src, state)
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    _refused(capsys, src, dest, "--to", "hf", needle="already exists; not replacing it "
                                                     "(pass --force to replace it)")
    assert dest.read_bytes() == b"old"
    assert _convert(capsys, src, dest, "--to", "hf", "--force")[0] == 0
    assert set(torch.load(str(dest))) == set(convert.mae_to_hf(state))
    _refused(capsys, src, tmp_path / "no" / "such" / "out.pth", needle="does not exist")
    _refused(capsys, src, src / "out.pth", needle=f"{src / 'out.pth'}: ")  # parent: a file
    assert not (tmp_path / "no").exists()
