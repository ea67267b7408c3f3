"""One test per compatibility rule, against hand-checked cases (see docs/doctor.md)."""

import pytest

from repro_core import compat
from repro_core.errors import ReproError


@pytest.mark.parametrize("text,cc", [
    ("8.9", (8, 9)), ("89", (8, 9)), ("sm_89", (8, 9)), ("compute_90", (9, 0)),
    ("9.0a", (9, 0)), ("sm_90a", (9, 0)), ("120", (12, 0)), ("sm_100", (10, 0)), ("7", (7, 0)),
    (" 12.1 ", (12, 1)),
])
def test_parse_cc(text, cc):
    assert compat.parse_cc(text) == cc


@pytest.mark.parametrize("bad", ["", "x", "8.9.1", "4090", "sm_", "8.10"])
def test_parse_cc_rejects(bad):
    with pytest.raises(ReproError):
        compat.parse_cc(bad)


def test_parse_arch_list_both_forms_agree():
    a = compat.parse_arch_list("8.0;8.6+PTX")
    b = compat.parse_arch_list(["sm_80", "sm_86", "compute_86"])
    assert a == b
    assert [(t.cc, t.sass, t.ptx) for t in a] == [((8, 0), True, False), ((8, 6), True, True)]


def test_named_arches_expand_like_torch():
    assert compat.parse_arch_list("Ampere;Hopper") == compat.parse_arch_list("8.0;8.6+PTX;9.0+PTX")
    assert compat.can_run("Ampere", "8.9").ok is True
    assert compat.can_run("Kepler+Tesla", "5.0").ok is False  # 3.7 SASS only, no PTX


# --- SASS: same major, minor >= ------------------------------------------------------------

def test_sm89_runs_cu113_110_build_via_sm86():
    v = compat.can_run(compat.torch_build("1.10.2+cu113").arch_list, "8.9")
    ok, why = v.ok, v.reason
    assert ok and "sm_86" in why


def test_h100_cannot_run_110_cu113():
    v = compat.can_run(compat.torch_build("1.10.2+cu113").arch_list, "9.0")
    ok, why = v.ok, v.reason
    assert not ok and "9.0" in why


def test_h100_runs_20_cu118():
    v = compat.can_run(compat.torch_build("2.0.1+cu118").arch_list, "9.0")
    ok, why = v.ok, v.reason
    assert ok and "sm_90" in why


def test_h100_cannot_run_20_cu117():
    assert compat.can_run(compat.torch_build("2.0.0+cu117").arch_list, "9.0").ok is False


def test_sass_never_runs_on_lower_minor():
    # sm_86 SASS does not run on an 8.0 A100; an sm_80 entry is needed.
    assert compat.can_run("8.6", "8.0").ok is False
    assert compat.can_run("8.0;8.6", "8.0") == compat.Verdict(
        True, "sass", "sm_80 SASS matches the GPU's 8.0 exactly")


def test_sass_never_runs_across_majors():
    assert compat.can_run("8.6", "9.0").ok is False
    assert compat.can_run(["sm_90"], "10.0").ok is False


# --- PTX: JIT forward, across majors -------------------------------------------------------

def test_ptx_jits_forward_across_majors():
    v = compat.can_run("3.7+PTX;5.0", "9.0")  # torch 1.4/1.5 lists
    ok, why = v.ok, v.reason
    assert ok and "compute_37" in why and "JIT" in why
    v = compat.can_run(["sm_80", "sm_86", "compute_86"], "12.0")
    ok, why = v.ok, v.reason
    assert ok and "compute_86" in why


def test_ptx_does_not_run_backwards():
    assert compat.can_run(["compute_90"], "8.9").ok is False


def test_sass_preferred_over_ptx():
    v = compat.can_run("7.5;8.0;8.6;9.0;10.0;12.0+PTX", "12.0")
    ok, why = v.ok, v.reason
    assert ok and "sm_120" in why and "JIT" not in why


def test_arch_specific_target_runs_only_on_its_cc():
    assert compat.can_run("9.0a", "9.0").ok is True
    assert compat.can_run("10.0a", "10.3").ok is False


def test_cpu_build_runs_no_kernels():
    v = compat.can_run("", "8.9")
    ok, why = v.ok, v.reason
    assert not ok and "CPU-only" in why
    assert compat.torch_build("1.13.1+cpu").arch_list == ""


def test_blackwell_needs_cu128():
    assert compat.can_run(compat.torch_build("2.6.0+cu126").arch_list, "12.0").ok is False
    assert compat.can_run(compat.torch_build("2.7.0+cu128").arch_list, "12.0").ok is True


def test_v100_on_cu130_not_ok():
    v = compat.can_run(compat.torch_build("2.9.0+cu130").arch_list, "7.0")
    ok, why = v.ok, v.reason
    assert not ok and "7.0" in why
    assert compat.can_run(compat.torch_build("2.9.0+cu126").arch_list, "7.0").ok is True


# --- how it runs: Verdict.via, against hand-worked arch lists ------------------------------

