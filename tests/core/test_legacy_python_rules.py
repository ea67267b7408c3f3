"""The Python legacy-API rules of issues 9/15 beyond their examples: import lines are findings
as well as each use, receivers of ``.data[0]``, typed constructors (CUDA and ambiguous forms),
``volatile=True`` -> ``torch.no_grad()`` where the scope is clear, ``pkg_resources`` beyond
``parse_version``, version strings; and that the rules' error texts are what this stack says."""

import subprocess
import sys
import types
from pathlib import Path

import pytest

from repro_core import kb
from repro_core.match import python as match_python

TARGET = "torch==2.14.1,timm==1.0.31,numpy==2.4,torchvision==0.29,pillow==12.0,python==3.11"
PKG_TARGET = TARGET + ",setuptools==82.0"  # pkg_resources is gone there (else: the installed one)


def _found(src: str) -> set:
    return {(m.rule.id, m.line, m.text) for m in match_python.find("x.py", src)}


def test_import_line_and_every_use_are_findings() -> None:
    src = ("from torch.autograd import Variable\nfrom scipy.misc import imread\n"
           "from skimage.measure import compare_ssim\nfrom torch._six import string_classes\n"
           "v = Variable(t)\nim = imread(p)\ns = compare_ssim(a, b)\n"
           "ok = isinstance(x, string_classes)\nimport imp\nm = imp.load_source('m', 'm.py')\n")
    got = _found(src)
    assert ("torch-variable", 1, "Variable") in got and ("torch-variable", 5, "Variable(t)") in got
    assert ("scipy-misc-imread", 2, "imread") in got and ("scipy-misc-imread", 6, "imread") in got
    assert ("skimage-compare-metrics", 3, "compare_ssim") in got
    assert ("skimage-compare-metrics", 7, "compare_ssim") in got
    assert ("torch-six", 4, "string_classes") in got and ("torch-six", 8, "string_classes") in got
    assert ("py-imp", 9, "imp") in got and ("py-imp", 10, "imp.load_source") in got
    assert not any(r == "py-imp" and t == "imp" and line == 10 for r, line, t in got)  # no double
    # a keyword-conditioned call rule is not about the import (volatile= is on the call)
    assert not any(r == "torch-variable-volatile" for r, _, _ in got)


def test_data_index_receivers() -> None:
    hits = {t for r, _, t in _found(
        "a = (x + y).data[0]\nb = out.sum().data[0]\nc = F.nll_loss(o, t).data[0]\n"
        "d = losses[i].data[0]\ne = x.view(-1).data[0]\nf = train_set.data[0]\n"
        "g = correct.data[0]\n") if r == "torch-data-index"}
    assert hits == {"(x + y).data[0]", "out.sum().data[0]", "F.nll_loss(o, t).data[0]",
                    "losses[i].data[0]", "correct.data[0]"}


def test_version_string_forms() -> None:
    src = ("import torch\nimport torch as T\na = float(torch.__version__[:3]) < 1.2\n"
           "b = T.__version__ >= '1.7'\nc = torch.__version__.split('.')\n"
           "d = torch.__version__[0]\ne = torch.__version__ == '1.7.1'\n"
           "f = torch.__version__.split('+')[0]\nprint(torch.__version__)\n")
    got = sorted((line, t) for r, line, t in _found(src) if r == "torch-version-string")
    assert got == [(3, "float(torch.__version__[:3]) < 1.2"), (4, "T.__version__ >= '1.7'"),
                   (5, "torch.__version__.split('.')"), (6, "torch.__version__[0]")]


def _slice_vs_tuple(version: str) -> tuple:
    """(the old slice test, the rewritten test) for a fake torch at ``version``."""
    from repro_core.migrate.python import migrate_source

    text = "import torch\nok = float(torch.__version__[:3]) >= 1.7\n"
    parsed = match_python.parse(text)
    matches = match_python.find("m.py", parsed)
    new, _ = migrate_source(text, parsed, matches, {}, lambda m, proven: True)
    fake = types.SimpleNamespace(__version__=version)
    old_ns: dict = {"torch": fake}
    new_ns: dict = {"torch": fake}
    exec(text.replace("import torch\n", ""), old_ns)
    exec(new.replace("import torch\n", ""), new_ns)
    return old_ns["ok"], new_ns["ok"]


