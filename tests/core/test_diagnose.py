"""repro_core.diagnose on real logs (tests/data/logs/diagnose/, see its README for how each
was produced). Expected ids, fixes and line numbers were read off the logs by hand."""

import re
from pathlib import Path

import pytest

from repro_core import kb
from repro_core.diagnose import Diagnosis, arch_list, diagnose, distribution, normalize
from repro_core.errors import ReproError
from repro_core.hardware import GpuDevice, Hardware

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs" / "diagnose"


def run(name: str, hardware=None) -> Diagnosis:
    return diagnose((LOGS / f"{name}.log").read_text(encoding="utf-8"), hardware)


# log -> (first finding id, its fixes (kind, value) in order, the log line numbers it used);
# "rule": the rule row's, read off the row here (its codemod, then its bound), since the
# migrate branch may give more rules a codemod
CASES = {
    "np-float": ("np-builtin-aliases", "rule", [7]),
    "np-nan": ("np2-expired-attrs", "rule", [7]),
    "torch-six": ("torch-six", "rule", [4]),
    "tb": ("module-not-found", ("install", "tensorboard"), [6]),
    "weights": ("torch-load-weights-only", "rule", [7, 10]),
    "local-rank": ("torch-distributed-local-rank", "rule", [11]),
    "collections-abc": ("py-collections-abc", "rule", [4]),
    "pil-antialias": ("pil-antialias", "rule", [5]),
    "timm-layers": ("timm-layers-submodules", "rule", [6]),
    "timm-qk": ("timm-block-qk-scale", "rule", [5]),
    "data-index": ("torch-data-index", "rule", [5]),
    "cpickle": ("py2-modules", "rule", [4]),
    "tv-ft": ("tv-functional-tensor", "rule", [4]),
    "add-wd": ("timm-add-weight-decay", "rule", [6]),
    "symeig": ("torch-symeig", "rule", [7]),
    "thc-include": ("cpp-thc-include", "rule", [5, 6]),
    "numpy-abi": ("numpy-abi", ("pin", "numpy<2"), [2, 35, 40]),
    "numpy-abi-scipy": ("numpy-abi", ("pin", "numpy<2"), [4, 19, 27]),
    "gcc-too-new": ("gcc-too-new", ("env", "NVCC_CCBIN=g++-15"), [3, 4]),
    "stale-ext": ("stale-extension", ("build", "/tmp/build/b3/stale_ext.so"), [19]),
    "cuda-call": ("no-nvidia-driver", None, [7]),
    "pillow-numpy-typing": ("pillow-numpy-typing", ("pin", "pillow<10.4"), [9]),
    "uv-sdist-build": ("sdist-build-failed", ("pin", "pyyaml>5.4.1"), [4]),
    # DCNv2's CPU op on exact torch 1.10.2 (THFloatBlas_gemm, then THFloatBlas_gemv)
    "th-blas-torch1102": ("cpp-th-blas", "rule", [27, 28]),
    "cython3-language-level": ("cython3-language-level", ("pin", "cython<3"), [18]),
    # the training step finished ("Training time"); the no-NVIDIA-driver line is a warning
    "exit-crash-torch171": ("exit-crash", None, [425]),
    # a SyntaxError is linked to a rule by the line Python quotes; time.clock by its name
    "async-keyword": ("py-async-keyword", "rule", [2, 4]),
    "time-clock": ("py-time-clock", "rule", [5]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_log(name):
    want_id, want_fix, want_lines = CASES[name]
    d = run(name)
    assert d.recognised
    top = d.findings[0]
    assert top.id == want_id
    assert [x.number for x in top.lines] == want_lines
    got = [(x.kind, x.value) for x in top.fixes]
    if want_fix is None:
        assert got == [] and top.advice
    elif want_fix == "rule":
        r = kb.rule(want_id)
        assert top.source == "rule"
        assert got == [("migrate", r.id)] * bool(r.codemod) + [("pin", r.bound)] * bool(r.bound)
        assert got  # every rule a real log reaches has a fix
    else:
        assert got[0] == want_fix


def test_shared_error_text_is_narrowed_by_the_traceback():
    # five rules share "This function was deprecated since version 1.9 and is now removed";
    # the traceback shows torch.symeig; "No module named 'torch._six'" is also timm 0.3.2's
    # error, but no timm frame is in the traceback
    assert [f.id for f in run("symeig").findings] == ["torch-symeig"]
    assert [f.id for f in run("torch-six").findings] == ["torch-six"]


def test_the_failing_frame_picks_among_rules_sharing_a_text():
    # timm 0.3.2 fails inside site-packages/timm/models/layers/helpers.py: its own rule
    # leads, torch-six (the traceback shows torch._six too) follows
    d = run("timm032-torch-six")
    assert [f.id for f in d.findings] == ["timm-032-torch-six", "torch-six"]
    assert [x.number for x in d.findings[0].lines] == [20]


def test_rule_fixes_come_from_the_rule_row():
    f = run("np-float").findings[0]
    r = kb.rule("np-builtin-aliases")
    assert f.what == r.message and f.advice == r.fix
    assert [(x.kind, x.value) for x in f.fixes] == [("migrate", r.id), ("pin", r.bound)]
    assert f.fixes[0].command == "repro migrate . --rules np-builtin-aliases --write"
    assert f.fixes[0].rules == ("np-builtin-aliases",)


def test_build_log_maps_each_compiler_error_to_its_cpp_rule():
    d = run("legacy-aten")
    errors = [f.id for f in d.findings if f.severity == "error"]
    assert errors == ["cpp-at-check", "cpp-thcudacheck", "cpp-thcceildiv", "cpp-dispatch-type"]
    # the Tensor.type() deprecation warning is cpp-type-is-cuda's text, but the code gcc
    # quotes under it is AT_DISPATCH_FLOATING_TYPES(x.type(), ...): not that rule
    warnings = {f.id for f in d.findings if f.severity == "warning"}
    assert warnings == {"cpp-data-template"}
    # and where the quoted code is x.type().is_cuda(), the same warning text is that rule
    typed = run("type-is-cuda")
    assert [(f.id, f.severity) for f in typed.findings] == [("cpp-type-is-cuda", "warning")]
    assert [x.number for x in typed.findings[0].lines] == [18, 19]
    assert typed.fixes() == ()  # a warning: nothing a retry loop must do
    at_check = d.findings[0]
    # the error line and the source line gcc quoted under it
    assert [x.number for x in at_check.lines] == [6, 7]
    assert "AT_CHECK(x.dim() == 2" in at_check.lines[1].text


def test_nvcc_arch_uses_the_hardware():
    d = run("nvcc-arch", Hardware.stated("RTX 4090"))
    top = d.findings[0]
    assert top.id == "nvcc-unsupported-arch" and top.rules == ("cuda-arch-kepler",)
    assert (top.fix.kind, top.fix.value) == ("arch", "8.9")
    assert top.fix.command == "export TORCH_CUDA_ARCH_LIST='8.9'"
    assert d.findings[1].id == "cuda-arch-kepler"
    assert ("pin", "cuda<12.0") in [(x.kind, x.value) for x in d.findings[1].fixes]
    # without hardware: no value to give, and the advice says what is missing
    bare = run("nvcc-arch").findings
    assert bare[0].id == "nvcc-unsupported-arch" or bare[1].id == "nvcc-unsupported-arch"
    arch = [f for f in bare if f.id == "nvcc-unsupported-arch"][0]
    # (the linked rule's codemod, which drops the arch flags nvcc refuses, still applies)
    assert [f.kind for f in arch.fixes] in ([], ["migrate"]) and "--gpu" in arch.advice


def test_arch_list_for_several_gpus_and_nvcc():
    hw = Hardware(gpus=(GpuDevice("H100", "9.0"), GpuDevice("RTX 4090", "8.9", index=1)))
    assert arch_list(hw) == "8.9;9.0"
    # nvcc 11.7 cannot target 8.9: compat.best_arch compiles 8.6, whose SASS runs on 8.9
    old = Hardware(gpus=(GpuDevice("RTX 4090", "8.9"),), nvcc="11.7")
    assert arch_list(old) == "8.6"
    assert arch_list(None) is None


def test_no_kernel_image_message_text():
    # Not reproducible here (no GPU): the CUDA runtime's message text, as torch prints it.
    text = ("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
            "RuntimeError: CUDA error: no kernel image is available for execution on the "
            "device\n")
    d = diagnose(text, Hardware.stated("8.9"))
    assert d.findings[0].id == "no-kernel-image"
    assert (d.findings[0].fix.kind, d.findings[0].fix.value) == ("arch", "8.9")


def test_torch_not_compiled_with_cuda_message_text():
    # Not reproducible here (every Linux torch wheel on PyPI is a CUDA build): torch's text.
    d = diagnose('  File "x.py", line 1\nAssertionError: Torch not compiled with CUDA enabled\n')
    assert d.findings[0].id == "torch-without-cuda" and d.findings[0].advice


def test_every_rule_error_text_is_recognised():
    # Circular by construction (a rule's own text fed back): it checks the matching logic
    # (normalising, the narrowing of shared texts), not that the texts are real.
    for r in kb.rules():
        for e in r.errors:
            ids = {f.id for f in diagnose(e).findings}
            # a text several rules share may be narrowed to the one whose name it shows
            # (timm 0.3.2's "cannot import name 'container_abcs' from 'torch._six'")
            sharing = {x.id for x in kb.rules() if e in x.errors}
            assert r.id in ids or (len(sharing) > 1 and ids & sharing), (r.id, e)


def test_a_syntax_error_is_a_rules_only_when_the_quoted_line_is_its():
    text = '  File "a.py", line 3\n    {}\n    ^\nSyntaxError: invalid syntax\n'
    assert [f.id for f in diagnose(text.format("b.copy_(a, async=True)")).findings] == [
        "py-async-keyword"]
    for code in ("x = (1 +", "async def f(): pass", "if async == 1:"):
        assert not diagnose(text.format(code)).recognised, code


def test_unknown_error_shows_the_lines_it_looked_at():
    text = ("Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n"
            "    run()\nValueError: learning rate must be positive\n")
    d = diagnose(text)
    assert not d.recognised and d.findings == ()
    assert [(x.number, x.text) for x in d.examined] == [
        (4, "ValueError: learning rate must be positive")]
    assert "no known error" in d.summary


def test_json_round_trip():
    d = run("nvcc-arch", Hardware.stated("8.6"))
    assert Diagnosis.from_json(d.to_json()) == d
    with pytest.raises(ReproError):
        Diagnosis.from_json('{"findings": 1}')


def test_distribution_for_missing_modules():
    assert distribution("tensorboard") == "tensorboard"
    assert distribution("torch.utils.tensorboard") == "tensorboard"
    assert distribution("cv2") == "opencv-python"
    assert distribution("torch.nonexistent") is None  # torch is there; a submodule is not
    assert distribution("einops_like_local_module") == "einops_like_local_module"
    assert distribution("sqlite3") is None  # standard library


def test_normalize():
    assert normalize("\x1b[1merror:\x1b[0m  ‘AT_CHECK’\twas") == "error: 'AT_CHECK' was"


def test_every_diagnostic_row_matches_a_real_log():
    # the two the README names as not reproducible here are tested on their message text
    lines = [normalize(x) for p in LOGS.glob("*.log")
             for x in p.read_text(encoding="utf-8").splitlines()]
    unmatched = {d.id for d in kb.diagnostics()
                 if not any(re.search(rx, x) for rx in d.regex for x in lines)}
    assert unmatched == {"no-kernel-image", "torch-without-cuda"}


def test_fixes_by_kind_for_a_retry_loop():
    d = run("legacy-aten")
    assert [x.value for x in d.fixes()] == [
        "cpp-at-check", "cpp-thcudacheck", "cpp-thcceildiv", "cpp-dispatch-type"]
    assert [x.value for x in d.fixes(kinds=("pin",))] == [
        "torch<1.5", "torch<1.11", "torch<2.6"]
    assert run("weights").fixes(kinds=("env",)) == ()


def test_a_warning_line_is_no_error():
    # torch 1.x warns "Found no NVIDIA driver" when CUDA is first queried; only the
    # RuntimeError of a real CUDA call (cuda-call.log) is the no-nvidia-driver error
    text = ("/x/torch/cuda/__init__.py:52: UserWarning: CUDA initialization: Found no NVIDIA "
            "driver on your system. Please check that you have an NVIDIA GPU\n"
            "  return torch._C._cuda_getDeviceCount() > 0\n")
    d = diagnose(text)
    assert [(f.id, f.severity) for f in d.findings] == [("no-nvidia-driver", "warning")]
    assert d.fixes() == ()
    assert [f.severity for f in run("cuda-call").findings][:1] == ["error"]
    crash = run("exit-crash-torch171")
    assert [(f.id, f.severity) for f in crash.findings] == [("exit-crash", "error"),
                                                            ("no-nvidia-driver", "warning")]
    assert "SIGSEGV" in crash.findings[0].what


def test_a_signal_after_a_python_error_is_that_error():
    # torch 1.7.1's first MAE round: the RuntimeError of torch.cuda.synchronize(), then an
    # abort while the interpreter shut down: the error is the RuntimeError, not the crash
    text = ("Traceback (most recent call last):\n  File \"engine_pretrain.py\", line 9\n"
            "    torch.cuda.synchronize()\n"
            "RuntimeError: Found no NVIDIA driver on your system.\n"
            "free(): invalid next size (fast)\n"
            "repro reproduce: killed by signal SIGABRT (exit -6)\n")
    assert "exit-crash" not in {f.id for f in diagnose(text).findings}


def test_a_repositorys_own_module_is_not_proposed_for_installation(tmp_path):
    from repro_core.diagnose import own_module

    (tmp_path / "implementations" / "acgan").mkdir(parents=True)
    (tmp_path / "implementations" / "acgan" / "models.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    assert own_module(str(tmp_path), "models") == "implementations/acgan"
    assert own_module(str(tmp_path), "pkg.sub") == "."
    assert own_module(str(tmp_path), "tensorboard") == ""
    text = (LOGS / "tb.log").read_text(encoding="utf-8").replace("tensorboard", "models")
    d = diagnose(text, repo=str(tmp_path))
    top = d.findings[0]
    assert top.id == "module-not-found" and top.fixes == ()
    assert "the repository's own module (in implementations/acgan)" in top.advice
    assert diagnose(text).findings[0].fixes[0].value == "models"  # without the repository


def test_an_unbuilt_extension_of_the_repository_is_not_proposed_for_installation(tmp_path):
    """DCNv2's smoke run before its extension built (real log): `No module named '_ext'`,
    where `_ext` is what its setup.py builds (`extension("_ext", ...)`, CppExtension or
    CUDAExtension chosen at run time)."""
    from repro_core.diagnose import own_extension, own_module

    (tmp_path / "setup.py").write_text(
        "from torch.utils.cpp_extension import CppExtension, CUDAExtension\n"
        "extension = CppExtension\n"
        "ext_modules = [extension(\n    \"_ext\",\n    sources,\n)]\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "setup.py").write_text(
        "ext_modules = [CUDAExtension(name='model._C', sources=[]),\n"
        "               Extension('pycocotools._mask', sources=['pycocotools/_mask.pyx'])]\n")
    assert own_extension(str(tmp_path), "_ext") == "." == own_module(str(tmp_path), "_ext")
    assert own_extension(str(tmp_path), "model._C") == "lib"
    assert own_extension(str(tmp_path), "pycocotools") == "lib"
    assert own_extension(str(tmp_path), "torch") == "" == own_module(str(tmp_path), "numpy")
    text = (LOGS / "dcnv2-unbuilt-ext.log").read_text(encoding="utf-8")
    mnf = [f for f in diagnose(text, repo=str(tmp_path)).findings if f.id == "module-not-found"]
    assert len(mnf) == 1 and mnf[0].fixes == () and [x.number for x in mnf[0].lines] == [42]
    assert "own extension, declared in ./setup.py and not built" in mnf[0].advice
    without = [f for f in diagnose(text).findings if f.id == "module-not-found"]
    assert [(x.kind, x.value) for x in without[0].fixes] == [("install", "_ext")]
