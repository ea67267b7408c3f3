"""The legacy torch uses real repositories still had (issue 9 re-measure): scan finds them
(star-imported ``torch``, a legacy ``autograd.Function``, ``ctx.saved_variables``, the
ImageNet-example ``accuracy()`` view, ``torch.norm``, ``torch.__version__.startswith``),
migrate ports them (the after-code runs under this torch; a second run changes nothing) and
diagnose names the rule from the real error logs (tests/data/logs/diagnose/)."""
# ruff: noqa: E501

from pathlib import Path

import pytest

from repro_core.diagnose import diagnose
from repro_core.match import python as match_python

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs" / "diagnose"
RULES = "torch-legacy-function,torch-norm,torch-version-string,torch-saved-variables,torch-topk-view"


def ids(text: str) -> list:
    return [(m.rule.id, m.line) for m in match_python.find("m.py", text)]


def test_star_imported_torch_resolves() -> None:
    # yolov3: train.py does ``from models import *`` and models.py ``from utils.utils import *``
    text = "from models import *\n\nck = torch.load(w, map_location=device)\n"
    assert ("torch-load-weights-only", 3) in ids(text)
    # a bound name is not the star import's
    assert ids("from models import *\ntorch = Loader()\nck = torch.load(w)\n") == []
    assert ids("from models import *\ndef f(torch):\n    return torch.load(w)\n") == []
    # ``from torch import *``: a free name is torch's
    assert ("torch-load-weights-only", 2) in ids("from torch import *\nck = load(w)\n")
    assert ids("ck = torch.load(w)\n") == []  # no import at all: nothing resolves
    # the text pre-filter lets such files through
    m = match_python.matcher()
    assert m.prefilter("from models import *\nck = torch.load(w)\n") is None
    assert m.prefilter("from torch import *\nck = load(w)\n") is None


def test_legacy_function_at_its_base() -> None:
    text = ("import torch\nfrom torch.autograd import Function\n\n"
            "class RoIPool(Function):\n    def __init__(ctx, h):\n        ctx.h = h\n\n"
            "    def forward(ctx, x):\n        return x\n\n"
            "class New(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        return x\n")
    found = [m for m in match_python.find("m.py", text) if m.rule.id == "torch-legacy-function"]
    assert [(m.line, m.text) for m in found] == [(4, "Function")]


def test_topk_view_needs_a_k_above_one() -> None:
    body = ("def accuracy(output, target, topk=(1,)):\n    _, pred = output.topk(max(topk), 1, True, True)\n"
            "    pred = pred.t()\n    correct = pred.eq(target.view(1, -1).expand_as(pred))\n"
            "    res = []\n    for k in topk:\n        res.append(correct[:k].view(-1).float().sum(0))\n    return res\n")
    assert ("torch-topk-view", 7) in ids(body + "a, b = accuracy(o, t, topk=(1, 5))\n")
    assert "torch-topk-view" not in {r for r, _ in ids(body + "a = accuracy(o, t)\n")}
    # reassigning the comparison's name breaks the chain
    broken = body.replace("    res = []\n", "    correct = correct.contiguous()\n    res = []\n")
    assert "torch-topk-view" not in {r for r, _ in ids(broken + "accuracy(o, t, topk=(1, 5))\n")}


@pytest.mark.parametrize("log, rule, lines", [
    ("legacy-function", "torch-legacy-function", [9]),
    ("topk-view", "torch-topk-view", [11]),
])
def test_diagnose_real_logs(log: str, rule: str, lines: list) -> None:
    d = diagnose((LOGS / f"{log}.log").read_text(encoding="utf-8"))
    assert d.recognised and d.findings[0].id == rule
    assert [x.number for x in d.findings[0].lines] == lines


def test_port_runs_and_second_run_is_a_no_op(tmp_path: Path) -> None:
    pytest.importorskip("libcst")
    from test_migrate import TARGET, _run  # noqa: PLC0415

    from repro_core.migrate import migrate

    before = (
        "import torch\nfrom torch.autograd import Function\n\n\n"
        "class Double(Function):\n    def forward(self, x):\n        self.save_for_backward(x)\n        return x * 2\n\n"
        "    def backward(self, grad_output):\n        x, = self.saved_variables\n        return grad_output * 2\n\n\n"
        "class Scale(Function):  # takes an argument: described, not rewritten\n    def __init__(self, s):\n        self.s = s\n\n"
        "    def forward(self, x):\n        return x * self.s\n\n\n"
        "x = torch.ones(3, requires_grad=True)\ny = Double()(x)\ny.sum().backward()\nassert x.grad.tolist() == [2, 2, 2]\n"
        "n = torch.norm(x - 1, p=2, dim=0) + torch.norm(x.detach(), 1) + torch.norm(x)\n"
        "old = torch.__version__.startswith('1.7.')\n")
    (tmp_path / "m.py").write_text(before)
    res = migrate(str(tmp_path), target=TARGET, mode="check")
    assert {c.rule for c in res.changes} == {"torch-saved-variables"}
    assert sorted(c.rule for c in res.review) == ["torch-legacy-function", "torch-legacy-function",
                                                  "torch-norm", "torch-norm", "torch-norm",
                                                  "torch-version-string"]
    scale = [c for c in res.review if c.rule == "torch-legacy-function" and c.line == 15]
    assert scale and "Scale.apply(...)" in scale[0].note
    migrate(str(tmp_path), target=TARGET, mode="write", rules=RULES.split(","))
    after = (tmp_path / "m.py").read_text()
    assert after == before.replace(
        "    def forward(self, x):\n        self.save", "    @staticmethod\n    def forward(self, x):\n        self.save").replace(
        "    def backward", "    @staticmethod\n    def backward").replace(
        "saved_variables", "saved_tensors").replace("Double()(x)", "Double.apply(x)").replace(
        "torch.norm(x - 1, p=2, dim=0) + torch.norm(x.detach(), 1) + torch.norm(x)",
        "torch.linalg.vector_norm(x - 1, ord=2, dim=0) + torch.linalg.vector_norm(x.detach(), ord=1) + torch.linalg.vector_norm(x)").replace(
        "torch.__version__.startswith('1.7.')", 'tuple(int(p) for p in torch.__version__.split(".")[:2]) == (1, 7)')
    again = migrate(str(tmp_path), target=TARGET, mode="write", rules=RULES.split(","))
    assert not again.changes and (tmp_path / "m.py").read_text() == after
    _run(after.replace("class Scale", "class _Unused"), tmp_path)


def test_pretrained_on_a_getattr_model_points_at_the_keyword() -> None:
    # detr: getattr(torchvision.models, name)(..., pretrained=is_main_process(), ...)
    text = ("import torchvision\n\nm = getattr(torchvision.models, name)(\n    dilation=[False],\n"
            "    pretrained=is_main_process())\nn = getattr(torchvision.models, 'resnet50')(pretrained=True)\n"
            "o = getattr(config, name)(pretrained=True)\n")
    found = sorted((m.line, m.api) for m in match_python.find("m.py", text) if m.rule.id == "tv-pretrained")
    assert found == [(5, "torchvision.models.*"), (6, "torchvision.models.resnet50")]