def test_version_slice_rewrite_reads_two_digit_minors() -> None:
    pytest.importorskip("libcst")
    assert _slice_vs_tuple("1.10.2+cu113") == (False, True)  # "1.10"[:3] == "1.1" < 1.7
    assert _slice_vs_tuple("1.6.0") == (False, False)
    assert _slice_vs_tuple("2.14.1") == (True, True)


def _migrate(tmp_path: Path, text: str, **kw):
    pytest.importorskip("libcst")
    from repro_core.migrate import migrate

    (tmp_path / "m.py").write_text(text)
    return migrate(str(tmp_path), target=kw.pop("target", TARGET), **kw)


def _target_torch() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 14)


def _run(code: str, cwd: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=str(cwd),
                          capture_output=True, text=True, timeout=300)


VOLATILE = '''import torch
from torch.autograd import Variable

net = torch.nn.Linear(2, 1)


def evaluate(x):
    net.eval()
    # the evaluation input
    v = Variable(x, volatile=True)
    out = net(v)
    return out


def train(x):
    v = Variable(x, volatile=True)
    net(v).sum().backward()


assert not evaluate(torch.ones(1, 2)).requires_grad
'''
VOLATILE_AFTER = '''import torch

net = torch.nn.Linear(2, 1)


def evaluate(x):
    net.eval()
    # the evaluation input
    with torch.no_grad():
        v = x
        out = net(v)
        return out


def train(x):
    v = x
    net(v).sum().backward()


assert not evaluate(torch.ones(1, 2)).requires_grad
'''


def test_volatile_becomes_no_grad_where_the_scope_is_clear(tmp_path: Path) -> None:
    res = _migrate(tmp_path, VOLATILE, mode="write")
    assert (tmp_path / "m.py").read_text() == VOLATILE_AFTER
    wrapped = [c for c in res.changes if c.rule == "torch-variable-volatile"]
    assert [c.line for c in wrapped] == [10] and wrapped[0].after.startswith(
        "with torch.no_grad():")
    assert [c.line for c in res.review if c.rule == "torch-variable-volatile"] == [16]  # trains
    assert "training follows" in [c for c in res.review if c.line == 16][0].note
    assert any(c.rule == "torch-variable" and c.after == "(removed)" for c in res.changes)
    again = _migrate(tmp_path, VOLATILE_AFTER, mode="check")
    assert not again.changes and not again.review
    if not _target_torch():
        pytest.skip("runs on torch 2.14")
    before = _run(VOLATILE, tmp_path)  # volatile is ignored: a graph is built
    assert before.returncode != 0 and "AssertionError" in before.stderr
    after = _run(VOLATILE_AFTER, tmp_path)
    assert after.returncode == 0, after.stderr[-2000:]


def test_typed_constructors_cuda_and_ambiguous(tmp_path: Path) -> None:
    text = ("import torch\na = torch.cuda.FloatTensor(2, 3)\n"
            "b = torch.cuda.LongTensor([[1], [2]])\n"
            "c = x.type(torch.cuda.HalfTensor)\nd = torch.FloatTensor(batch_size)\n"
            "e = torch.FloatTensor(points)\n"
            "T = torch.cuda.FloatTensor if cuda else torch.FloatTensor\n"
            "f = torch.LongTensor(*shape)\n")
    res = _migrate(tmp_path, text, mode="write")
    assert (tmp_path / "m.py").read_text() == (
        "import torch\na = torch.empty(2, 3, dtype=torch.float32, device=\"cuda\")\n"
        "b = torch.tensor([[1], [2]], dtype=torch.int64, device=\"cuda\")\n"
        "c = x.to(device=\"cuda\", dtype=torch.float16)\nd = torch.FloatTensor(batch_size)\n"
        "e = torch.FloatTensor(points)\nT = torch.cuda.FloatTensor if cuda else torch.FloatTensor\n"
        "f = torch.LongTensor(*shape)\n")
    review = {(c.line, c.after) for c in res.review}
    assert (5, "torch.empty(batch_size, dtype=torch.float32)") in review  # sizes, by its name
    assert (6, "torch.tensor(points, dtype=torch.float32)") in review  # data, by its name
    assert {c.line for c in res.review} == {5, 6, 7, 8}
    assert not _migrate(tmp_path, (tmp_path / "m.py").read_text(), mode="check").changes


