"""repro diagnose on real build/run logs of C++/CUDA extensions (tests/data/logs/, README
there: the roialign2019 fixture built before migration with g++/nvcc 13, and a GitHub issue's
`no kernel image` traceback). Expected ids, fixes and line numbers read off the logs by hand."""

from pathlib import Path

from repro_core.diagnose import diagnose
from repro_core.hardware import Hardware

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"


def _read(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


def test_thc_header_under_nvcc_names_the_migrate_rule():
    d = diagnose(_read("roialign2019_nvcc13_torch2141_THC-h.log"))
    top = d.findings[0]
    assert top.id == "cpp-thc-include" and [x.number for x in top.lines] == [1, 2]
    assert top.fixes[0].command == "repro migrate . --rules cpp-thc-include --write"
    assert (top.fixes[1].kind, top.fixes[1].value) == ("pin", "torch<1.11")


def test_dispatch_type_error_inside_torch_macro_leads_the_warnings():
    # torch 2.14 reports the error inside its own Dispatch.h, the call (split over two lines)
    # only in a note: the error text still names the rule, ahead of the deprecation warnings
    d = diagnose(_read("roialign2019_gcc_torch2141_dispatch-type.log"))
    assert [(f.id, f.severity) for f in d.findings[:2]] == [
        ("cpp-dispatch-type", "error"), ("cpp-type-is-cuda", "warning")]
    assert [x.number for x in d.findings[0].lines] == [74]
    assert d.findings[0].fixes[0].value == "cpp-dispatch-type"


def test_nvcc13_compute50_names_the_arch_list_and_the_flag_rule():
    log = _read("roialign2019_nvcc13_compute50.log")
    assert log.strip() == "nvcc fatal   : Unsupported gpu architecture 'compute_50'"
    d = diagnose(log, Hardware.stated("RTX 4090"))
    top = d.findings[0]
    assert top.id == "nvcc-unsupported-arch" and top.rules == ("cuda-arch-pre-turing",)
    assert top.fixes[0].command == "export TORCH_CUDA_ARCH_LIST='8.9'"
    assert top.fixes[1].command == "repro migrate . --rules cuda-arch-pre-turing --write"


def test_no_kernel_image_real_traceback_names_torch_cuda_arch_list():
    # from a GitHub issue (source in the README): torch built for sm_37..sm_70 on an sm_86 GPU
    d = diagnose(_read("github_FeatDepth-68_no-kernel-image.log"))
    top = d.findings[0]
    assert top.id == "no-kernel-image" and [x.number for x in top.lines] == [16]
    assert (top.fixes[0].kind, top.fixes[0].value) == ("arch", "8.6")  # from the warning
    assert top.fixes[0].command == "export TORCH_CUDA_ARCH_LIST='8.6'"
    # the GPU given on the command line wins over the one the log names
    d = diagnose(_read("github_FeatDepth-68_no-kernel-image.log"), Hardware.stated("H100"))
    assert d.findings[0].fixes[0].value == "9.0"
