"""plan keeps what the repository states (issue 9): patch-level pins against the kb's
minor-level facts, PyPI releases before separate-index ones, a lone lower bound is not an
exact stack, assumed builds are never ranked first, forward-ports on the oldest Python, and
the statement that decided each constraint."""

import json

from repro_core import compat, kb
from repro_core.hardware import Hardware
from repro_core.plan import Plan, decided_by, plan
from repro_core.scan import scan
from repro_core.scan.report import Evidence, ScanReport

# the environment.yml of issue 9: conda pins patches the kb only knows by minor
ENV_YML = """name: paper
channels: [pytorch, conda-forge]
dependencies:
  - python=3.8.5
  - pytorch=1.7.1
  - torchvision=0.8.2
  - cudatoolkit=11.0.221
  - numpy=1.19.2
"""


def report(constraints, evidence=()):
    return ScanReport(path="x", reference_date=None, date_sources=(), requirements=(),
                      constraints=constraints, evidence=tuple(evidence), extensions=(),
                      findings=())


def ev(package, spec, kind="requirements", path="requirements.txt", line=1):
    return Evidence(package, spec, path, line, "stated", kind)


def test_patch_level_conda_pins_give_an_exact_candidate(tmp_path):
    (tmp_path / "environment.yml").write_text(ENV_YML)
    (tmp_path / "train.py").write_text("import numpy\nimport torch\n")
    r = scan(tmp_path)
    assert (r.constraints["python"], r.constraints["cuda"], r.constraints["numpy"]) == (
        "==3.8.5.*", "==11.0.221.*", "==1.19.2.*")
    p = plan(r, Hardware.stated("RTX 3090"))  # 8.6: the cu110 build's sm_80 SASS runs
    top = p.candidates[0]
    assert (top.strategy, top.torch, top.python, top.cuda, top.numpy) == (
        "exact", "1.7.1", "3.8", "11.0", "1.19.2")
    assert top.torch_build == "1.7.1+cu110" and top.torchvision == "0.8.2"
    assert not any("instead of the stated" in why for why in top.reasons)


def test_readme_patch_python_with_a_torch_pin(tmp_path):
    (tmp_path / "README.md").write_text(
        "# paper\n\nTested with Python 3.8.5.\n\n```\npip install torch==1.7.1\n```\n")
    r = scan(tmp_path)
    assert r.constraints["python"] == "==3.8.5" and r.constraints["torch"] == "==1.7.1"
    top = plan(r, Hardware.stated("8.0")).candidates[0]
    assert (top.strategy, top.torch, top.python) == ("exact", "1.7.1", "3.8")


def test_a_minor_satisfies_a_patch_statement_only_when_one_of_its_patches_does():
    from repro_core.plan import _series_ok, _spec

    assert _series_ok(_spec("==3.8.5"), "3.8") and _series_ok(_spec(">=3.8.5"), "3.8")
    assert _series_ok(_spec("==11.0.221.*"), "11.0") and _series_ok(_spec("!=3.8.5"), "3.8")
    assert not _series_ok(_spec("==3.8.5"), "3.9") and not _series_ok(_spec("<3.8"), "3.8")
    assert not _series_ok(_spec(">3.8.99,<3.9"), "3.9")
    assert not _series_ok(_spec("==3.10.*"), "3.1")


def test_the_stated_patch_is_kept_not_an_lts_neighbour():
    # 1.8.2 exists only on the LTS index (kb: its patch names the index)
    row = kb.torch_release("1.8")
    assert not row.on_pypi("1.8.2") and row.on_pypi("1.8.1")
    assert row.patch("1.8.2").index == "https://download.pytorch.org/whl/lts/1.8"
    for cons in ({"torch": "==1.8.1"}, {"torch": ">=1.8.1,<1.9"}, {"torch": "==1.8.*"}):
        p = plan(report(cons, [ev("torch", cons["torch"])]), Hardware.stated("RTX 3090"))
        assert p.candidates[0].torch_build == "1.8.1+cu111", cons
        assert all(c.torch != "1.8.2" for c in p.candidates)
    # only a statement that admits nothing else gets the LTS release
    only = plan(report({"torch": "==1.8.2"}, [ev("torch", "==1.8.2")]), Hardware.stated("8.6"))
    assert only.candidates[0].torch == "1.8.2"


def test_a_lone_lower_bound_is_not_an_exact_stack():
    r = report({"torch": ">=0.4.1"}, [ev("torch", ">=0.4.1")])
    p = plan(r, Hardware.stated("RTX 4090"))
    assert all(c.strategy == "forward-port" for c in p.candidates)
    assert any("stated only as a lower bound" in n and "0.4.x" in n for n in p.notes)
    # a lower bound keeps its major: torch>=2.0 is exactly any 2.x
    p2 = plan(report({"torch": ">=2.0"}, [ev("torch", ">=2.0")]), Hardware.stated("8.9"))
    assert p2.candidates[0].strategy == "exact" and p2.candidates[0].torch.startswith("2.")
    p3 = plan(report({"torch": ">=1.7"}, [ev("torch", ">=1.7")]), Hardware.stated("8.6"))
    assert {c.torch.split(".")[0] for c in p3.candidates if c.strategy == "exact"} == {"1"}
    # an upper bound from an API rule alone states nothing: the scan's constraint is kept
    api = report({"torch": "<2.0"}, [ev("torch", "<2.0", kind="api", path="a.py")])
    assert plan(api, Hardware.stated("8.6")).candidates[0].strategy == "exact"