@pytest.mark.parametrize("arch,gpu,via", [
    ("3.7;5.0;6.0;7.0;7.5;8.0;8.6", "8.9", "sass"),  # 1.10.2+cu113 on a 4090: sm_86, 6 <= 9
    ("3.7;5.0;6.0;7.0;7.5;8.0;8.6", "9.0", "none"),  # ... on an H100: no 9.x SASS, no PTX
    ("3.7+PTX;5.0", "9.0", "ptx"),  # compute_37 JIT-compiles forward across majors
    ("3.7+PTX;5.0", "5.2", "sass"),  # sm_50 runs on 5.2: SASS is preferred to PTX
    (["sm_80", "sm_86", "compute_86"], "12.0", "ptx"),
    (["sm_80", "sm_86", "compute_86"], "8.0", "sass"),
    ("7.5;8.0;8.6;9.0;10.0;12.0+PTX", "12.1", "sass"),  # sm_120 runs on 12.1
    ("8.6+PTX", "8.0", "none"),  # neither SASS nor PTX runs on a lower capability
    (["compute_80"], "8.6", "ptx"),
    ("9.0a", "9.0", "sass"),
    ("10.0a", "10.3", "none"),  # an arch-specific target runs only on its own capability
    ("", "8.9", "none"),  # a CPU build
])
def test_verdict_via(arch, gpu, via):
    v = compat.can_run(arch, gpu)
    assert (v.ok, v.via) == (via != "none", via)


# --- nvcc targets --------------------------------------------------------------------------

def test_nvcc_arch_range():
    assert compat.nvcc_arch_range("13.0") == ("7.5", "12.1")
    assert compat.nvcc_arch_range("V11.8.89") == ("3.5", "9.0")
    assert compat.nvcc_arch_range("12.8") == ("5.0", "12.0")


def test_nvcc13_cannot_target_volta():
    arch, why = compat.best_arch("7.0", "13.0")
    assert arch is None and "7.5-12.1" in why


def test_best_arch_own_cc():
    assert compat.best_arch("8.9", "13.0")[0] == "8.9"
    assert compat.best_arch("sm_89", "11.8")[0] == "8.9"


def test_best_arch_falls_back_within_major_skipping_embedded():
    # nvcc 11.4-11.7 top out at 8.7 (Jetson Orin): a discrete 8.9 gets sm_86, whose SASS runs.
    arch, why = compat.best_arch("8.9", "11.4")
    assert arch == "8.6" and "same major" in why
    assert compat.best_arch("12.1", "12.8")[0] == "12.0"


def test_best_arch_none_across_major():
    arch, why = compat.best_arch("9.0", "11.3")
    assert arch is None and "newer CUDA" in why


def test_unknown_cuda_is_an_error():
    with pytest.raises(ReproError, match="CUDA 14.7"):
        compat.nvcc_arch_range("14.7")


def test_nvcc_must_match_torch_cuda_major():
    assert compat.nvcc_torch_ok("13.0.88", "13.0")[0] is True
    ok, why = compat.nvcc_torch_ok("13.0", "12.8")
    assert not ok and "major" in why
    assert compat.nvcc_torch_ok("11.8", "11.3") == (
        True, "nvcc 11.8 vs torch's CUDA 11.3: same major (cpp_extension only warns)")


def test_gcc_bound_is_exclusive():
    assert compat.gcc_ok("12.2.0", "13.0")[0] is True
    assert compat.gcc_ok("11.4.0", "11.3")[0] is False
    assert compat.gcc_ok("10.5.0", "11.3")[0] is True
    assert compat.gcc_ok("8.4.0", "10.2")[0] is None


# --- drivers -------------------------------------------------------------------------------

def test_driver_470_runs_cuda118_via_minor_version_compat():
    ok, why = compat.driver_ok("470.82.01", "11.8")
    assert ok and "minor-version" in why


def test_driver_470_cannot_run_cuda121():
    ok, why = compat.driver_ok("470.82.01", "12.1")
    assert not ok and "530.30.02" in why and "525" in why


def test_driver_exact_minimum_and_pre11():
    assert compat.driver_ok("520.61.05", "11.8") == (
        True, "driver 520.61.05 >= 520.61.05, the CUDA 11.8 driver")
    # No minor-version compatibility before CUDA 11.
    assert compat.driver_ok("418.39", "10.2")[0] is False
    assert compat.driver_ok("440.33", "10.2")[0] is True
    assert compat.min_driver("12.4") == "550.54.14"
    assert compat.compat_driver_floor("13.0") == "580.65.06"
    assert compat.compat_driver_floor("10.2") is None


def test_max_cuda_for_driver():
    assert compat.max_cuda_for_driver("470.82.01") == "11.4"
    assert compat.max_cuda_for_driver("535.104.05") == "12.2"
    assert compat.max_cuda_for_driver("580.95.05") == "13.0"
    assert compat.max_cuda_for_driver("300.1") is None


# --- torch builds, python, numpy, timm -----------------------------------------------------

