"""repro-cuda build: cache keys, no-op rebuilds, arch selection, toolkit discovery, compiler
failures, the platform wheel, the CLI and the pure-PyTorch fallback."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

import repro_cuda
from repro_core.errors import BadValue, ReproError
from repro_core.hardware import Hardware
from repro_core.probe import host
from repro_cuda import build, cache, cli, wheel


def test_cache_key_separates_torch_arch_and_sources(built):
    cpu = cache.build_dir("cpu")
    assert Path(built["cpu"]).parent == cpu
    assert cpu.parent.name == f"torch-{torch.__version__}"
    assert cpu.name == f"cpu-{cache.source_hash('cpu')}"
    a, b = cache.build_dir("cuda", "8.9+PTX"), cache.build_dir("cuda", "8.6;9.0+PTX")
    assert a != b and a.parent == b.parent == cpu.parent
    assert "sm86-sm90+ptx" in b.name
    man = cache.read_manifest(cpu)
    assert man["torch"] == torch.__version__ and man["sources"] == cache.source_hash("cpu")


def test_rebuild_with_nothing_changed_does_not_compile(built, monkeypatch):
    from torch.utils import cpp_extension

    def no_compile(*a, **k):
        raise AssertionError("cpp_extension.load called for an up-to-date library")

    monkeypatch.setattr(cpp_extension, "load", no_compile)
    said = []
    out = build.build(cpu_only=True, say=said.append)
    assert out["cpu"] == built["cpu"] and out["cuda"] is None
    assert any("up to date" in m for m in said)


@pytest.mark.parametrize("gpus, arch, nvcc, expect", [
    ([], None, "13.0", None),
    ([], "auto", "13.0", None),
    (["8.9"], None, "13.0", "8.9+PTX"),
    (["8.9", "8.9", "8.0"], "auto", "13.0", "8.0;8.9+PTX"),
    ([], "8.9", "13.0", "8.9+PTX"),
    ([], "9.0;8.6", "13.0", "8.6;9.0+PTX"),
    ([], "sm_89", "12.4", "8.9+PTX"),
    (["8.9"], "auto", "11.7", "8.6+PTX"),  # nvcc 11.7 stops at 8.7: sm_86 SASS runs on 8.9
])
def test_resolve_arch(monkeypatch, gpus, arch, nvcc, expect):
    monkeypatch.setattr(build, "gpu_ccs", lambda: gpus)
    if expect and not torch.version.cuda:
        pytest.skip("a CPU-only torch cannot compile CUDA kernels")
    said = []
    assert build.resolve_arch(arch, nvcc, said.append) == expect
    if expect is None:
        assert any("CPU-only" in m for m in said)
    if nvcc == "11.7":
        assert any(m.startswith("lowering 8.9 to 8.6") for m in said)


def test_resolve_arch_takes_the_gpus_of_a_hardware(monkeypatch):
    monkeypatch.setattr(build, "gpu_ccs", lambda: ["7.5"])  # this machine; not asked
    if not torch.version.cuda:
        pytest.skip("a CPU-only torch cannot compile CUDA kernels")
    hw = Hardware.stated("RTX 4090")
    assert build.resolve_arch("auto", "13.0", lambda m: None, hw) == "8.9+PTX"
    assert build.resolve_arch(None, "13.0", lambda m: None, Hardware()) is None


def test_arch_naming_nothing_is_a_bad_value():
    with pytest.raises(BadValue) as e:
        build.resolve_arch("+PTX", "13.0", lambda m: None)
    assert (e.value.field, e.value.value, str(e.value)) == (
        "arch", "+PTX", "'+PTX' names no compute capability")
    assert str(e.value.flagged("--arch")) == "--arch '+PTX' names no compute capability"


def test_resolve_arch_refuses_what_nvcc_cannot_target(monkeypatch):
    if not torch.version.cuda:
        pytest.skip("a CPU-only torch cannot compile CUDA kernels")
    with pytest.raises(ReproError, match="cannot compile for compute capability 7.0"):
        build.resolve_arch("7.0", "13.0", lambda m: None)
    with pytest.raises(ReproError, match="no CUDA toolkit found"):
        build.resolve_arch("8.9", None, lambda m: None)


def _fake_toolkit(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "include").mkdir()
    (root / "bin" / "nvcc").write_text("#!/bin/sh\n")
    (root / "include" / "cuda_runtime_api.h").write_text("")
    return root


def test_toolkit_root_follows_a_wrapper_script(tmp_path, monkeypatch):
    real = _fake_toolkit(tmp_path / "cuda-13.0")
    wrapper = tmp_path / "local" / "bin" / "nvcc"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\nexec {real}/bin/nvcc "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", str(wrapper.parent))
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "local"))  # not a toolkit: skipped
    monkeypatch.delenv("CUDA_PATH", raising=False)
    monkeypatch.setattr(host.Path, "is_file", _no_system_cuda(Path.is_file))
    assert host.toolkit_root() == str(real)


def _no_system_cuda(is_file):
    def patched(self):
        return False if str(self).startswith("/usr/local/cuda/") else is_file(self)
    return patched


def test_nvidia_wheel_headers_are_found(tmp_path, monkeypatch):
    inc = tmp_path / "nvidia" / "cu13" / "include"
    inc.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert build.nvidia_wheel_includes() == [str(inc)]


def test_failed_compile_names_first_error_and_command(tmp_path, monkeypatch):
    src = tmp_path / "csrc"
    (src / "cpu").mkdir(parents=True)
    (src / "ops.cpp").write_text("int fine() { return 0; }\nint broken( { return 1; }\n")
    monkeypatch.setattr(cache, "csrc_dir", lambda: src)
    monkeypatch.setenv("REPRO_CUDA_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ReproError) as err:
        build.compile_library("cpu", say=lambda m: None)
    msg = str(err.value)
    assert "ops.cpp:2" in msg.splitlines()[0] and "error" in msg.splitlines()[0]
    cmd = msg.split("reproduce with: ", 1)[1]
    rerun = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    assert rerun.returncode != 0 and "ops.cpp:2" in rerun.stderr


def test_wheel_carries_libraries_and_installs(built, tmp_path):
    whl = wheel.write_wheel({"cpu": built["cpu"], "cuda": built["cuda"]}, tmp_path / "dist")
    assert whl.name.startswith(f"repro_cuda-{wheel.local_version()}-cp")
    with zipfile.ZipFile(whl) as zf:
        names = set(zf.namelist())
    assert {"repro_cuda/_lib/cpu/repro_cpu.so", "repro_cuda/csrc/ops.cpp",
            "repro_cuda/ops.py"} <= names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(whl)], check=True)
    import repro_core

    env = dict(os.environ, REPRO_CUDA_CACHE=str(tmp_path / "empty-cache"),
               PYTHONPATH=os.pathsep.join([str(site), str(Path(repro_core.__file__).parents[1])]))
    code = ("import json, repro_cuda; print(json.dumps([repro_cuda.library_path('cpu'), "
            "repro_cuda.backend('cpu')]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=str(tmp_path)).stdout
    path, backend = json.loads(out.strip().splitlines()[-1])
    assert path == str(site / "repro_cuda" / "_lib" / "cpu" / "repro_cpu.so")
    assert backend == "cpu"


def test_cli_build_and_info(built, capsys):
    assert cli.main(["build", "--cpu-only"]) == 0
    assert built["cpu"] in capsys.readouterr().out
    assert cli.main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["libraries"]["cpu"] == built["cpu"] and info["backend"]["cpu"] == "cpu"


def test_cli_build_error_is_one_line_exit_2(capsys):
    if not torch.version.cuda or host.toolkit_root() is None:
        pytest.skip("needs a CUDA torch and nvcc")
    assert cli.main(["build", "--arch", "7.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("repro-cuda: error: cannot compile for compute capability 7.0")


def test_fallback_is_the_reference_and_warns_once():
    code = """