def test_an_assumed_build_is_never_ranked_first():
    row = kb.torch_release("2.14")
    assert set(row.assumed_variants) == {"cu126", "cu132"}  # only cu130 was observed
    # on an RTX 4090 both cu126 and cu130 run: the seen cu130 is chosen
    p = plan(report({"torch": "==2.14.1"}, [ev("torch", "==2.14.1")]), Hardware.stated("8.9"))
    assert p.candidates[0].torch_build == "2.14.1+cu130" and not p.candidates[0].assumed
    # a stated CUDA 12.6 is kept by the exact candidate, which then ranks after a seen build
    cu126 = plan(report({"torch": "==2.14.1", "cuda": "==12.6.*"},
                        [ev("torch", "==2.14.1"), ev("cuda", "==12.6.*")]), Hardware.stated("8.9"))
    assert [(c.strategy, c.torch_build, bool(c.assumed)) for c in cu126.candidates] == [
        ("forward-port", "2.14.1+cu130", False), ("exact", "2.14.1+cu126", True)]
    # on a V100 (7.0) only the assumed cu126 build of 2.14 runs: it says so, and a 2018
    # repository's newest candidate is a seen build (2.13), none assumed comes first
    v100 = plan(report({"torch": "==2.14.1"}, [ev("torch", "==2.14.1")]), Hardware.stated("7.0"))
    (c,) = v100.candidates
    assert c.torch_build == "2.14.1+cu126" and "assumed" in c.assumed
    assert any("assumed, not seen" in why for why in c.reasons)
    old = plan(report({"torch": ">=0.4.1"}, [ev("torch", ">=0.4.1")]), Hardware.stated("7.0"))
    assert not old.candidates[0].assumed
    assert not any(c.assumed for c in old.candidates)
    assert old.candidates[-1].torch_build == "2.13.0+cu126"


def test_forward_ports_take_the_oldest_python_allowed():
    r = report({"torch": ">=0.4.1"}, [ev("torch", ">=0.4.1")])
    for c in plan(r, Hardware.stated("8.9")).candidates:
        oldest = min((p for p in kb.python_versions() if compat.python_ok(c.torch, p)[0]),
                     key=lambda p: tuple(map(int, p.split("."))))
        assert c.python == oldest, c  # e.g. 2.14.1 on 3.10, not 3.14
    # no reference date: exact keeps 0.4.x (0.4.1: Python 3.5-3.7, the newest); the first
    # forward-port is the oldest release on PyPI, 1.0.1 (1.0.x has cp35-cp37 wheels), on 3.6:
    # uv cannot lock for 3.5
    cpu = plan(r, Hardware()).candidates
    assert [(c.torch, c.python, c.strategy) for c in cpu[:2]] == [
        ("0.4.1", "3.7", "exact"), ("1.0.1", "3.6", "forward-port")]
    floor = report({"torch": ">=0.4.1", "python": ">=3.11"},
                   [ev("torch", ">=0.4.1"), ev("python", ">=3.11")])
    newest = plan(floor, Hardware.stated("8.9")).candidates[-1]
    assert newest.torch.startswith("2.14") and newest.python == "3.11"


def test_the_deciding_statement_is_named():
    pin = ev("torch", "==1.7.1")
    prose = ev("torch", "==1.7.1", kind="readme", path="README.md", line=4)
    lower = ev("torch", ">=1.0", kind="setup.py", path="setup.py", line=9)
    api = ev("torch", "<2.0", kind="api", path="a.py")
    r = report({"torch": "<2.0,==1.7.1,>=1.0"}, [api, lower, prose, pin])
    assert decided_by(r) == {"torch": "requirements.txt:1 torch==1.7.1 (requirements)"}
    # prose decides when it is the only pin; a pin outranks a more trusted lower bound
    r2 = report({"torch": "==1.7.1,>=1.0"}, [lower, prose])
    assert decided_by(r2)["torch"] == "README.md:4 torch==1.7.1 (readme)"
    p = plan(r2, Hardware.stated("8.6"))
    assert p.decided_by == {"torch": "README.md:4 torch==1.7.1 (readme)"}
    assert "decided by README.md:4" in p.candidates[0].reasons[0]
    d = json.loads(p.to_json())
    assert d["decided_by"]["torch"].startswith("README.md:4") and "assumed" in d["candidates"][0]
    assert Plan.from_json(p.to_json()) == p