def test_pkg_resources_beyond_parse_version(tmp_path: Path) -> None:
    text = ("import pkg_resources\nv = pkg_resources.get_distribution('torch').version\n"
            "p = pkg_resources.resource_filename(__name__, 'a.yaml')\n")
    res = _migrate(tmp_path, text, mode="write", target=PKG_TARGET)
    assert (tmp_path / "m.py").read_text() == (
        "import importlib.metadata\nimport pkg_resources\nv = importlib.metadata.version('torch')\n"
        "p = pkg_resources.resource_filename(__name__, 'a.yaml')\n")
    assert {(c.line, c.before) for c in res.review} == {
        (1, "pkg_resources"), (3, "pkg_resources.resource_filename")}
    # catching DistributionNotFound: importlib raises another class, so a review
    text = ("import pkg_resources\ntry:\n    v = pkg_resources.get_distribution('x').version\n"
            "except pkg_resources.DistributionNotFound:\n    v = None\n")
    res = _migrate(tmp_path, text, mode="write", target=PKG_TARGET)
    assert (tmp_path / "m.py").read_text() == text
    assert any(c.after == "importlib.metadata.version('x')" and "PackageNotFoundError" in c.note
               for c in res.review)


def test_unknown_six_name_is_reviewed_not_dropped(tmp_path: Path) -> None:
    res = _migrate(tmp_path, "from torch._six import inf, foo\n", mode="check")
    assert not res.changes and {c.before for c in res.review} >= {"foo"}


# -- the rules' error texts are what this stack prints -----------------------------------


def _error(code: str) -> str:
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0
    return p.stderr.strip().splitlines()[-1]


def test_error_texts_are_this_stacks() -> None:
    import importlib.util

    if importlib.util.find_spec("pkg_resources") is None:
        assert _error("import pkg_resources") in kb.rule("pkg-resources").errors
    if not _target_torch():
        pytest.skip("the torch texts are torch 2.14.1's")
    err = _error("import torch; (torch.ones(()) + 1).data[0]")
    assert err in kb.rule("torch-data-index").errors
    err = _error("import torch; torch._C._no_such_binding")
    assert any(err.startswith(e) for e in kb.rule("torch-private-c").errors)
    lib = Path(__import__("torch").__file__).parent / "lib" / "libtorch_python.so"
    if lib.is_file():
        data = lib.read_bytes()
        for e in kb.rule("torch-cuda-typed-constructor").errors:
            assert e.split(": ", 1)[1].encode() in data


@pytest.mark.parametrize("codemod", ["skimage-metrics", "scipy-misc-special"])
def test_scipy_skimage_after_code_runs_where_installed(tmp_path: Path, codemod: str) -> None:
    """The before/after of test_migrate's CASES, run where scipy and scikit-image are
    installed (not in the project's venvs: a temp venv with both, by hand)."""
    pytest.importorskip("scipy.special")
    pytest.importorskip("skimage.metrics")
    from test_migrate import CASES

    before, after, _ = CASES[codemod]
    setup = "import numpy as np\na = np.zeros((16, 16))\nb = np.ones((16, 16)) * 0.1\n"
    for text, ok in ((before, False), (after, True)):
        p = _run(setup + text, tmp_path)
        assert (p.returncode == 0) == ok, p.stderr[-2000:]
