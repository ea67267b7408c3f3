"""Sanity checks over the compatibility data, and cross-checks against real installs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from repro_core import compat, kb

RELEASES = kb.torch_releases()
TOOLKITS = kb.cuda_toolkits()
T110 = Path("/work/venvs/t110/bin/python")
LATEST_TORCH = Path("/work/venvs/latest/lib/python3.11/site-packages/torch")


def test_releases_ordered_and_unique():
    versions = [Version(r.version) for r in RELEASES]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    dates = [r.date for r in RELEASES if r.date]
    assert dates == sorted(dates)


@pytest.mark.parametrize("row", RELEASES, ids=lambda r: r.version)
def test_release_row(row):
    assert Version(row.python.min) <= Version(row.python.max)
    assert row.pypi_default in row.cuda_variants
    assert set(row.cuda_variants) <= set(row.arch_lists)
    for variant, arch in row.arch_lists.items():
        targets = compat.parse_arch_list(arch)
        assert targets, variant
        cuda = compat.variant_cuda(variant)
        lo, hi = (compat.parse_cc(c) for c in compat.nvcc_arch_range(cuda))
        # every arch in a wheel is one its CUDA toolkit can compile for
        assert all(lo <= t.cc <= hi for t in targets), (row.version, variant)
    # torchvision pair present for the release and each listed patch
    assert re.fullmatch(r"0\.\d+", row.torchvision)
    assert compat.torchvision_for(row.version).startswith(row.torchvision + ".")
    for patch, pair in row.patches.items():
        assert patch.startswith(row.version + ".")
        if pair.torchvision:
            assert pair.torchvision.startswith(row.torchvision + ".")
    assert row.numpy_built_against in ("1", "2")
    assert row.cxx_std in (11, 14, 17, 20)
    assert row.sources and set(row.sources) <= set(kb.sources("torch_releases"))


# `pip index versions torch --only-binary :all:` on PyPI for Python 3.7, 3.8 and 3.11
# (2026-11-30); 1.8.2 LTS lives on download.pytorch.org only.
PYPI_TORCH = """1.4.0 1.5.0 1.5.1 1.6.0 1.7.0 1.7.1 1.8.0 1.8.1 1.9.0 1.9.1 1.10.0 1.10.1 1.10.2
1.11.0 1.12.0 1.12.1 1.13.0 1.13.1 2.0.0 2.0.1 2.1.0 2.1.1 2.1.2 2.2.0 2.2.1 2.2.2 2.3.0 2.3.1
2.4.0 2.4.1 2.5.0 2.5.1 2.6.0 2.7.0 2.7.1 2.8.0 2.9.0 2.9.1 2.10.0 2.11.0 2.12.0 2.12.1 2.13.0
2.14.0 2.14.1 2.15.0""".split()


def test_patch_releases_are_the_published_ones():
    minors = {r.version for r in RELEASES}
    published = {v for v in PYPI_TORCH if v.rsplit(".", 1)[0] in minors} | {"1.8.2"}
    assert {v for r in RELEASES for v in r.patch_versions()} == published


def test_numpy_abi_switch_is_at_23():
    built = {r.version: r.numpy_built_against for r in RELEASES}
    assert built["2.2"] == "1" and built["2.3"] == "2"
    assert all(v == "1" for k, v in built.items() if Version(k) <= Version("2.2"))


@pytest.mark.parametrize("row", TOOLKITS, ids=lambda r: r.version)
def test_toolkit_row(row):
    assert compat.parse_cc(row.sm_min) < compat.parse_cc(row.sm_max)
    drivers = [Version(d) for d in row.drivers.values()]
    assert all(Version(row.min_driver) <= d for d in drivers)
    if Version(row.version) >= Version("11.0"):
        assert row.compat_driver_floor == kb.compat_driver_floors()[row.version.split(".")[0]]
        assert Version(row.compat_driver_floor) <= Version(row.min_driver) or \
            row.version == "11.0"


def test_toolkits_monotonic():
    vs = [Version(r.version) for r in TOOLKITS]
    assert vs == sorted(vs)
    assert [Version(r.min_driver) for r in TOOLKITS] == sorted(
        Version(r.min_driver) for r in TOOLKITS)
    maxes = [compat.parse_cc(r.sm_max) for r in TOOLKITS]
    assert maxes == sorted(maxes)
    bounds = [r.gcc_max_exclusive for r in TOOLKITS if r.gcc_max_exclusive]
    assert bounds == sorted(bounds)


def test_gpu_families_consistent():
    names = []
    for fam in kb.gpu_families():
        assert sorted(fam.cc, key=compat.parse_cc) == list(fam.cc)
        assert set(fam.gpus.values()) == set(fam.cc)
        names += fam.gpus
    assert len(names) == len(set(names))
    for name in names:  # every listed name resolves to itself
        assert compat.gpu_cc(name)[1] == name


def test_python_packages_ordered():
    for rows in (kb.numpy_releases(), kb.timm_releases()):
        vs = [Version(r.version) for r in rows]
        assert vs == sorted(vs)
    for r in kb.numpy_releases():
        assert Version(r.python.min) <= Version(r.python.max)


# --- cross-checks against real installs (skipped where absent) -----------------------------

@pytest.mark.skipif(not T110.exists(), reason="torch 1.10 venv not on this machine")
def test_kb_arch_list_matches_installed_torch110():
    out = subprocess.run(
        [str(T110), "-W", "ignore", "-c",
         "import torch; print(torch.__version__); print(torch._C._cuda_getArchFlags())"],
        capture_output=True, text=True, check=True).stdout.split("\n")
    build = compat.torch_build(out[0])
    assert compat.parse_arch_list(out[1].split()) == compat.parse_arch_list(build.arch_list)


@pytest.mark.skipif(not (LATEST_TORCH / "utils/cpp_extension.py").exists(),
                    reason="torch 2.x source not on this machine")
def test_gcc_bounds_match_cpp_extension():
    text = (LATEST_TORCH / "utils/cpp_extension.py").read_text()
    block = text[text.index("CUDA_GCC_VERSIONS"):text.index("MINIMUM_CLANG_VERSION")]
    bounds = {m[0]: int(m[1]) for m in re.findall(r"'(\d+\.\d+)': \(.*?, \((\d+), 0\)\)", block)}
    assert bounds
    for row in TOOLKITS:
        if row.version in bounds:
            assert row.gcc_max_exclusive == bounds[row.version], row.version


@pytest.mark.skipif(shutil.which("nvcc") is None and not Path("/usr/local/cuda/bin/nvcc").exists(),
                    reason="no nvcc")
def test_nvcc_range_matches_installed_nvcc():
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    ver = re.search(r"release (\d+\.\d+)", subprocess.run(
        [nvcc, "--version"], capture_output=True, text=True).stdout).group(1)
    codes = subprocess.run([nvcc, "--list-gpu-code"], capture_output=True, text=True).stdout.split()
    ccs = [compat.parse_cc(c) for c in codes if c.startswith("sm_")]
    assert compat.nvcc_arch_range(ver) == (compat.cc_str(min(ccs)), compat.cc_str(max(ccs)))


@pytest.mark.skipif(not (LATEST_TORCH / "utils/cpp_extension.py").exists(),
                    reason="torch 2.x source not on this machine")
def test_named_arches_match_cpp_extension():
    text = (LATEST_TORCH / "utils/cpp_extension.py").read_text()
    block = text[text.index("named_arches = "):text.index("supported_arches")]
    assert dict(re.findall(r"\('([\w+]+)', '([\d.;+PTX]+)'\)", block)) == kb.named_arches()


def test_timm_torch_bound_agrees_with_breakage_rule():
    """The timm/torch table (doctor) and the timm breakage rule (scan/plan) state one fact."""
    from repro_core import rules

    rule = rules.by_id("timm-032-torch-six")
    (spec,) = rule.requirement.specifier  # e.g. "<1.8"
    for row in kb.timm_releases():
        if Version(row.version) < Version("0.4.5"):
            assert spec.operator == "<" and row.torch_max_exclusive == spec.version
