"""Sanity checks over the compatibility data, and cross-checks against real installs."""

import ast
import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

from repro_core import compat, kb
from repro_core.probe import host

RELEASES = kb.torch_releases()
TOOLKITS = kb.cuda_toolkits()


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
# (2026-11-30), and 1.0.0-1.3.1 from the PyPI simple API's file list (2026-12-01: cp27, cp35,
# cp36 and cp37 manylinux1 wheels each); 1.8.2 LTS and every 0.x release live on
# download.pytorch.org only (the simple API lists no 0.x file).
PYPI_TORCH = """1.0.0 1.0.1 1.1.0 1.2.0 1.3.0 1.3.1
1.4.0 1.5.0 1.5.1 1.6.0 1.7.0 1.7.1 1.8.0 1.8.1 1.9.0 1.9.1 1.10.0 1.10.1 1.10.2
1.11.0 1.12.0 1.12.1 1.13.0 1.13.1 2.0.0 2.0.1 2.1.0 2.1.1 2.1.2 2.2.0 2.2.1 2.2.2 2.3.0 2.3.1
2.4.0 2.4.1 2.5.0 2.5.1 2.6.0 2.7.0 2.7.1 2.8.0 2.9.0 2.9.1 2.10.0 2.11.0 2.12.0 2.12.1 2.13.0
2.14.0 2.14.1 2.15.0""".split()


def test_patch_releases_are_the_published_ones():
    minors = {r.version for r in RELEASES}
    published = {v for v in PYPI_TORCH if v.rsplit(".", 1)[0] in minors} | {"1.8.2", "0.4.0",
                                                                             "0.4.1"}
    assert {v for r in RELEASES for v in r.patch_versions()} == published
    # the kb marks the patches not on PyPI with their index (plan prefers PyPI patches)
    elsewhere = {v: r.patch(v).index for r in RELEASES for v in r.patch_versions()
                 if not r.on_pypi(v)}
    assert elsewhere == {"1.8.2": "https://download.pytorch.org/whl/lts/1.8",
                         "0.4.0": "https://download.pytorch.org/whl/cu90",
                         "0.4.1": "https://download.pytorch.org/whl/cu90"}


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


# --- cross-checks against the torch and nvcc installed here (each nox row has its own) -----


def _installed_torch() -> Path:
    """The folder of the torch installed in this interpreter, found without importing it."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("torch is not installed in this interpreter (the tests-core row)")
    return Path(list(spec.submodule_search_locations)[0])


def _torch_is_newest_in_kb() -> bool:
    newest = Version(RELEASES[-1].version).release
    return Version(metadata.version("torch")).release[:2] == newest


def _assigned(path: Path, name: str) -> ast.expr:
    """The expression assigned to ``name`` in a source file (parsed, never run)."""
    for node in ast.walk(ast.parse(path.read_text())):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.value
    pytest.skip(f"torch {metadata.version('torch')} has no {name} in {path.name}")


def test_kb_arch_list_matches_installed_torch():
    _installed_torch()
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c",
         "import torch; print(torch.__version__); print(torch.version.cuda); "
         "print(torch._C._cuda_getArchFlags() if torch.version.cuda else '')"],
        capture_output=True, text=True, check=True).stdout.split("\n")
    if out[1] == "None":
        pytest.skip(f"torch {out[0]} is a CPU-only build")
    build = compat.torch_build(out[0])
    assert build.cuda == out[1]
    assert compat.parse_arch_list(out[2].split()) == compat.parse_arch_list(build.arch_list)


def test_gcc_bounds_match_cpp_extension():
    """The kb's bounds are those of the newest torch; an older torch's were never looser."""
    table = _assigned(_installed_torch() / "utils" / "cpp_extension.py", "CUDA_GCC_VERSIONS")
    bounds = {ast.literal_eval(k): ast.literal_eval(v.elts[1])
              for k, v in zip(table.keys, table.values)}
    assert bounds
    kb_bounds = {r.version: r.gcc_max_exclusive for r in TOOLKITS}
    for cuda, bound in bounds.items():
        if kb_bounds.get(cuda) is None:  # no such toolkit row (e.g. 12.7), or no bound kept
            continue
        if _torch_is_newest_in_kb():
            assert (kb_bounds[cuda],) == tuple(bound[:1]) and not any(bound[1:]), cuda
        else:
            assert (kb_bounds[cuda],) >= tuple(bound), cuda


def test_named_arches_match_cpp_extension():
    """Each name torch knows means the same arch list in the kb; the newest torch knows them
    all."""
    call = _assigned(_installed_torch() / "utils" / "cpp_extension.py", "named_arches")
    named = dict(ast.literal_eval(call.args[0]))
    assert named and all(kb.named_arches().get(k) == v for k, v in named.items()), named
    if _torch_is_newest_in_kb():
        assert named == kb.named_arches()


def test_nvcc_range_matches_installed_nvcc():
    root = host.toolkit_root()
    if root is None:
        pytest.skip("no CUDA toolkit here (CUDA_HOME, nvcc on PATH)")
    nvcc = str(Path(root, "bin", "nvcc"))
    ver = re.search(r"release (\d+\.\d+)", subprocess.run(
        [nvcc, "--version"], capture_output=True, text=True).stdout).group(1)
    codes = subprocess.run([nvcc, "--list-gpu-code"], capture_output=True, text=True).stdout.split()
    ccs = [compat.parse_cc(c) for c in codes if c.startswith("sm_")]
    assert compat.nvcc_arch_range(ver) == (compat.cc_str(min(ccs)), compat.cc_str(max(ccs)))


def test_timm_torch_bound_agrees_with_breakage_rule():
    """The timm/torch table (doctor) and the timm breakage rule (scan/plan) state one fact."""
    from repro_core import rules

    rule = rules.by_id("timm-032-torch-six")
    (spec,) = rule.requirement.specifier  # e.g. "<1.8"
    for row in kb.timm_releases():
        if Version(row.version) < Version("0.4.5"):
            assert spec.operator == "<" and row.torch_max_exclusive == spec.version
