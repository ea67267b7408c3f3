"""plan's inputs (issue 14): a saved scan report, a stated driver; and why nothing fits."""

import json

import pytest

from repro_core import compat
from repro_core.errors import BadValue, ReproError
from repro_core.hardware import Hardware
from repro_core.plan import plan, read_report
from repro_core.scan import scan
from repro_core.scan.report import Finding, ScanReport

REPOS = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "repos"


def report(constraints, findings=()):
    return ScanReport(path="x", reference_date=None, date_sources=(), requirements=(),
                      constraints=constraints, evidence=(), extensions=(),
                      findings=tuple(findings))


@pytest.fixture(scope="module")
def saved():
    return json.loads(scan(REPOS / "style2021").to_json())


def _write(tmp_path, data):
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


@pytest.mark.parametrize("change,message", [
    (lambda d: d["constraints"].update(torch=5),
     r": scan report: field constraints\['torch'\]: expected a string, got 5$"),
    (lambda d: d["constraints"].update(torch="garbage!!"),
     r": scan report: field constraints\['torch'\]: not a version specifier: 'garbage!!'$"),
    (lambda d: d["findings"][0].update(bound="torch<<2"),
     r": scan report: field findings\[0\]\.bound: not a requirement such as torch<2.0: "),
    (lambda d: d.update(findings=5), r": scan report: field findings: expected a list, got 5$"),
    (lambda d: d["findings"][0].update(line="3"),
     r": scan report: field findings\[0\]\.line: expected an integer, got '3'$"),
    (lambda d: d.pop("constraints"), r": scan report: field constraints: missing$"),
    (lambda d: d["evidence"][0].update(extra=1), r"field evidence\[0\]\.extra: unknown field"),
])
def test_bad_saved_report_is_one_line_naming_file_and_field(tmp_path, saved, change, message):
    data = json.loads(json.dumps(saved))
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(ReproError, match=message) as e:
        read_report(path)
    assert str(e.value).startswith(path + ": ") and "\n" not in str(e.value)


@pytest.mark.parametrize("text,message", [
    ("[1, 2]", "not a scan report (a JSON list, not an object)"),
    ("{not json", "not a scan report (invalid JSON: "),
])
def test_saved_report_that_is_not_an_object(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ReproError) as e:
        read_report(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_saved_report_round_trips_and_ignores_unknown_keys(tmp_path, saved):
    original = ScanReport.from_dict(saved)
    assert read_report(_write(tmp_path, dict(saved, added_later=[1]))) == original
    assert ScanReport.from_dict(original.to_dict()) == original  # tuples as well as lists


def test_plan_checks_a_report_built_in_python():
    with pytest.raises(ReproError, match=r"^x: scan report: field constraints\['numpy'\]: not a "
                                         r"version specifier: 'one point two'$"):
        plan(report({"numpy": "one point two"}), Hardware())
    bad = Finding("torch-six", "a.py", 1, "m", "f", bound="torch < two")
    with pytest.raises(ReproError, match=r"field findings\[0\]\.bound: not a requirement"):
        plan(report({}, [bad]), Hardware())


@pytest.mark.parametrize("gpu", [None, "8.9"])
def test_driver_is_checked_with_or_without_a_gpu(gpu):
    with pytest.raises(BadValue) as e:
        Hardware.stated(gpu, driver="abc")  # issue 14: with no GPU it was accepted
    assert (e.value.field, e.value.value) == ("driver", "abc")
    assert str(e.value.flagged("--driver")) == (
        "--driver abc: not an NVIDIA driver version: 'abc' (expected e.g. 535.104.05)")
    assert Hardware.stated(gpu, driver=" 535.104.05").driver == "535.104.05"


def test_with_driver_replaces_a_probed_driver():
    probed = Hardware(driver="470.57.02", driver_cuda="11.4", probed=True)
    hw = probed.with_driver("550.54.15")
    assert (hw.driver, hw.driver_cuda, hw.probed) == ("550.54.15", None, True)
    with pytest.raises(BadValue):
        probed.with_driver("5x")


def test_a_too_old_driver_is_named_first():
    # issue 14: `--driver 300.0` said only "no SASS for the GPU ..." about old builds
    r = report({"torch": ">=1.12"})
    with pytest.raises(ReproError) as e:
        plan(r, Hardware.stated("8.9", driver="300.0"))
    msg = str(e.value)
    assert msg.startswith("no candidate environment: driver 300.0 is too old for every "
                          "candidate: without it, the least demanding would be torch ")
    # the build it names is one plan proposes without a driver, and its driver need is real
    free = plan(r, Hardware.stated("8.9"))
    build = msg.split("would be torch ")[1].split(",")[0]
    (named,) = [c for c in free.candidates if c.torch_build == build]
    assert named.cuda == min((c.cuda for c in free.candidates), key=compat.Version)
    assert f"which needs {compat.driver_requirement(named.cuda)}; no known torch build" in msg
    assert compat.driver_ok("300.0", named.cuda)[0] is False


def test_arch_reasons_stay_when_the_driver_is_not_the_cause():
    r = report({"torch": ">=2.9"})
    with pytest.raises(ReproError) as e:
        plan(r, Hardware.stated("3.7", driver="580.95.05"))  # Kepler: nothing runs it
    assert "driver" not in str(e.value).split(";")[0]
