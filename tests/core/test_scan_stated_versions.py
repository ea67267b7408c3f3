"""Versions a repository states outside its pins (issue 9): README sentences and docker
images, version checks in code and setup.py, nightly pins; prose ranks below a pin and the
plan names the statement that decided."""

from repro_core.hardware import Hardware
from repro_core.match.python import parse
from repro_core.plan import plan
from repro_core.scan import readme, scan
from repro_core.scan.collector import Collector
from repro_core.scan.python_api import version_checks


def _specs(text, kind="readme"):
    col = Collector()
    readme.read(col, "README.md", text, kind=kind)
    return [(e.package, e.specifier) for e in col.evidence]


def test_readme_sentences():
    assert _specs("Tested with pytorch 0.4.1 and CUDA 9.0.\n") == [
        ("torch", "==0.4.1"), ("cuda", "==9.0.*")]
    # "requires" / "at least" state a minimum, for every version of the clause
    assert _specs("This code requires Python 3.6 and PyTorch 1.0.\n") == [
        ("python", ">=3.6"), ("torch", ">=1.0")]
    assert _specs("It needs a GPU. Tested with PyTorch 1.7.1\n") == [("torch", "==1.7.1")]
    assert _specs("Requirements: PyTorch 1.7.1\n") == [("torch", "==1.7.1")]


def test_docker_images_named_in_a_readme():
    text = ("# Docker\n\nUse the image pytorch/pytorch:1.7.1-cuda11.0-cudnn8-devel.\n\n"
            "```\ndocker run --gpus all -it nvidia/cuda:10.2-cudnn7-devel-ubuntu18.04 bash\n```\n")
    col = Collector()
    readme.read(col, "README.md", text)
    got = [(e.package, e.specifier, e.line, e.kind) for e in col.evidence]
    assert got == [("torch", "==1.7.1", 3, "readme"), ("cuda", "==11.0.*", 3, "readme"),
                   ("cuda", "==10.2.*", 6, "readme")]
    assert "README names image pytorch/pytorch:1.7.1-cuda11.0-cudnn8-devel" in \
        col.evidence[0].reason
    assert not col.requirements  # an image is evidence, not a dependency to install