import json, warnings, torch, repro_cuda
from repro_cuda import reference
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = torch.randn(2, 6, 4); ids = torch.tensor([[5, 0], [2, 2]])
    imgs = torch.randn(2, 3, 8, 8); pred = torch.randn(2, 4, 48); mask = torch.ones(2, 4)
    same = [torch.equal(repro_cuda.gather_patches(x, ids), reference.gather_patches(x, ids)),
            torch.equal(repro_cuda.masked_patch_loss(imgs, pred, mask, 4),
                        reference.masked_patch_loss(imgs, pred, mask, 4))]
    repro_cuda.gather_patches(x, ids)
    try:
        repro_cuda.gather_patches(x, ids + 5)
    except ValueError as e:
        same.append("[0, L=6)" in str(e))
msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
print(json.dumps([repro_cuda.backend("cpu"), repro_cuda.library_path("cpu"), same, msgs]))
"""
    env = dict(os.environ, REPRO_CUDA_NO_LIBRARY="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    backend, path, same, msgs = json.loads(out.strip().splitlines()[-1])
    assert backend == "reference" and path is None and same == [True, True, True]
    assert len(msgs) == 1 and "pure-PyTorch reference" in msgs[0]
    assert repro_cuda.backend("cpu") == "cpu"  # this process: the compiled library


@pytest.mark.parametrize("arch_list, gpus, rank", [
    ("9.0+PTX", ["9.0"], 0), ("8.9+PTX", ["9.0"], 1), ("8.0;8.6", ["8.9"], 0),
    ("8.0", ["9.0"], None), ("8.6;9.0+PTX", ["8.6", "9.0"], 0), ("9.0", [], None),
])
def test_cuda_library_choice_prefers_sass(tmp_path, arch_list, gpus, rank):
    """At import a cached CUDA library is used only if it runs on every GPU; SASS first."""
    from repro_cuda import library

    folder = tmp_path / "cuda-x"
    folder.mkdir()
    lib = cache.library_file("cuda", folder)
    lib.write_bytes(b"")
    (folder / "manifest.json").write_text(json.dumps({
        "torch": torch.__version__, "sources": cache.source_hash("cuda"),
        "arch_list": arch_list}))
    got = library._usable("cuda", folder, gpus)
    assert (got is None) if rank is None else (got == (rank, lib))
