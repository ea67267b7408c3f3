"""plan(): candidates from a scan and the hardware, checked against the compat facts."""

import json

import pytest

from repro_core import compat
from repro_core.errors import BadValue, ReproError
from repro_core.hardware import GpuDevice, Hardware
from repro_core.plan import Plan, plan, plan_path
from repro_core.scan import scan
from repro_core.scan.report import Evidence, Finding, Requirement, ScanReport

REPOS = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "repos"


def report(constraints, findings=(), requirements=(), extensions=()):
    return ScanReport(path="x", reference_date=None, date_sources=(),
                      requirements=tuple(requirements), constraints=constraints,
                      evidence=(), extensions=tuple(extensions), findings=tuple(findings))


def _runs(c, cc):
    return compat.can_run(compat.torch_build(c.torch_build).arch_list, cc).ok


def test_h100_never_gets_a_cu113_build():
    r = report({"torch": "==1.10.2", "cuda": "==11.3.*"})
    p = plan(r, Hardware.stated("H100"))
    assert p.gpu == "9.0"
    assert p.candidates, p.notes
    for c in p.candidates:
        assert c.cuda != "11.3" and _runs(c, "9.0")
    top = p.candidates[0]
    assert top.strategy == "forward-port"
    assert top.torch.startswith("2.0") and top.cuda == "11.8"  # the first torch with sm_90
    assert any("no exact candidate" in n for n in p.notes)


def test_exact_when_the_hardware_runs_the_stated_build():
    r = report({"torch": "==1.10.2", "cuda": "==11.3.*", "python": "<3.10"})
    p = plan(r, Hardware.stated("RTX 3090"))
    top = p.candidates[0]
    assert (top.strategy, top.torch, top.cuda, top.torch_build) == (
        "exact", "1.10.2", "11.3", "1.10.2+cu113")
    assert top.python == "3.9" and top.torchvision == compat.torchvision_for("1.10.2")
    assert not top.migrations


def test_forward_port_lists_migrations():
    finds = [Finding("torch-six", "u.py", 3, "m", "f", bound="torch<2.0"),
             Finding("np-builtin-aliases", "p.py", 5, "m", "f", bound="numpy<1.24"),
             Finding("torch-load-weights-only", "p.py", 9, "m", "f", bound="torch<2.6")]
    r = report({"torch": "<2.0", "numpy": "<1.24"}, findings=finds)
    p = plan(r, Hardware.stated("9.0"))
    assert all(c.strategy == "forward-port" for c in p.candidates)
    first = p.candidates[0]
    assert first.torch.startswith("2.0.")
    assert first.migrations == ("torch-six",)  # numpy stays < 1.24: no migration needed
    assert first.numpy and compat.numpy_abi_ok(first.torch, first.numpy)[0]
    newest = p.candidates[-1]
    assert "torch-load-weights-only" in newest.migrations


def test_lower_bounds_are_kept_by_forward_ports():
    r = report({"torch": ">=2.0"})
    for c in plan(r, Hardware.stated("8.9")).candidates:
        assert compat.torch_release(c.torch).version not in ("1.13", "1.12")


def test_no_candidate_is_a_clear_error():
    r = report({"torch": ">=2.9"})
    with pytest.raises(ReproError, match="no candidate environment.*3.7"):
        plan(r, Hardware.stated("3.7"))  # Kepler: no cu12x/cu13x wheel runs it


def test_driver_limits_the_cuda_variant():
    r = report({"torch": "==2.1.*"})
    (c, *_) = plan(r, Hardware.stated("8.6", driver="470.57.02")).candidates
    assert c.cuda == "11.8"  # 470 runs CUDA 11.x via minor-version compatibility, not 12.1
    assert compat.driver_ok("470.57.02", c.cuda)[0]


def test_cpu_only_plan():
    p = plan(report({"torch": "==1.13.1"}), Hardware())
    assert p.gpu is None and p.candidates[0].torch_build == "1.13.1+cpu"


