"""Where `repro-cuda build` compiles: one toolkit discovery shared with `repro doctor`, a bad
``CUDA_HOME`` said out loud, a bad ``REPRO_CUDA_CACHE`` one line and exit 2."""

import json
from pathlib import Path

import pytest

from repro_cli.main import main as repro_main
from repro_cuda import build, cli


def _toolkit(root: Path) -> Path:
    """A toolkit that passes discovery: bin/nvcc (prints a version) and the headers."""
    (root / "bin").mkdir(parents=True)
    (root / "include").mkdir()
    nvcc = root / "bin" / "nvcc"
    nvcc.write_text('#!/bin/sh\necho "Cuda compilation tools, release 13.0, V13.0.88"\n')
    nvcc.chmod(0o755)
    for h in ("cuda_runtime_api.h", "cuda_runtime.h"):
        (root / "include" / h).write_text("")
    return root


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No toolkit of this machine is visible: no /usr/local/cuda, PATH holds only tmp."""
    is_file, is_dir = Path.is_file, Path.is_dir
    hidden = lambda p: str(p) == "/usr/local/cuda" or str(p).startswith("/usr/local/cuda/")  # noqa: E731
    monkeypatch.setattr(Path, "is_file", lambda p: False if hidden(p) else is_file(p))
    monkeypatch.setattr(Path, "is_dir", lambda p: False if hidden(p) else is_dir(p))
    for var in ("CUDA_HOME", "CUDA_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    from torch.utils import cpp_extension

    # _setup_cuda_env points torch at the root it found: undo that after the test
    monkeypatch.setattr(cpp_extension, "CUDA_HOME", cpp_extension.CUDA_HOME)
    return tmp_path


def _wrapper_on_path(tmp_path: Path, monkeypatch, real: Path) -> None:
    """/usr/local/bin/nvcc style: a wrapper script whose parent folder is not a toolkit."""
    wrapper = tmp_path / "local" / "bin" / "nvcc"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\nexec {real}/bin/nvcc "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", str(wrapper.parent))


@pytest.mark.parametrize("cuda_home", [None, "not-a-toolkit"])
def test_doctor_and_build_name_the_same_toolkit(isolated, monkeypatch, capsys, cuda_home):
    real = _toolkit(isolated / "cuda-13.0")
    _wrapper_on_path(isolated, monkeypatch, real)
    if cuda_home:
        (isolated / cuda_home).mkdir()
        monkeypatch.setenv("CUDA_HOME", str(isolated / cuda_home))

    assert repro_main(["doctor", "--json", "--gpu", "8.9"]) == 0
    report = json.loads(capsys.readouterr().out)
    verdict = {v["check"]: v for v in report["verdicts"]}["cuda_home"]
    said = []
    home, nvcc = build._setup_cuda_env(said.append)

    assert report["host"]["cuda_home"]["toolkit_root"] == home == str(real)
    assert nvcc == "13.0.88"
    # doctor judges torch's own guess (what a paper's setup.py would use) and names the root
    assert verdict["ok"] is False and f"export CUDA_HOME={real}" in verdict["reason"]
    if cuda_home:  # passed over, and said so, naming what is used instead
        assert said == [f"CUDA_HOME={isolated / cuda_home} is not a CUDA toolkit (needs bin/nvcc "
                        f"and include/cuda_runtime_api.h): using {real}"]
    else:
        assert said == []


def test_bad_cuda_home_and_no_toolkit_is_said(isolated, monkeypatch):
    monkeypatch.setenv("CUDA_HOME", str(isolated / "nowhere"))
    said = []
    assert build._setup_cuda_env(said.append) == (None, None)
    assert said == [f"CUDA_HOME={isolated / 'nowhere'} is not a CUDA toolkit (needs bin/nvcc "
                    f"and include/cuda_runtime_api.h): no other toolkit found"]


@pytest.mark.parametrize("layout", ["a file", "below a file"])
def test_cache_that_cannot_hold_a_folder_is_one_line_exit_2(tmp_path, monkeypatch, capsys,
                                                             layout):
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0:root:/root:/bin/bash\n")
    cache = afile if layout == "a file" else afile / "cache"
    monkeypatch.setenv("REPRO_CUDA_CACHE", str(cache))
    assert cli.main(["build", "--cpu-only"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("repro-cuda: error: ")
    assert f"REPRO_CUDA_CACHE={cache}" in err
    assert afile.read_text() == "root:x:0:0:root:/root:/bin/bash\n"  # untouched
