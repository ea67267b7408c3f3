"""repro_core.ci: matrix rows, the workflow (schema-checked when check-jsonschema is there),
the YAML text (read back by PyYAML), and the generated noxfile run for real by nox."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from repro_core import ci
from repro_core.errors import ReproError
from repro_core.hardware import Hardware
from repro_core.plan import plan_path

REPOS = Path(__file__).resolve().parents[1] / "data" / "repos"


def test_rows_pin_cpu_builds_and_their_sources():
    r = ci.parse_row("torch=1.10.0,python=3.8")
    assert r.name == "torch1.10.0-py3.8" and r.python == "3.8"
    assert r.pins == ("torch==1.10.0+cpu", "torchvision==0.11.1+cpu")
    assert r.sources == ("--extra-index-url", ci.CPU_INDEX, "-f", ci.STABLE_LINKS)
    assert ci.row("3.8", "1.8.2+cu111").sources[-1] == ci.LTS_LINKS  # the LTS has its own page
    new = ci.parse_row("torch=2.1.0,python=3.11,timm=0.9.12,numpy=1.26.4,name=latest")
    assert new.name == "latest" and new.sources == ("--extra-index-url", ci.CPU_INDEX)
    assert new.pins == ("torch==2.1.0+cpu", "torchvision==0.16.*", "timm==0.9.12",
                        "numpy==1.26.4")
    assert ci.CiRow.from_json(new.to_json()) == new


@pytest.mark.parametrize("bad,msg", [("torch=1.10.0", "needs python"),
                                     ("python=3.8,cuda=11.3", "key=value"),
                                     ("torch=1.10.0,python=3.10", "not 3.10"),
                                     ("torch=0.1.0,python=3.8", "not in the knowledge base"),
                                     ("python=3.8,name=a b", "row name")])
def test_bad_rows(bad, msg):
    with pytest.raises(ReproError, match=msg):
        ci.parse_row(bad)


def test_rows_from_a_plan_follow_its_candidates():
    p = plan_path(str(REPOS / "style2021"), Hardware.stated(None))
    rows = ci.rows_from_plan(p)
    assert [r.python for r in rows] == [c.python for c in p.candidates]
    for r, c in zip(rows, p.candidates):
        assert r.pins[0] == f"torch=={c.torch}+cpu"
        assert (f"timm=={c.timm}" in r.pins) == bool(c.timm)


def _doc():
    rows = [ci.parse_row("torch=1.10.0,python=3.8"),
            ci.parse_row("torch=2.1.0,python=3.11")]
    return ci.workflow(rows, "python -m pytest -x -q\necho done", "requirements.txt")


def test_yaml_text_reads_back_as_the_same_data():
    yaml = pytest.importorskip("yaml")
    doc = _doc()
    assert yaml.safe_load(ci.to_yaml(doc, "header line")) == doc  # "on" stays a string key
    text = ci.to_yaml(doc)
    assert '"on":' in text and "run: |-" in text


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text() | st.booleans() | st.integers() | st.none()
                    | st.floats(allow_nan=False),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(min_size=1), inner, max_size=3), max_leaves=8))
@example(value={"A\n": None})  # "$" matched before the newline: key left plain
def test_yaml_emitter_round_trips_any_plain_data(value):
    yaml = pytest.importorskip("yaml")
    doc = {"k": value}
    assert yaml.safe_load(ci.to_yaml(doc)) == doc


def test_matrix_values_are_shell_quoted():
    doc = _doc()
    inc = doc["jobs"]["smoke"]["strategy"]["matrix"]["include"]
    assert inc[1]["pins"] == "torch==2.1.0+cpu 'torchvision==0.16.*'"
    assert doc["jobs"]["smoke"]["steps"][2]["run"].endswith("-r requirements.txt")


def test_workflow_passes_the_github_schema_and_a_broken_one_fails():
    pytest.importorskip("check_jsonschema")
    doc = _doc()
    assert ci.validate(doc) == []
    broken = json.loads(json.dumps(doc))
    del broken["jobs"]["smoke"]["runs-on"]
    broken["jobs"]["smoke"]["timeout-minutes"] = "soon"
    errors = ci.validate(broken)
    assert errors and errors[0].startswith("jobs/smoke: ")


def test_validate_says_none_without_the_extra():
    code = ("import sys; sys.modules['check_jsonschema'] = None\n"
            "from repro_core import ci\n"
            "print(ci.validate({'on': ['push'], 'jobs': {}}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ))
    assert r.returncode == 0 and r.stdout.strip() == "None", r.stderr


def test_no_rows_or_duplicate_names_are_refused():
    with pytest.raises(ReproError, match="no matrix rows"):
        ci.workflow([])
    r = ci.parse_row("python=3.8")
    with pytest.raises(ReproError, match="share a name"):
        ci.workflow([r, r])


@pytest.mark.skipif(shutil.which("nox") is None and not
                    (Path(sys.executable).parent / "nox").exists(), reason="nox not installed")
def test_generated_noxfile_runs_the_smoke_command(tmp_path):
    repo = tmp_path / "paper"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("VALUE = 42\n")
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    rows = [ci.parse_row(f"python={py}")]
    smoke = "python -c 'import pkg; assert pkg.VALUE == 42; print(\"smoke ok\")'"
    (repo / "noxfile.py").write_text(ci.noxfile(rows, smoke))
    nox = shutil.which("nox") or str(Path(sys.executable).parent / "nox")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    listed = subprocess.run([nox, "-l"], cwd=repo, capture_output=True, text=True, env=env)
    assert f"smoke-py{py}" in listed.stdout, listed.stderr
    r = subprocess.run([nox, "-s", f"smoke-py{py}"], cwd=repo, capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0 and "smoke ok" in r.stdout + r.stderr, r.stderr
    (repo / "pkg" / "__init__.py").write_text("VALUE = 41\n")
    r = subprocess.run([nox, "-s", f"smoke-py{py}", "-R"], cwd=repo, capture_output=True,
                       text=True, env=env)
    assert r.returncode != 0 and "AssertionError" in r.stdout + r.stderr