def test_timm_pin_and_torch():
    r = report({"torch": "", "timm": "==0.3.2"},
               requirements=[Requirement("timm", "==0.3.2", "requirements.txt:1")])
    for c in plan(r, Hardware.stated("8.0")).candidates:
        if c.strategy == "exact":
            assert c.timm == "0.3.2"
            assert compat.timm_torch_ok("0.3.2", c.torch)[0] is not False


def test_plan_on_fixture_repos_and_json_round_trip(tmp_path):
    p = plan(scan(REPOS / "style2021"), Hardware.stated("RTX 4090"))
    top = p.candidates[0]
    assert top.strategy == "exact" and top.torch == "1.7.1" and top.timm == "0.3.2"
    assert _runs(top, "8.9")
    assert Plan.from_json(p.to_json()) == p
    p2 = plan(scan(REPOS / "legacy2018"), Hardware.stated("8.9"))
    assert all(c.strategy == "forward-port" for c in p2.candidates)
    assert "torch-utils-ffi" in p2.candidates[0].migrations
    saved = tmp_path / "scan.json"
    saved.write_text(scan(REPOS / "style2023").to_json())
    p3 = plan_path(str(saved), Hardware.stated("9.0"))
    assert json.loads(p3.to_json())["candidates"][0]["torch"].startswith("2.")
    assert all(set(json.loads(p3.to_json())["candidates"][0]) >= {
        "python", "torch", "torchvision", "cuda", "timm", "numpy", "strategy", "migrations",
        "reasons"} for _ in [0])


def test_unknown_gpu_name_is_an_error():
    with pytest.raises(ReproError, match="unknown GPU"):
        plan(report({}), Hardware.stated("Voodoo 5"))


def test_evidence_type_unused_is_fine():
    assert Evidence("torch", "", "a", 1, "r")


def test_mae_layout_plans():
    r = scan(REPOS / "mae_layout")
    (top, *rest) = plan(r, Hardware.stated("RTX 4090")).candidates
    # timm==0.3.2 (asserted in main_pretrain.py) -> torch < 1.9: the newest 1.8 patch on PyPI
    # (1.8.1; 1.8.2 LTS lives on its own index); sm_86 SASS of its cu111 build runs on 8.9
    assert (top.strategy, top.torch_build, top.timm) == ("exact", "1.8.1+cu111", "0.3.2")
    assert top.numpy and compat.numpy_abi_ok(top.torch, top.numpy)[0]
    h100 = plan(r, Hardware.stated("H100")).candidates
    assert all(c.strategy == "forward-port" and _runs(c, "9.0") for c in h100)
    first = h100[0]
    assert first.torch.startswith("2.0.") and first.cuda == "11.8"
    assert first.timm == "0.4.5"  # the oldest timm without torch._six, below qk_scale's removal
    assert {"torch-six", "torch-distributed-local-rank"} <= set(first.migrations)
    assert "timm-block-qk-scale" not in first.migrations


def test_bound_from_a_pin_outranks_readme_prose():
    from repro_core.scan.combine import constraints
    from repro_core.scan.report import Evidence

    r = scan(REPOS / "mae_layout")
    assert "<1.9" in r.constraints["torch"]  # timm==0.3.2 (asserted) -> torch < 1.9
    # "a fix is needed to work with PyTorch 1.8.1+" is not read as a requirement ...
    assert not [e for e in r.evidence if e.package == "torch" and e.path == "README.md"]
    # ... and had it been, the bound derived from the pin (rank of the assert) would win
    (pin,) = [e for e in r.evidence if e.reason.startswith("rule timm-032")][:1]
    cons, (c,), _ = constraints([pin, Evidence("torch", ">=1.9.0", "README.md", 9, "", "readme")])
    assert cons["torch"] == "<1.9" and c.dropped.path == "README.md"


# --- plan(report, hardware): pure, the same plan for probed or stated hardware --------------

