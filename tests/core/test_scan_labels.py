"""bench/data/scan_labels.json is well-formed, and bench/scan_recall.py scores right on small
hand-made examples (expected values worked out by hand below)."""

import copy
import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("scan_recall", ROOT / "bench" / "scan_recall.py")
sr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sr)


def test_labels_file_is_well_formed():
    doc = sr.load_labels()
    repos = doc["repos"]
    assert len(repos) >= 12  # issue 9: at least 12 real repositories
    for r in repos:
        assert r["files"], r["name"]
        for lab in r["labels"]:
            assert lab["class"] in ("breaking", "deprecated")
    assert sum(lab["class"] == "breaking" for r in repos for lab in r["labels"]) >= 50
    assert doc["history"], "changes to the labels are recorded"


def _doc():
    return {"repos": [{
        "name": "x", "repo": "o/x", "commit": "0123456789abcdef0123456789abcdef01234567",
        "commit_date": "2020-01-01", "stated": {"torch": "==1.7.1"}, "stated_source": "README",
        "files": ["a.py", "k.cu"],
        "labels": [{"path": "a.py", "line": 3, "api": "np.float", "class": "breaking"}]}]}


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["repos"][0]["labels"][0].update({"class": "broken"}), "labels[0].class"),
    (lambda d: d["repos"][0]["labels"][0].update({"path": "b.py"}), "labels[0].path"),
    (lambda d: d["repos"][0]["labels"][0].update({"line": 0}), "labels[0].line"),
    (lambda d: d["repos"][0]["labels"][0].update({"line": "3"}), "labels[0].line"),
    (lambda d: d["repos"][0]["labels"][0].update({"code": "x = np.float"}), "labels[0]"),
    (lambda d: d["repos"][0]["labels"][0].pop("api"), "labels[0]"),
    (lambda d: d["repos"][0]["labels"].append(dict(d["repos"][0]["labels"][0])), "labels[1]"),
    (lambda d: d["repos"][0].update({"commit": "abc"}), "commit"),
    (lambda d: d["repos"][0].update({"stated": {"torch": "1.7 or so"}}), "stated.torch"),
    (lambda d: d["repos"][0].update({"files": ["../a.py"]}), "files"),
    (lambda d: d["repos"][0].pop("stated_source"), "stated_source"),
    (lambda d: d["repos"].append(copy.deepcopy(d["repos"][0])), "duplicate name"),
])
def test_malformed_labels_are_refused_naming_the_field(edit, field):
    sr.check_labels(_doc())
    d = _doc()
    edit(d)
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        sr.check_labels(d, "labels.json")


def test_match_pairs_one_to_one_and_scores_only_labelled_files():
    L, F = sr.Label, sr.Found
    labels = [L("a.py", 3, "Variable", "deprecated"), L("a.py", 3, "np.float", "breaking"),
              L("a.py", 7, "torch.norm", "deprecated"), L("k.cu", 10, "THCState", "breaking")]
    findings = [F("a.py", 3, "numpy-float"),      # one finding for two labels: the breaking one
                F("a.py", 7, "torch-norm"),
                F("a.py", 9, "torch-load"),       # no label on line 9: an extra
                F("a.py", 5, "py-fstring"),       # a new-API rule: counted apart
                F("k.cu", 10, "cpp-thc"),
                F("other.py", 1, "numpy-float")]  # not a labelled file: ignored
    s = sr.match(labels, findings, ["a.py", "k.cu"], lambda rule: rule != "py-fstring")
    assert s.labels == {"breaking": 2, "deprecated": 2}
    assert s.found == {"breaking": 2, "deprecated": 1}
    assert s.recall("breaking") == 1.0 and s.recall("deprecated") == 0.5
    assert (s.findings, s.right, s.new_api) == (4, 3, 1)
    assert s.precision() == 0.75
    assert s.missed == [L("a.py", 3, "Variable", "deprecated")]
    assert s.extra == [F("a.py", 9, "torch-load")]
    total = sr.Score()
    total.add(s)
    total.add(s)
    assert total.found == {"breaking": 4, "deprecated": 2} and total.precision() == 0.75
    empty = sr.match([], [], ["a.py"])
    assert empty.recall("breaking") is None and empty.precision() is None


def test_findings_of_merges_rule_findings_and_extension_apis_once():
    report = SimpleNamespace(
        findings=[SimpleNamespace(rule="cpp-thc", path="k.cu", line=1),
                  SimpleNamespace(rule="torch-six", path="a.py", line=2),
                  SimpleNamespace(rule="pkg", path="requirements.txt", line=0)],
        extensions=[SimpleNamespace(legacy_apis=[
            SimpleNamespace(path="k.cu", line=1, api="THC/THC.h", rule="cpp-thc"),
            SimpleNamespace(path="k.cu", line=4, api="THCudaCheck", rule="")])])
    assert sr.findings_of(report) == [sr.Found("k.cu", 1, "cpp-thc"),
                                      sr.Found("a.py", 2, "torch-six"),
                                      sr.Found("k.cu", 4, "THCudaCheck")]


def test_admitted_and_share():
    vs = ["1.7.0", "1.7.1", "1.8.0", "2.0.0"]
    assert sr.admitted("<1.8", "==1.7.1", vs)
    assert not sr.admitted("<1.8", ">=1.8", vs)
    assert sr.admitted(None, ">=1.0", vs)
    assert sr.admitted("<1.0", "==0.4.0", vs)  # the pin itself, though not a known release
    assert not sr.admitted("==1.0.0", "==0.4.1", vs)
    assert sr.admitted(">=1.7.1,<2", ">=1.7.0", vs)
    assert sr.admitted_share("<1.8", vs) == 0.5
    assert sr.admitted_share("==1.7.1", vs) == 0.25
    assert sr.admitted_share(None, vs) == 1.0
    assert sr.admitted_share(["==1.7.1", "==2.0.0"], vs) == 0.5  # the exact ranges together
    assert sr.admitted_share(["==1.7.1", ""], vs) == 1.0


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_checkout_writes_the_commit_files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()

    def git(*a):
        return subprocess.run(["git", "-C", str(src), *a], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    (src / "pkg").mkdir()
    (src / "pkg" / "m.py").write_text("import torch\n")
    (src / "README.md").write_text("v1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    first = git("rev-parse", "HEAD")
    (src / "README.md").write_text("v2\n")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two")
    dest = tmp_path / "out"
    assert sr.checkout(str(src / ".git"), first, dest) == (2, 0)
    assert (dest / "README.md").read_text() == "v1\n"
    assert (dest / "pkg" / "m.py").read_text() == "import torch\n"