def test_nightly_pins_are_planned_as_their_release(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch==1.8.0.dev20201105\n")
    (tmp_path / "README.md").write_text("We used torch==1.8.0.dev20201105 (a nightly).\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == "==1.8.0"
    assert [q.specifier for q in r.requirements] == ["==1.8.0.dev20201105"]  # as written
    assert all("planned as its release" in e.reason for e in r.evidence if e.package == "torch")
    top = plan(r, Hardware.stated("8.6")).candidates[0]
    assert (top.strategy, top.torch_build) == ("exact", "1.8.0+cu111")


SRC = '''import sys
import timm
import torch
from distutils.version import LooseVersion

TORCH_VERSION = tuple(int(x) for x in torch.__version__.split(".")[:2])
assert timm.__version__ == "0.3.2"
assert "1.5" <= torch.__version__
if TORCH_VERSION < (1, 8):
    raise RuntimeError("needs torch 1.8")
if not LooseVersion(torch.__version__) >= LooseVersion("1.6"):
    sys.exit(1)
if float(torch.__version__[:3]) < 1.4:
    x = 1
if torch.__version__ == "parrots":
    pass
'''


def test_version_checks_in_code():
    p = parse(SRC)
    got = [(c.module, c.specifier, c.line, c.how) for c in version_checks(p.nodes, p.alias)]
    assert got == [("timm", "==0.3.2", 7, "assert"), ("torch", ">=1.5", 8, "assert"),
                   ("torch", ">=1.8", 9, "guard"), ("torch", ">=1.6", 11, "guard"),
                   ("torch", "<1.4", 13, "branch")]


# version checks among many statements that hold none, so the scan reads a cut of the file:
# a guard whose raise or exit is a line of its own, a name holding a version used far below
NOISE = "".join(f"def helper_{i}(a, b):\n    c = a + b * {i}\n    return c\n\n\n"
                for i in range(12))
CUT_CASES = [
    SRC + NOISE,
    NOISE + SRC.replace("    raise Runtime", "    print('old')\n    raise Runtime") + NOISE,
    "import torch\nPYTORCH_MAJOR_VERSION = int(torch.__version__.split('.')[0])\n" + NOISE
    + "def build(cfg):\n    if PYTORCH_MAJOR_VERSION == 1:\n        cfg.x = 1\n    return cfg\n",
    "import torch\nimport sys\n" + NOISE + "tv = torch.__version__\n" + NOISE
    + "if tv < '1.6':\n    sys.exit(\n        'needs torch 1.6')\n" + NOISE
    + "def f():\n    if tv >= '1.9':\n        return 1\n",
    "import torch\n" + NOISE + "if torch.__version__ < '1.4':\n    pass\n"
    "elif torch.__version__ < '1.8':\n    raise ImportError('torch 1.8 or newer')\n" + NOISE,
    "from mmcv.utils import TORCH_VERSION\n" + NOISE
    + "def f(x):\n    if TORCH_VERSION >= (1, 7):\n        x = 2\n    return x\n",
]


def test_a_cut_file_has_the_version_checks_of_the_whole_file(monkeypatch):
    """The reference is ``version_checks`` and ``find`` on every node of the whole file;
    ``analyze`` reads only the statements a rule or a version check may be in, and must
    find the same (these files are cut: each is read from a skeleton)."""
    from repro_core.match import python as matcher
    from repro_core.match.skeleton import skeleton
    from repro_core.scan.python_api import analyze

    cut = []
    real_parse = matcher.parse

    def spy(text, lines=None):
        cut.append(lines is not None and len(lines) < matcher.CUT_DENSITY * text.count("\n")
                   and skeleton(text, lines) is not None)
        return real_parse(text, lines)

    monkeypatch.setattr(matcher, "parse", spy)
    m = matcher.matcher()
    for text in CUT_CASES:
        whole = real_parse(text)
        want = version_checks(whole.nodes, whole.alias)
        assert want, text
        cut.clear()
        got = analyze("a.py", text)
        assert cut and all(cut), text
        assert list(got.checks) == want, text
        assert got.hits == tuple((h.rule.id, h.line, h.api) for h in m.find("a.py", whole)), text


def test_version_checks_constrain_branches_do_not(tmp_path):
    (tmp_path / "train.py").write_text(SRC)
    (tmp_path / "setup.py").write_text(
        "import torch\nfrom setuptools import setup\n"
        "if torch.__version__ < '1.7':\n    raise ValueError('torch>=1.7 needed')\nsetup()\n")
    r = scan(tmp_path)
    torch_ev = [(e.path, e.line, e.specifier, e.kind) for e in r.evidence
                if e.package == "torch" and e.path in ("train.py", "setup.py")]
    assert ("setup.py", 3, ">=1.7", "assert") in torch_ev
    assert ("train.py", 9, ">=1.8", "assert") in torch_ev
    assert ("train.py", 13, "", "api") in torch_ev  # a branch: both sides handled, no bound
    # the guards' minimums, and timm==0.3.2 (asserted) => torch<1.9; nothing from the branch
    assert r.constraints["torch"] == "<1.9,>=1.5,>=1.6,>=1.7,>=1.8"


def test_a_pin_outranks_prose_and_the_plan_says_which_decided(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch==1.7.1\n")
    (tmp_path / "README.md").write_text("Tested with PyTorch 1.6.0 and Python 3.8.\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == "==1.7.1"
    (c,) = [c for c in r.conflicts if c.package == "torch"]
    assert c.dropped.path == "README.md" and c.kept.path == "requirements.txt"
    p = plan(r, Hardware.stated("8.0"))
    assert p.decided_by["torch"] == "requirements.txt:1 torch==1.7.1 (requirements)"
    assert p.decided_by["python"] == "README.md:1 python==3.8.* (readme)"
    assert p.candidates[0].torch == "1.7.1" and p.candidates[0].python == "3.8"


def test_a_question_names_a_version_without_stating_it(tmp_path):
    # semseg's FAQ.md: the question's 1.0.0 must not outrank the README's >=1.1.0
    (tmp_path / "FAQ.md").write_text("#### Q: Why PyTorch 1.0.0?\n\n**A:** the extension API.\n")
    (tmp_path / "README.md").write_text("- Software: PyTorch>=1.1.0, Python3\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == ">=1.1.0"
    assert not any(e.path == "FAQ.md" for e in r.evidence if e.package == "torch")


def test_a_version_in_parentheses_is_read():
    # CutMix-PyTorch's README: "- PyTorch (> 1.0)"
    assert [(s.package, s.specifier) for s in readme.statements("- PyTorch (> 1.0)")] == [
        ("torch", ">=1.0")]


def test_the_readme_outranks_other_documents(tmp_path):
    # semseg: FAQ.md's answer says "PyTorch version <=0.4.1 uses FFI"; README.md states >=1.1.0
    (tmp_path / "FAQ.md").write_text("PyTorch version <=0.4.1 uses FFI, not supported after.\n")
    (tmp_path / "README.md").write_text("- Software: PyTorch>=1.1.0, Python3\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == ">=1.1.0"
    assert [(c.kept.path, c.dropped.path) for c in r.conflicts if c.package == "torch"] == [
        ("README.md", "FAQ.md")]