# (strategy, torch build, python, timm, numpy, migrations) as main planned them before plan
# took a Hardware (`repro plan tests/data/repos/mae_layout --gpu 9.0 --driver 450.80.02`);
# since the knowledge base lists every patch release, the newest patches of 2.1 and 2.7; since
# forward-ports take the oldest Python their torch has wheels for, 3.8 (2.0, 2.1) and 3.9 (2.7)
MAE_H100_DRIVER450 = [
    ("forward-port", "2.0.1+cu118", "3.8", "0.4.5", "1.23.0",
     ("timm-032-torch-six", "torch-distributed-local-rank", "torch-six")),
    ("forward-port", "2.1.2+cu118", "3.8", "0.4.5", "1.23.0",
     ("timm-032-torch-six", "torch-distributed-local-rank", "torch-six")),
    ("forward-port", "2.7.1+cu118", "3.9", "0.4.5", "1.23.0",
     ("torch-load-weights-only", "timm-032-torch-six", "torch-distributed-local-rank",
      "torch-six")),
]


def test_plan_for_stated_hardware_is_the_plan_before():
    p = plan(scan(REPOS / "mae_layout"), Hardware.stated("9.0", driver="450.80.02"))
    assert (p.gpu, p.gpu_name, p.driver) == ("9.0", "", "450.80.02")
    assert [(c.strategy, c.torch_build, c.python, c.timm, c.numpy, c.migrations)
            for c in p.candidates] == MAE_H100_DRIVER450


def test_probed_hardware_plans_like_the_same_stated_gpu():
    r = scan(REPOS / "style2021")
    probed = Hardware(gpus=(GpuDevice("NVIDIA GeForce RTX 4090", "8.9", 24564, 0),),
                      driver="535.104.05", driver_cuda="12.2", toolkit_root="/usr/local/cuda",
                      nvcc="12.2.140", cpu_count=16, probed=True)
    p, q = plan(r, probed), plan(r, Hardware.stated("RTX 4090", driver="535.104.05"))
    assert p.candidates == q.candidates and not p.notes
    assert (p.gpu_name, q.gpu_name) == ("NVIDIA GeForce RTX 4090", "RTX 4090")
    two = Hardware(gpus=probed.gpus + (GpuDevice("NVIDIA H100 PCIe", "9.0", 81559, 1),),
                   probed=True)
    assert plan(r, two).notes == ("planning for GPU 0 (NVIDIA GeForce RTX 4090) of 2",)
    none = plan(r, Hardware(probed=True, reason="no NVML"))
    assert none.gpu is None and "found no GPU (no NVML)" in none.notes[0]


def test_hardware_json_round_trip():
    hw = Hardware(gpus=(GpuDevice("NVIDIA H100 80GB HBM3", "9.0", 81559, 0),
                        GpuDevice("NVIDIA L4", "8.9", 23034, 1)),
                  driver="550.54.15", driver_cuda="12.4", toolkit_root="/usr/local/cuda-12.4",
                  nvcc="12.4.131", cpu_count=32, probed=True)
    assert Hardware.from_json(hw.to_json()) == hw
    stated = Hardware.stated("A100-SXM4-80GB", driver="535")
    assert stated.gpus == (GpuDevice("A100", "8.0"),) and stated.driver == "535"
    assert Hardware.from_json(stated.to_json()) == stated
    assert json.loads(stated.to_json())["gpus"][0] == {"name": "A100", "cc": "8.0",
                                                      "memory_mib": None, "index": 0}
    with pytest.raises(ReproError, match="not a hardware description"):
        Hardware.from_json('{"gpus": [{"nme": "x"}]}')


def test_unknown_stated_gpu_carries_field_and_value():
    with pytest.raises(BadValue) as e:
        Hardware.stated("Voodoo 5")
    assert (e.value.field, e.value.value) == ("gpu", "Voodoo 5")
    assert str(e.value) == ("unknown GPU name 'Voodoo 5'; give its compute capability instead "
                            "(e.g. 8.9)")
    assert str(e.value.flagged("--gpu")) == "--gpu Voodoo 5: " + str(e.value)
