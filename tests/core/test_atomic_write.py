"""fsutil.atomic_write: never over a non-regular file, never half-written, one-line errors."""

import os
import socket

import pytest

from repro_core.errors import ReproError
from repro_core.fsutil import (
    OutputExistsError,
    atomic_write,
    atomic_write_bytes,
    check_destination,
    remove_stale_temps,
)


def _hostile(tmp_path):
    """Destinations that exist and are not regular files (built here, none shipped)."""
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "link"
    link.symlink_to(target)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    return target, sock, [("a symlink", link), ("a symlink", dangling), ("a FIFO", fifo),
                          ("a directory", folder), ("a socket", sock_path),
                          ("a character device", "/dev/null")]


def test_refuses_every_non_regular_destination(tmp_path):
    target, sock, cases = _hostile(tmp_path)
    try:
        for kind, path in cases:
            before = os.lstat(path)
            with pytest.raises(ReproError, match=f"is {kind}, not a regular file"):
                atomic_write(path, b"x", overwrite=True)
            after = os.lstat(path)
            assert (before.st_mode, before.st_ino) == (after.st_mode, after.st_ino), path
        assert target.read_text() == "keep me"  # the symlink's target is untouched too
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    finally:
        sock.close()


def test_existing_file_needs_overwrite(tmp_path):
    p = tmp_path / "out.bin"
    atomic_write(p, b"one", overwrite=False)
    with pytest.raises(OutputExistsError, match="already exists") as e:
        atomic_write(p, b"two", overwrite=False)
    assert e.value.path == str(p) and e.value.exit_code == 2
    assert p.read_bytes() == b"one"
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two"
    check_destination(tmp_path / "new")  # absent: fine


def test_missing_or_unusable_folder_is_one_line(tmp_path):
    with pytest.raises(ReproError, match="does not exist") as e:
        atomic_write(tmp_path / "no" / "out.bin", b"x")
    assert "\n" not in str(e.value)
    (tmp_path / "file").write_text("")
    for make_parents in (False, True):  # a parent that is a file: ENOTDIR / EEXIST
        with pytest.raises(ReproError) as e:
            atomic_write(tmp_path / "file" / "out.bin", b"x", make_parents=make_parents)
        assert str(tmp_path / "file" / "out.bin") in str(e.value) and "\n" not in str(e.value)
    atomic_write_bytes(tmp_path / "made" / "deep" / "out.bin", b"x")  # creates folders
    assert (tmp_path / "made" / "deep" / "out.bin").read_bytes() == b"x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_folder_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ReproError, match="cannot write: Permission denied"):
            atomic_write(ro / "out.bin", b"x")
    finally:
        ro.chmod(0o700)


def test_remove_stale_temps_only_of_that_file(tmp_path):
    target = tmp_path / "checkpoint.pth"
    stale = [tmp_path / ".checkpoint.pth.ab12cd.tmp", tmp_path / ".checkpoint.pth.x.tmp"]
    others = [tmp_path / ".log.jsonl.ab12.tmp", tmp_path / "checkpoint.pth.tmp",
              tmp_path / ".checkpoint.pthx.1.tmp"]
    for p in stale + others:
        p.write_bytes(b"partial")
    (tmp_path / ".checkpoint.pth.dir.tmp").mkdir()  # not a regular file: left alone
    assert remove_stale_temps(target) == sorted(str(p) for p in stale)
    assert all(p.exists() for p in others) and (tmp_path / ".checkpoint.pth.dir.tmp").is_dir()


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path):
    """A plain open() gives 0666 less the umask; a temp file + rename must give the same."""
    import os
    import stat

    from repro_core.fsutil import atomic_write

    old = os.umask(0o022)
    try:
        new = tmp_path / "new.txt"
        atomic_write(new, b"x")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        atomic_write(kept, b"new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_bytes() == b"new"
    finally:
        os.umask(old)
