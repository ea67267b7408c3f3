"""Issue 9's stated-stack targets: torch 0.4-1.3 in the knowledge base (facts checked against
the PyPI listing, not the json), and the reference date bounding the torch range exact
candidates keep (releases published after the code are forward-ports)."""

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from repro_core import compat, kb
from repro_core.hardware import Hardware
from repro_core.plan import exact_torch, plan
from repro_core.scan.report import Evidence, ScanReport


def report(constraints, evidence=(), date=None, source="git HEAD commit 0123456789"):
    return ScanReport(path="x", reference_date=date,
                      date_sources=(f"{source} ({date})",) if date else (), requirements=(),
                      constraints=constraints, evidence=tuple(evidence), extensions=(),
                      findings=())


def ev(package, spec, kind="requirements", path="requirements.txt", line=1):
    return Evidence(package, spec, path, line, "stated", kind)


# The PyPI simple API (2026-12-01): each of these has cp27, cp35, cp36 and cp37
# manylinux1_x86_64 wheels, uploaded on these days; torch/version.py of the cp36 wheel says
# which CUDA the PyPI build is. PyPI lists no torch 0.x file at all.
PYPI = {"1.0.0": ("2018-12-07", "9.0"), "1.0.1": ("2019-02-05", "9.0"),
        "1.1.0": ("2019-04-30", "9.0"), "1.2.0": ("2019-08-08", "10.0"),
        "1.3.0": ("2019-10-10", "10.1"), "1.3.1": ("2019-11-07", "10.1")}


@pytest.mark.parametrize("version", sorted(PYPI))
def test_old_releases_match_the_registry(version):
    day, cuda = PYPI[version]
    row = compat.torch_release(version)
    assert row.on_pypi(version)
    assert compat.torch_build(version).cuda == cuda  # the PyPI default variant
    assert (row.patch(version).date or row.date) == day
    for py in ("3.5", "3.6", "3.7"):
        assert compat.python_ok(version, py)[0], py
    assert not compat.python_ok(version, "3.8")[0]


def test_torch_04_is_known_but_not_on_pypi():
    row = kb.torch_release("0.4")
    assert row.patch_versions() == {"0.4.0", "0.4.1"}
    assert not row.on_pypi("0.4.0") and not row.on_pypi("0.4.1")
    # torchvision pairs seen on PyPI: 0.4.2 uploaded with 1.3.1, 0.4.0 with 1.2.0
    assert compat.torchvision_for("1.3.1") == "0.4.2"
    assert compat.torchvision_for("1.2.0") == "0.4.0"


def test_a_lower_bound_and_a_date_keep_the_releases_published_by_then():
    # 1.7 came out on 2020-10-27, 1.8 on 2021-03-04: a 2021-02-25 repository saying torch>=1.0
    r = report({"torch": ">=1.0"}, [ev("torch", ">=1.0", "readme", "README.md", 7)],
               date="2021-02-25")
    rng = exact_torch(r)
    spec = SpecifierSet(rng.spec)
    assert "1.7.1" in spec and "1.0.0" in spec and "1.8.0" not in spec
    p = plan(r, Hardware())
    first = p.candidates[0]
    assert (first.torch, first.strategy) == ("1.7.1", "exact")
    assert p.decided_by["torch"] == ("README.md:7 torch>=1.0 (readme); reference date 2021-02-25 "
                                     "(git HEAD commit 0123456789): torch<1.8 (releases "
                                     "published by then)")
    assert "decided by README.md:7" in first.reasons[0]
    # later releases are still offered, as forward-ports
    assert all(c.strategy == "forward-port" for c in p.candidates
               if Version(c.torch) >= Version("1.8"))
    assert any(c.torch.startswith("2.") for c in p.candidates)


def test_no_statement_means_the_torch_current_at_the_date():
    # nothing stated, code of 2020-06-01: 1.5 (2020-04-21) is current, 1.6 comes 2020-07-28
    r = report({"torch": ""}, date="2020-06-01", source="arXiv:2006.00001")
    assert SpecifierSet(exact_torch(r).spec) == SpecifierSet(">=1.5,<1.6")
    p = plan(r, Hardware())
    assert (p.candidates[0].torch, p.candidates[0].strategy) == ("1.5.1", "exact")
    assert "reference date 2020-06-01 (arXiv:2006.00001)" in p.decided_by["torch"]
    # a forward-port is newer than the code, never an older torch
    assert all(Version(c.torch) >= Version("1.5") for c in p.candidates
               if c.strategy == "forward-port")


def test_a_pin_is_kept_even_past_the_date():
    r = report({"torch": "==1.13.1"}, [ev("torch", "==1.13.1")], date="2020-06-01")
    assert exact_torch(r).spec == "==1.13.1" and exact_torch(r).by == ""
    assert plan(r, Hardware()).candidates[0].torch == "1.13.1"


def test_a_floor_newer_than_the_date_keeps_its_own_release():
    # an arXiv date can predate the code: torch>=1.3 with a 2017 paper date keeps 1.3.x
    r = report({"torch": ">=1.3"}, [ev("torch", ">=1.3")], date="2017-11-01")
    assert SpecifierSet(exact_torch(r).spec) == SpecifierSet(">=1.3,<1.4")
    assert plan(r, Hardware()).candidates[0].torch == "1.3.1"


def test_without_a_date_a_lower_bound_is_a_caret_range():
    r = report({"torch": ">=1.0"}, [ev("torch", ">=1.0")])
    assert SpecifierSet(exact_torch(r).spec) == SpecifierSet(">=1.0,==1.*")


def test_pytorch_gan_gets_its_04_torch():
    # requirements.txt torch>=0.4.0 and `loss.data[0]` (torch<1.0), PyTorch-GAN 2021-01-06
    r = report({"torch": "<1.0,>=0.4.0"}, [ev("torch", ">=0.4.0"),
                                            ev("torch", "<1.0", "api", "gan.py", 9)],
               date="2021-01-06")
    p = plan(r, Hardware())
    c = p.candidates[0]
    assert (c.torch_build, c.python, c.strategy) == ("0.4.1+cpu", "3.7", "exact")
    # a GPU the 0.4 wheels have no code for (sm_89) gets a forward-port instead
    g = plan(r, Hardware.stated("8.9")).candidates[0]
    assert g.strategy == "forward-port"


def test_old_arch_lists_are_the_builders():
    # pytorch/builder manywheel/build.sh: 44d9bfa6 (2018-04-19, the 0.4.0 build) gave CUDA 9.0
    # "3.5;5.0+PTX" + "6.0;6.1;7.0"; 027edf5b (before 0.4.1) "6.0;7.0"; 758e54f2 (2019-08-04)
    # CUDA 10.0 "6.0;6.1;7.0;7.5"
    row = kb.torch_release("0.4")
    assert row.arch_lists_at("0.4.0")["cu90"] == "3.5;5.0+PTX;6.0;6.1;7.0"
    assert row.arch_lists_at("0.4.1")["cu90"] == "3.5;5.0+PTX;6.0;7.0"
    assert compat.torch_build("1.2.0+cu100").arch_list == "3.5;5.0+PTX;6.0;6.1;7.0;7.5"


def test_a_turing_gpu_runs_the_04_cu90_wheel():
    # sm_70 SASS runs on a 7.5 GPU (same major); the cu80 wheel has only compute_50 PTX for it
    r = report({"torch": "<1.0,>=0.4.0"}, [ev("torch", ">=0.4.0")], date="2019-01-01")
    c = plan(r, Hardware.stated("7.5")).candidates[0]
    assert (c.torch_build, c.strategy) == ("0.4.1+cu90", "exact")