def test_torch_build_lookup():
    b = compat.torch_build("1.10.2+cu113")
    assert (b.cuda, b.arch_list, b.python_min, b.python_max) == (
        "11.3", "3.7;5.0;6.0;7.0;7.5;8.0;8.6", "3.6", "3.9")
    assert b.torchvision == "0.11.3" and b.spec == "1.10.2+cu113"
    assert compat.torch_build("2.1.0").variant == "cu121"  # the PyPI default
    assert compat.torch_build("1.8.0+cu111").arch_list == "5.0;7.0;8.0;8.6"  # patch-specific
    assert compat.torch_build("2.1.2+cu118").version == "2.1.2"  # a real patch release
    assert compat.torch_build("1.10").version == "1.10.0"


@pytest.mark.parametrize("text", ["535.104.05", "384.81", " 470.57.02 ", "535"])
def test_driver_version(text):
    assert compat.driver_version(text) == text.strip()


@pytest.mark.parametrize("text", ["abc", "", "535.", "535.104.05.1", "v535.1", "1.0rc1"])
def test_driver_version_refused(text):
    with pytest.raises(ReproError, match=r"^not an NVIDIA driver version: "):
        compat.driver_version(text)


@pytest.mark.parametrize("bad,msg", [
    ("1.10.2+cu999", "no cu999 wheel"), ("banana", "not VERSION"), ("9.9.0+cu118", "not in"),
    ("1.10.2+rocm4.2", "not VERSION"),
    ("1.10.9+cu113", r"^torch 1.10.9 was never released \(known 1.10 releases: 1.10.0, 1.10.1, "
                     r"1.10.2\)$"),  # issue 14: was accepted
    ("2.1.3", "never released"), ("1.4.1+cpu", "never released"),
])
def test_torch_build_errors(bad, msg):
    with pytest.raises(ReproError, match=msg):
        compat.torch_build(bad)


def test_variant_cuda():
    assert [compat.variant_cuda(v) for v in ("cu92", "cu102", "cu113", "cu130", "cpu")] == [
        "9.2", "10.2", "11.3", "13.0", None]


def test_python_range():
    assert compat.python_ok("1.10.2", "3.9.18")[0] is True
    assert compat.python_ok("1.10.2", "3.11.7")[0] is False
    assert compat.python_ok("1.8.2", "3.9")[0] is False  # the LTS patch stopped at 3.8
    assert compat.python_ok("1.8.1", "3.9")[0] is True


def test_numpy2_with_torch22_not_ok():
    ok, why = compat.numpy_abi_ok("2.2.2", "2.0.1")
    assert not ok and "numpy<2" in why


def test_numpy_abi_ok_cases():
    assert compat.numpy_abi_ok("2.3.0", "2.1.0")[0] is True
    assert compat.numpy_abi_ok("2.3.0", "1.26.4")[0] is True
    assert compat.numpy_abi_ok("1.10.2+cu102", "1.21.6")[0] is True


def test_numpy_python_range():
    assert compat.numpy_python_range("1.21.6") == ("3.7", "3.9")
    assert compat.numpy_python_range("2.4.6") == ("3.11", "3.14")
    assert compat.numpy_python_range("1.10.0") is None


def test_timm_on_torch():
    assert compat.timm_torch_ok("0.3.2", "1.10.2")[0] is False
    # issue 9: torch/_six.py of the 1.8.0 and 1.8.1 wheels still defines container_abcs (and
    # `import timm` 0.3.2 works on torch 1.8.1); the 1.9.0 wheel's does not (ImportError)
    assert compat.timm_torch_ok("0.3.2", "1.8.1")[0] is True
    assert compat.timm_torch_ok("0.3.4", "1.8.0")[0] is True
    assert compat.timm_torch_ok("0.3.2", "1.9.0")[0] is False
    assert compat.timm_torch_ok("0.3.2", "1.7.1")[0] is True
    assert compat.timm_torch_ok("0.4.12", "1.10.2+cu102")[0] is True
    assert compat.timm_torch_ok("0.6.12", "1.6.0")[0] is False
    assert compat.timm_torch_ok("1.0.31", "2.14.1")[0] is True


@pytest.mark.parametrize("name,cc", [
    ("RTX 4090", (8, 9)), ("NVIDIA GeForce RTX 4090", (8, 9)), ("H100", (9, 0)),
    ("NVIDIA H100 80GB HBM3", (9, 0)), ("A100-SXM4-80GB", (8, 0)), ("NVIDIA A10G", (8, 6)),
    ("Tesla V100-SXM2-16GB", (7, 0)), ("Tesla T4", (7, 5)), ("NVIDIA L40S", (8, 9)),
    ("NVIDIA L4", (8, 9)), ("NVIDIA GeForce RTX 5090", (12, 0)),
    ("NVIDIA GeForce GTX 1080 Ti", (6, 1)),
    ("NVIDIA RTX 6000 Ada Generation", (8, 9)), ("Quadro RTX 6000", (7, 5)),
    ("NVIDIA TITAN X (Pascal)", (6, 1)), ("GeForce GTX TITAN X", (5, 2)), ("8.9", (8, 9)),
])
def test_gpu_names(name, cc):
    assert compat.gpu_cc(name)[0] == cc


def test_unknown_gpu_name():
    with pytest.raises(ReproError, match="unknown GPU"):
        compat.gpu_cc("Radeon RX 7900")
