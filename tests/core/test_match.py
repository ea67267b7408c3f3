"""The matchers report exact spans (line/column hand-counted here) whose text is the source's
text there; the python pre-filter is derived from every pattern kind; malformed rule rows are
one-line errors naming file, row and field."""

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_core import kb
from repro_core.errors import ReproError
from repro_core.kb.rules import Pattern, Rule, all_rules, parse_rule
from repro_core.match import Match, cpp, python, requirements


def spans(found):
    return {(m.rule.id, m.line, m.col, m.end_line, m.end_col, m.text) for m in found}


def check_text(src, found):
    for m in found:
        assert src[m.start:m.end] == m.text
        assert src.split("\n")[m.line - 1][m.col:].startswith(m.text.split("\n")[0])


PY = (
    "import torch.nn.functional as F\n"  # 1
    "from torch._six import (inf,\n"  # 2
    "                        string_classes)\n"  # 3
    "from torch.autograd import Variable\n"  # 4
    "x = Variable(t,\n"  # 5
    "             volatile=True)\n"  # 6
    's = "é" + F.upsample(x)\n'  # 7
    "total += loss.data[0]\n"  # 8
    'ext = dict(extra_compile_args=["-O2", "-std=c++14"])\n'  # 9
)


def test_python_spans_are_exact():
    found = python.find("train.py", PY)
    got = spans(found)
    assert ("torch-six", 2, 5, 2, 15, "torch._six") in got  # the module of the import
    assert ("torch-six", 2, 24, 2, 27, "inf") in got  # each imported name
    assert ("torch-six", 3, 24, 3, 38, "string_classes") in got
    call = "Variable(t,\n             volatile=True)"  # a call over two lines
    assert ("torch-variable", 5, 4, 6, 27, call) in got
    assert ("torch-variable-volatile", 5, 4, 6, 27, call) in got
    # columns count characters: "é" is two UTF-8 bytes, ast says column 11
    assert ("torch-upsample", 7, 10, 7, 20, "F.upsample") in got
    assert ("torch-data-index", 8, 9, 8, 21, "loss.data[0]") in got
    assert ("cpp-std-cxx14", 9, 38, 9, 50, '"-std=c++14"') in got
    check_text(PY, found)
    by_rule = {m.rule.id: m for m in found}
    assert by_rule["torch-upsample"].api == "torch.nn.functional.upsample"
    assert by_rule["torch-data-index"].api == "loss.data[0]"


def test_python_parsed_once_gives_the_same_matches():
    parsed = python.parse(PY)
    assert parsed is not None
    assert python.find("train.py", parsed) == python.find("train.py", PY)


def test_python2_source_matches_its_first_python2_statement():
    src = "import os\n\n\n    print 'hello'\n"
    (m,) = [m for m in python.find("old.py", src) if m.rule.id == "py2-syntax"]
    assert (m.line, m.col, m.end_line, m.end_col, m.text) == (4, 4, 4, 17, "print 'hello'")


def test_import_spans_without_alias_positions():
    src = "import numpy as np, torch._six as six  # old\nimport timm.models.layers\n"
    got = spans(python.find("m.py", src))
    assert ("torch-six", 1, 20, 1, 30, "torch._six") in got
    assert ("timm-models-layers", 2, 7, 2, 25, "timm.models.layers") in got


CPP = (
    "#include <THC/THC.h>\n"  # 1
    "// THCudaCheck(x);\n"  # 2: a comment
    "  int y = 0; THCudaCheck(cudaGetLastError());\n"  # 3
    "/* THCState *s; */ THCState* state = at::globalContext().getTHCState();\r\n"  # 4
    "\f\n"  # 5: a form feed is not a line end
    "THCudaCheck (e);\n"  # 6
)


def test_cpp_spans_are_exact():
    found = cpp.find("ext/k.cu", CPP)
    assert spans(found) == {
        ("cpp-thc-include", 1, 0, 1, 14, "#include <THC/"),
        ("cpp-thcudacheck", 3, 13, 3, 25, "THCudaCheck("),
        ("cpp-thcstate", 4, 19, 4, 27, "THCState"),
        ("cpp-thcstate", 4, 57, 4, 69, "getTHCState("),  # every match, not one per line
        ("cpp-thcudacheck", 6, 0, 6, 13, "THCudaCheck ("),
    }
    for m in found:
        assert CPP[m.start:m.end] == m.text and m.path == "ext/k.cu"


README = "# x\n\n```\npip install torch  timm==0.3.2\n```\n"
REQS = "numpy<1.24\n  timm==0.3.2 \\\n    --hash=sha256:00\nsklearn\n"


def test_requirement_spans_are_exact():
    texts = {"requirements.txt": REQS, "README.md": README}
    stated = [requirements.Stated("timm", "==0.3.2", "requirements.txt", 2),
              requirements.Stated("sklearn", "", "requirements.txt", 4),
              requirements.Stated("timm", "==0.3.2", "README.md", 4),
              requirements.Stated("timm", "==0.9.2", "requirements.txt", 2)]  # no rule
    found = requirements.find(stated, read=texts.get)
    assert {(m.rule.id, m.path) + tuple(spans([m]))[0][1:] for m in found} == {
        ("timm-032-torch-six", "requirements.txt", 2, 2, 2, 13, "timm==0.3.2"),
        ("timm-032-torch-six", "README.md", 4, 19, 4, 30, "timm==0.3.2"),
        ("pkg-sklearn", "requirements.txt", 4, 0, 4, 7, "sklearn"),
    }
    for m in found:
        assert texts[m.path][m.start:m.end] == m.text
        assert m.node in stated
    # without the text: the stated line, an empty span
    (m,) = requirements.find(stated[1:2])
    assert (m.line, m.col, m.end_col, m.text, m.api) == (4, 0, 0, "", "sklearn")


def test_match_round_trips_through_a_dict():
    for m in python.find("train.py", PY):
        assert Match.from_dict(m.to_dict()) == m


def _rule(**pattern) -> Rule:
    return parse_rule({"id": "x-rule", "library": "python", "source": "python",
                       "patterns": [pattern], "message": "m", "fix": "f", "safety": "safe",
                       "examples": {"trigger": ["t"], "clean": ["c"]}}, "test")


def test_prefilter_derives_a_test_for_node_rules_of_any_type():
    # the old pre-filter knew only JoinedStr and NamedExpr: this file went unparsed
    rule = _rule(node="Lambda")
    m = python.matcher([rule])
    src = "import os\nkey = lambda item: item[1]\n"
    assert m.prefilter(src) is None  # must parse
    assert spans(python.find("k.py", src, [rule])) == {
        ("x-rule", 2, 6, 2, 26, "lambda item: item[1]")}
    assert m.prefilter("import os\nkey = sorted\n") is not None  # no lambda: skipped
    # a node type without a text test: every file goes to the ast pass
    binop = python.matcher([_rule(node="BinOp")])
    assert binop.prefilter("import os\n") is None
    assert spans(python.find("k.py", "y = 1 + 2\n", [_rule(node="BinOp")])) == {
        ("x-rule", 1, 4, 1, 9, "1 + 2")}


@pytest.mark.parametrize("rule", kb.rules(kind="python"), ids=lambda r: r.id)
def test_prefilter_keeps_every_trigger_example(rule):
    m = python.matcher([rule])
    for snippet in rule.examples["trigger"]:
        assert m.prefilter(snippet) is None, snippet


@pytest.mark.parametrize("regex, lits", [
    (r"\.\s*data\s*\[", ("data",)),  # the longest literal run
    (r"(compute|sm)_3[0-7]\b", ("compute_3", "sm_3")),  # a group of literal alternatives
    (r"^3\.[57](\+PTX)?(;|$)", ("3.5", "3.7")),  # a class of single characters
    (r"-std=(c|gnu)\+\+(17|1z)", ("-std=",)),  # one text of 4+ beats four longer ones
    (r"['\"]3\.5", ("'3.5", '"3.5')),
    (r"(?i)abc", ()), (r"a(?i:bc)d", ()),  # case-insensitive: no literal test
    (r"ab?c", ()), (r"[fF][rR]?['\"]", ()),  # single characters only: not worth a test
    (r"a[^b]cd", ("cd",)), (r"x[a-c]yz", ("yz",)),  # negated and ranged classes end a run
])
def test_literals_of_a_needle(regex, lits):
    assert python.literals(regex) == lits


def test_every_needle_match_holds_one_of_its_literals():
    """The literal test only skips regex searches that could not match: over every trigger
    and clean example and every real-looking line here, a match implies a literal."""
    m = python.matcher()
    texts = [s for r in kb.rules(kind="python") for k in ("trigger", "clean")
             for s in r.examples[k]] + [
        "nvcc -gencode arch=compute_35,code=sm_35", "TORCH_CUDA_ARCH_LIST='3.5;5.0'",
        "extra_compile_args=['-std=c++14']", "print 'x'", "exec 'code'", "except E, e:",
        "loss.data [0]", "p.add_argument('--local_rank')", "f'{x}'", "(y := 2)"]
    tested = 0
    for lits, rx, _ in m._needle(frozenset()):
        for text in texts:
            if rx.search(text):
                tested += 1
                assert not lits or any(lit in text for lit in lits), (rx.pattern, text)
    assert tested > 20


IMPORT_TEXTS = [
    "from torch._six import (inf,  # comment\n    string_classes as sc,\n)\nx = inf\n",
    "from torch.autograd import Variable, \\\n    Function\nimport numpy as np, os\n",
    "import os; import torch.nn.functional as F\nx = 1; from scipy import misc\n",
    "from . import utils\nfrom .models import (a,\n b)\nimport numpy as np\n",
    "def f():\n    import numpy as np\n    from torch.utils import ffi\n"
    "import jax.numpy as np\n",  # a later import of a name wins
    "from a.b import (c as d, e)  # (x\nimport os.path\n",
    "import os\rx = 1\r\rfrom torch.autograd import Variable\r",  # lines ending in a bare CR
]


@pytest.mark.parametrize("text", IMPORT_TEXTS)
def test_imports_read_from_the_text_are_the_ones_ast_reads(text):
    """The pre-filter reads imports from the text (no parse): statements over several lines
    included, it must give what the ast pass gives, in the same order."""
    parsed = python.parse(text)
    assert parsed is not None
    assert python.regex_imports(text) == (parsed.imports, parsed.alias)


def test_prefilter_skips_texts_that_only_look_like_a_match():
    m = python.matcher()
    for text in ["import os\n# print the result\n", "import os\nx = loss.data[1]\n",
                 "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr')\n",
                 "import numpy as np\ny = np.sum(x, reduce=True)\n",  # not torch.nn
                 "import os\nv = '13.5'\n", "import os\nflags = ['-O2 -std=c++14']\n"]:
        assert m.prefilter(text) is not None, text
    for text in ["import os\nprint 'x'\n", "print 'x'\n", "import os\nx = loss.data[0]\n",
                 "import argparse\np = argparse.ArgumentParser()\n"
                 "p.add_argument('--local_rank')\n",
                 "import torch.nn as nn\nc = nn.L1Loss(reduce=False)\n",
                 "from utils import *\nc = nn.L1Loss(reduce=False)\n",
                 "import os\nv = '3.5;5.0'\n", "import os\nflags = ['-std=c++14']\n"]:
        assert m.prefilter(text) is None, text


def test_prefilter_of_prefix_calls_without_keyword_resolves_names():
    rule = _rule(call=["torchvision.models."], prefix=True)
    m = python.matcher([rule])
    assert m.prefilter("import torchvision.models as M\nnet = M.resnet50()\n") is None
    assert m.prefilter("import torchvision.transforms as T\nt = T.ToTensor()\n") is not None


def test_every_pattern_kind_has_a_text_test():
    kinds = {"method": {"method": ["add_argument"]},
             "subscript_attr": {"subscript_attr": "data", "index": 0},
             "string": {"string": "^-std=c\\+\\+14$"}, "node": {"node": "Await"},
             "py2": {"py2": True}}
    for kind, pat in kinds.items():
        assert python.needles(_rule(**pat).patterns[0]), kind
    # a value anchored at its start: the literal's quote comes right before it
    assert python.needles(Pattern("string", ("^a[^$]b$",))) == ["['\"]a[^$]b"]
    # top-level alternatives are searched separately (anchors dropped, classes kept)
    assert python.needles(Pattern("string", (r"(compute|sm)_3[0-7]\b|^3\.[57](;|$)",))) == [
        r"(compute|sm)_3[0-7]\b", "['\"]" + r"3\.[57](;|)"]
    assert python.needles(Pattern("string", (r"[|]x|\|y|(?:a|b)",))) == [
        "[|]x", r"\|y", "(?:a|b)"]


def test_isinstance_class_argument_spans_and_prefilter():
    rule = _rule(isinstance=["torch.autograd.Variable"])
    m = python.matcher([rule])
    src = ("import torch.autograd as A\nfrom torch.autograd import Variable as V\n"
           "ok = isinstance(x, (list, A.Variable)) or isinstance(x, V)\n"
           "no = issubclass(x, V) or isinstance(V, list) or V(x)\n")
    assert m.prefilter(src) is None  # the alias spelling of the dotted name is in the text
    found = python.find("s.py", src, [rule])
    assert spans(found) == {("x-rule", 3, 26, 3, 36, "A.Variable"),
                            ("x-rule", 3, 56, 3, 57, "V")}
    check_text(src, found)
    assert {f.api for f in found} == {"isinstance(..., torch.autograd.Variable)"}
    # without an import resolving to it, no ast pass is needed and none would match
    assert m.prefilter("class Variable: pass\nok = isinstance(x, Variable)\n") is not None


def test_method_argument_count_and_own_definition():
    rule = _rule(method=["get_lr"], receiver="sched", args=0, unless_defined=True)
    src = "a = sched.get_lr()\nb = sched.get_lr(1)\nc = sched.get_lr(*xs)\nd = opt.get_lr()\n"
    assert spans(python.find("s.py", src, [rule])) == {
        ("x-rule", 1, 4, 1, 18, "sched.get_lr()")}
    own = "class S:\n    def get_lr(self):\n        return [1]\n\n" + src
    assert python.find("s.py", own, [rule]) == []  # the receiver may be an S
    call = _rule(call=["torch.load"], args=1)
    two = "import torch\ntorch.load(p)\ntorch.load(p, m)\n"
    assert spans(python.find("s.py", two, [call])) == {("x-rule", 2, 0, 2, 13, "torch.load(p)")}


def test_method_on_a_receiver_assigned_from_a_call():
    rule = _rule(method=["step"], args=1, receiver_from=["torch.optim.lr_scheduler.StepLR"])
    src = ("from torch.optim import lr_scheduler as L\n"
           "a = L.StepLR(o, 3)\nself.b = L.StepLR(o, 3)\nc = L.StepLR(o, 3)\nc = make()\n"
           "d, e = L.StepLR(o, 3), 1\n"
           "a.step(1)\nself.b.step(1)\nc.step(1)\nd.step(1)\nf.step(1)\na.step()\n")
    # c is also something else, d is unpacked (not followed), f is never assigned
    assert spans(python.find("s.py", src, [rule])) == {
        ("x-rule", 7, 0, 7, 9, "a.step(1)"), ("x-rule", 8, 0, 8, 14, "self.b.step(1)")}
    # the pre-filter asks for the class spelled through the imports, not for ``.step(``
    m = python.matcher([rule])
    assert m.prefilter(src) is None
    assert m.prefilter("import torch\nopt = torch.optim.SGD(ps)\nopt.step(closure)\n") is not None


@pytest.mark.parametrize("row, message", [
    ({"patterns": [{"name": ["x"], "prefx": True}]}, "patterns[0]: field 'prefx' not allowed"),
    ({"patterns": [{"call": "torch.load"}]}, "field 'call' must be a non-empty list"),
    ({"patterns": [{"string": "(unclosed"}]}, "field 'string' must be a regular expression"),
    ({"patterns": [{"regex": "x"}]}, "patterns[0]: needs exactly one of"),
    ({"bound": "torch<<1"}, "field 'bound'"),
    ({"safety": "maybe"}, "field 'safety'"),
    ({"removd": "1.0"}, "unknown field 'removd'"),
    ({"examples": {"trigger": ["t"]}}, "field 'examples' needs a non-empty 'clean'"),
    ({"hard": "yes"}, "field 'hard' must be a bool"),
    ({"patterns": [{"method": ["step"], "args": -1}]}, "field 'args' must be a non-negative"),
    ({"patterns": [{"method": ["step"], "args": True}]}, "field 'args' must be a non-negative"),
    ({"patterns": [{"name": ["x"], "args": 1}]}, "field 'args' not allowed with 'name'"),
    ({"patterns": [{"method": ["f"], "unless_defined": False}]}, "'unless_defined' must be true"),
    ({"patterns": [{"isinstance": "torch.Tensor"}]}, "field 'isinstance' must be a non-empty list"),
    ({"patterns": [{"method": ["f"], "receiver_from": []}]}, "'receiver_from' must be a non-empty"),
    ({"patterns": [{"scheduler_first": ["torch.optim.lr_scheduler.StepLR"]}]},
     "field 'optimizers' missing"),
])
def test_malformed_row_names_file_row_and_field(row, message, monkeypatch):
    good = {"id": "bad-rule", "library": "torch", "source": "python",
            "patterns": [{"name": ["torch.x"]}], "message": "m", "fix": "f", "safety": "safe",
            "examples": {"trigger": ["t"], "clean": ["c"]}}
    import repro_core.kb as kbmod

    monkeypatch.setattr(kbmod, "names", lambda folder="": ["rules/zz"])
    monkeypatch.setattr(kbmod, "load", lambda name: {"rules": [good, {**good, **row}]})
    all_rules.cache_clear()
    try:
        with pytest.raises(ReproError) as e:
            all_rules()
    finally:
        monkeypatch.undo()
        all_rules.cache_clear()
    text = str(e.value)
    assert "\n" not in text
    assert text.startswith("kb/data/rules/zz.json: rules[1] (bad-rule): "), text
    assert message in text, text


def test_queries_filter_by_library_and_kind():
    assert kb.rule("torch-six").bound == "torch<2.0"
    cpp_rules = kb.rules(kind="cpp")
    assert cpp_rules and all(r.source == "cpp" for r in cpp_rules)
    assert {r.library for r in kb.rules(library="timm")} == {"timm"}
    assert set(kb.rules(library="timm", kind="requirements")) == {kb.rule("timm-032-torch-six")}
    with pytest.raises(ReproError, match="unknown rule kind"):
        kb.rules(kind="rust")


def test_spans_in_crlf_and_cr_sources():
    for nl in ("\r\n", "\r"):
        src = nl.join(["import numpy as np", "", "x = np.float(1)", ""])
        (m,) = python.find("m.py", src)
        assert (m.rule.id, m.line, m.col, m.end_line, m.end_col, m.text) == (
            "np-builtin-aliases", 3, 4, 3, 12, "np.float")
        (c,) = cpp.find("k.cu", nl.join(["/* a", " b */", "  THCudaCheck(e);"]))
        assert (c.line, c.col, c.end_col, c.text) == (3, 2, 14, "THCudaCheck(")


def _repo_sources():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for sub in ("packages", "tests/data", "bench"):
        for p in sorted((root / sub).rglob("*.py")):
            yield p, p.read_text(encoding="utf-8", errors="replace")


def test_flatten_visits_every_node_ast_walk_does():
    """The reference is ``ast.walk`` (less the ``ctx`` singletons), over this repository's own
    sources, twice: the second pass runs with the field table the first one learned."""
    import ast
    from collections import Counter

    n = 0
    for _ in range(2):
        for path, text in _repo_sources():
            try:
                tree = ast.parse(text)
            except SyntaxError:
                continue
            want = Counter(id(x) for x in ast.walk(tree) if not isinstance(x, ast.expr_context))
            assert Counter(id(x) for x in python._flatten(tree)) == want, path
            n += 1
    assert n > 200


def test_a_source_without_version_text_has_no_version_check():
    """scan reads version checks only from a text holding ``__version__`` or a TORCH_VERSION
    name (or not ASCII): over this repository's sources, the others have none."""
    from repro_core.scan import python_api

    checked = 0
    for path, text in _repo_sources():
        parsed = python.parse(text)
        if parsed is None or "__version__" in text or python_api._VERSION_TEXT.search(text):
            continue
        assert python_api.version_checks(parsed.nodes, parsed.alias) == [], path
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("src, found", [
    # the code copes with the module missing: no finding on the import
    ("try:\n    import cPickle as pickle\nexcept ImportError:\n    import pickle\n"
     "x = pickle.load(f)\n", []),
    ("try:\n    import importlib.util\nexcept ImportError:\n    import imp\n", []),
    ("try:\n    from torch._six import inf\nexcept (ImportError, AttributeError):\n"
     "    from torch import inf\n", []),
    ("try:\n    import urllib2\nexcept:\n    import urllib.request as urllib2\n", []),
    # not guarded: the import breaks
    ("import cPickle\n", [("py2-modules", 1)]),
    ("try:\n    import cPickle\nexcept KeyError:\n    pass\n", [("py2-modules", 2)]),
    # guarded import, but the name is used when the fallback did not rebind it
    ("try:\n    import cPickle\nexcept ImportError:\n    cPickle = None\n"
     "y = cPickle.loads(b)\n", [("py2-modules", 5)]),
])
def test_an_import_a_try_guards_is_no_finding(src, found):
    assert [(m.rule.id, m.line) for m in python.find("g.py", src)
            if m.rule.id in ("py2-modules", "py-imp", "torch-six")] == found


def test_a_guarded_import_whose_fallback_also_breaks_is_found():
    # maskrcnn-benchmark's utils/model_zoo.py: both names are gone from torch 1.12
    src = ("try:\n    from torch.hub import _download_url_to_file\nexcept ImportError:\n"
           "    from torch.utils.model_zoo import _download_url_to_file\n")
    assert {m.line for m in python.find("z.py", src)} == {2, 4}
    # a handler that re-raises does not cope
    src = "try:\n    import cPickle\nexcept ImportError:\n    raise ImportError('py2 only')\n"
    assert [(m.rule.id, m.line) for m in python.find("z.py", src)] == [("py2-modules", 2)]


def test_a_side_of_a_guard_works_only_when_none_of_its_imports_hits():
    # maskrcnn-benchmark's utils/model_zoo.py: one name of each side is gone
    src = ("try:\n    from torch.hub import _download_url_to_file\n"
           "    from torch.hub import urlparse\nexcept ImportError:\n"
           "    from torch.utils.model_zoo import _download_url_to_file\n"
           "    from torch.utils.model_zoo import urlparse\n")
    assert {m.line for m in python.find("z.py", src)} == {2, 5}


SCREENED = [  # (source, does ``screen`` decide it without the ast?)
    ("import os\r\rfrom timm.layers import DropPath\rx = DropPath(0.1)\r", False),  # bare CRs
    ("from timm.layers import DropPath, trunc_normal_\nimport torch\nx = DropPath(0.1)\n", True),
    ("import os\nimport timm.layers.helpers as h\nfrom timm.layers import Mlp\n"
     "y = h.to_2tuple(1)\n", True),
    ("import cPickle\nimport os\ndata = cPickle.load(f)\n", True),
    ("def f():\n    from timm.layers import DropPath\n    return DropPath(0.1)\n", True),
    # a try may drop a guarded import's hit; a docstring's import is no import; the module
    # of a continued line is on another line: the ast decides
    ("try:\n    from timm.layers import DropPath\nexcept ImportError:\n"
     "    from timm.models.layers import DropPath\n", False),
    ('"""Use it so:\nfrom timm.layers import DropPath\n"""\nimport os\n', False),
    ("import os, \\\n    timm.layers\n", False),
    ("def f():\n    return DropPath(0.1)\n\n\nfrom timm.layers import DropPath\n", False),
    # a name rule hit by a name the import binds, not by its module; another rule's call
    ("from torch.nn.functional import interpolate\ny = interpolate(x, 2)\n", False),
    ("from timm.layers import DropPath\nimport torch\nck = torch.load(p)\n", False),
]


def _first_per_file(rows):
    """(rule, line, api) rows as the collector keeps them: a once-per-file rule's first only."""
    rules = {r.id: r for r in all_rules()}
    seen, out = set(), []
    for rid, line, api in rows:
        key = rid if rules[rid].once_per_file else (rid, line)
        if key not in seen:
            seen.add(key)
            out.append((rid, line, api))
    return out


@pytest.mark.parametrize("src,decided", SCREENED)
def test_screen_reports_what_the_ast_pass_reports(src, decided):
    from repro_core.scan import python_api

    m = python.matcher()
    got = m.screen(src)
    assert (got is not None) == decided
    parsed = python.parse(src)
    reference = _first_per_file([(h.rule.id, h.line, h.api) for h in m.find("a.py", parsed)])
    analysis = python_api.analyze("a.py", src)
    assert _first_per_file(analysis.hits) == reference
    if decided:
        assert reference  # the case holds a finding, which screen read from the text
        assert [(r.id, line, api) for r, line, api in got[1]] == reference
        assert python.regex_imports(src)[0] == got[0]


def test_matches_come_in_the_order_of_the_text(tmp_path):
    """A rule reported once per file points at its first use (the ast walk visits the last
    statements first)."""
    from repro_core.scan import scan

    src = ("import torch.nn.functional as F\n\n\ndef up(x):\n    return F.interpolate(x, 2)\n\n\n"
           "def down(x):\n    return F.interpolate(x, 0.5)\n")
    found = python.find("m.py", src)
    assert [m.start for m in found] == sorted(m.start for m in found)
    assert [(m.rule.id, m.line) for m in found if m.rule.id == "torch-interpolate"] == [
        ("torch-interpolate", 5), ("torch-interpolate", 9)]
    (tmp_path / "m.py").write_text(src)
    assert [(f.rule, f.line) for f in scan(str(tmp_path)).findings] == [("torch-interpolate", 5)]


# where a reader of whole statements could lose a match: each holds one (checked below)
HOT_CASES = [
    # a decorator naming the API on its own line, the ``def`` line naming nothing
    "import numpy as np\n\n\ndef deco(t):\n    return lambda f: f\n\n\n@deco(\n    np.float)\n"
    "def f():\n    return 1\n",
    # the import in one function, the use in another
    "def a():\n    import numpy as np\n    return 1\n\n\ndef b():\n    return np.float(3)\n",
    # a call over lines, the name on the first, in a method of a class after others
    "import torch\n\n\nclass A:\n    def x(self):\n        return 1\n\n    def y(self, f):\n"
    "        return torch.load(\n            f,\n            map_location='cpu')\n",
    # a guarded import and its fallback
    "try:\n    from torch._six import string_classes\nexcept ImportError:\n"
    "    string_classes = str\nprint(string_classes)\n",
    # else / finally / while-else blocks, a semicolon, a comprehension, an annotation
    "import numpy as np\nif x:\n    pass\nelif y:\n    pass\nelse:\n    z = np.float(1)\n"
    "try:\n    pass\nfinally:\n    w = [np.int(i) for i in range(3)]\n"
    "while q:\n    break\nelse:\n    a = 1; b = np.bool(0)\n"
    "def g(v: np.float) -> None:\n    pass\n",
    # a name continued over a backslash
    "import numpy as np\ny = np.\\\n    float(1)\n",
    # a subclass rule reads the class's own body
    "import torch\nfrom torch.autograd import Function\n\n\nclass Op(Function):\n"
    "    def forward(self, x):\n        return x\n\n\nclass Other:\n    pass\n",
    # nested functions and classes, async ones
    "import torch\n\n\ndef outer():\n    def inner():\n        class K:\n"
    "            async def m(self):\n                async with lock:\n"
    "                    return torch.cuda.FloatTensor(2)\n"
    "        return K\n    return inner\n",
    # a string-value rule and a subscript rule, beside statements that hold neither
    "import torch\nx = 1\nloss = out.data[0]\nflags = ['-std=c++11']\ny = 2\n",
    # lines ending in CR LF, and in a bare CR (which ``ast`` counts as line ends too)
    "import numpy as np\r\nx = 1\r\n\r\ndef f():\r\n    return np.float(2)\r\n",
    "import numpy as np\rx = 1\r\rdef f():\r    return np.float(2)\r",
    # star imports of a module of the repository: a name it may provide used free, and one
    # bound elsewhere in the file (so not provided): in a parameter, an assignment, a handler
    "from utils import *\nimport os\n\n\ndef f(x):\n    return np.float(x)\n\n\n"
    "def g(F):\n    return F.upsample(1)\n\n\nclass K:\n    nn = None\n",
    "from .common import *\ntry:\n    pass\nexcept ValueError as torch:\n    pass\n"
    "x = torch.load(p)\ny = np.int(3)\nfor np in range(3):\n    z = np.bool(1)\n"
    "w = F.upsample(x, 2)\n",
    # f-strings and ``:=`` (syntax rules) between other statements
    "import os\nname = 'x'\nprint(f'{name}')\nif (n := len(name)) > 0:\n    pass\nprint(os.sep)\n",
]
if sys.version_info >= (3, 10):
    HOT_CASES.append("import numpy as np\nmatch cmd:\n    case 1:\n        a = np.float(2)\n"
                     "    case _:\n        pass\n")


def _hot_sources():
    """This repository's sources, every rule's trigger examples, bare and inside a function
    among statements that hold no match, and ``HOT_CASES``."""
    import textwrap

    yield from (text for _, text in _repo_sources())
    head = "import os\n\n\nclass Noise:\n    def a(self):\n        return os.sep\n\n\n"
    tail = "\n    return None\n\n\n@property\ndef tail():\n    return 1\n"
    for rule in kb.rules(kind="python"):
        for snippet in rule.examples["trigger"]:
            yield snippet
            yield head + "def wrapped():\n" + textwrap.indent(snippet, "    ") + tail
    yield from HOT_CASES


def _found(m, parsed, skip=frozenset()):
    return [(h.rule.id, h.line, h.col, h.end_line, h.end_col, h.api)
            for h in m.find("a.py", parsed) if h.rule.id not in skip]


def test_reading_only_the_hot_statements_finds_what_reading_all_of_them_does():
    """The reference is ``find`` on every node of the file: on the nodes of the statements
    spanning ``hot_lines`` it reports the same matches (all rules, or all but the syntax
    rules skipped), imports and aliases."""
    m = python.matcher()
    syntax = m.syntax_rule_ids
    checked = fewer = 0
    for text in _hot_sources():
        full = python.parse(text)
        if full is None or not text.isascii():
            continue
        for skip in (frozenset(), syntax):
            lines = m.hot_lines(text, skip)
            if lines is None:
                continue
            part = python.parse(text, lines)
            assert _found(m, part, skip) == _found(m, full, skip), text
            assert (part.imports, part.alias) == (full.imports, full.alias), text
            checked += 1
            fewer += len(part.nodes) < len(full.nodes)
    assert checked > 600 and fewer > 300
    for text in HOT_CASES:  # each case holds a match, and a statement read for it
        assert _found(m, python.parse(text, m.hot_lines(text))), text


def test_hot_lines_are_the_lines_of_matches_uses_and_imports():
    m = python.matcher()
    src = ("import numpy as np\n"  # 1: an import
           "import os\n"  # 2: an import
           "a = os.sep\n"  # 3: nothing
           "b = np.float(1)\n"  # 4: numpy.float
           "c = np.zeros(2)\n"  # 5: numpy.zeros is no pattern
           "d = x.data[0]\n")  # 6: a needle's match
    assert m.hot_lines(src) == [1, 2, 4, 6]
    # values that flow between statements (a scheduler's class), a star import: read all
    assert m.hot_lines("from torch.optim.lr_scheduler import StepLR\ns = StepLR(o)\n") is None
    assert m.hot_lines("from torch import *\nx = load(p)\n") is None
    # after another star import, each line naming a name it may provide (bound or not)
    assert m.hot_lines("from utils import *\nx = np.float(1)\ny = 2\ndef f(F):\n"
                       "    return F\n") == [1, 2, 4, 5]


def test_flatten_of_every_line_is_flatten():
    import ast

    for path, text in _repo_sources():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        every = list(range(1, text.count("\n") + 2))
        assert {id(n) for n in python._flatten_lines(tree, every)} == {
            id(n) for n in python._flatten(tree)} - {id(tree)}, path
        assert python._flatten_lines(tree, []) == []


def test_node_text_is_in_every_source_holding_the_node():
    """``NODE_TEXT`` decides which files the ast must see for a syntax rule: each regex is
    found in every source (this repository's) holding a node of its type; an f-string's
    prefix starts a token, so ``"%.2f" % x`` holds none."""
    import ast

    checked = 0
    for path, text in _repo_sources():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        held = {type(n).__name__ for n in ast.walk(tree)}
        for name, rx in python.NODE_TEXT.items():
            if name in held:
                assert re.search(rx, text), (path, name)
                checked += 1
    assert checked > 1000
    fstring = python.NODE_TEXT["JoinedStr"]
    for src in ('x = f"{a}"', "x = rf'{a}'", "x = Fr'{a}'", 'print(F"{a}")', "[f'{i}'for i in r]"):
        assert re.search(fstring, src), src
        assert any(isinstance(n, ast.JoinedStr) for n in ast.walk(ast.parse(src)))
    for src in ('x = "%.2f" % a', "y = '%5.1f'%b", 'self.buf"'):
        assert not re.search(fstring, src), src


_TOKENS = ["ImportError", "ModuleNotFoundError", "Exception", "except", ":", " ", "\n", "\t",
           "Error", "torch", "TORCH", "Torch", "_", "pt", "PT", "pytorch", "version", "VERSION",
           "Version", "x", "\u00e9", "1", "__version__", "#", "."]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=12).map("".join))
def test_fast_text_tests_agree_with_their_regexes(text):
    """The literal-first tests are the regexes they stand for (``_CATCH_HINT``,
    ``_VERSION_TEXT``), on texts made of the words they look for."""
    from repro_core.scan import python_api

    assert python._may_catch(text) == bool(python._CATCH_HINT.search(text))
    assert python_api._names_a_version(text) == bool(python_api._VERSION_TEXT.search(text))


ASYNC_SRC = '''import torch


class Loader(object):
    def __init__(self, async=False):
        self.async = async
        self.note = "async=True is torch 0.3's"

    def batch(self, x, loss):
        y = x.cuda(async=self.async)
        z = x.copy_(y,
                    async=True)
        return loss.data[0], getattr(self, 'async')
'''


def _old_python(version, script, src):
    """The JSON ``script`` prints for ``src`` on stdin, run by pyenv's newest Python
    ``version`` (its own parser, the reference); nothing where pyenv has none."""
    import json
    import os
    import subprocess
    from pathlib import Path

    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for exe in sorted(pyenv.glob(f"versions/{version}.*/bin/python"))[-1:]:
        yield json.loads(subprocess.run([str(exe), "-c", script], input=src, text=True,
                                        capture_output=True, check=True).stdout)


def _names(tree):
    import ast

    out = []
    for n in ast.walk(tree):
        for t, f in (("Name", "id"), ("Attribute", "attr"), ("keyword", "arg"), ("arg", "arg")):
            if type(n).__name__ == t:
                out.append((t, getattr(n, f)))
    return out


def test_a_file_using_async_as_a_name_is_read_as_python_3_6_read_it():
    """The reference is Python 3.6's own parser (pyenv), where ``async`` was still a name:
    the same names, attributes, keywords and parameters, in the same order; and the rules of
    the whole file are found (before, the file did not parse and nothing was)."""
    import ast
    parsed = python.parse(ASYNC_SRC)
    assert parsed is not None
    script = ("import ast, json, sys\ntree = ast.parse(sys.stdin.read())\nout = []\n"
              "for n in ast.walk(tree):\n"
              "    for t, f in (('Name', 'id'), ('Attribute', 'attr'), ('keyword', 'arg'),"
              " ('arg', 'arg')):\n"
              "        if type(n).__name__ == t:\n            out.append((t, getattr(n, f)))\n"
              "print(json.dumps(out))\n")
    for ref in _old_python("3.6", script, ASYNC_SRC):
        assert _names(parsed.tree) == [tuple(x) for x in ref]
    strings = [n.value for n in ast.walk(parsed.tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)]
    assert strings == ["async=True is torch 0.3's", "async"]
    got = [(m.rule.id, m.line, m.col, m.api) for m in python.find("a.py", ASYNC_SRC)]
    assert ("py-async-keyword", 5, 23, "async") in got  # the parameter
    assert [(line, api) for rid, line, _, api in got if rid == "py-async-keyword"] == [
        (5, "async"), (10, "async="), (11, "async=")]
    assert any(rid == "torch-data-index" and line == 13 for rid, line, _, _ in got)
    # a file that does not parse for another reason stays unparsed
    assert python.parse(ASYNC_SRC + "def f(:\n    pass\n") is None


PY2_SRC = '''import torch
from torch.autograd import Variable


def train(model, loader, log):
    print 'Loading data.'
    for i, (x, y) in enumerate(loader):
        out = model(Variable(x.cuda(async=True)))
        loss = (out - y).sum()
        print >>log, "loss", loss.data[0],
        if loss.data[0] <> 0 and i % 100L == 0:
            print "step %d: %f" % (i, loss.data[0])
    try:
        torch.save(model, 'm.pth')
    except IOError, e:
        raise RuntimeError, "cannot save: " + `e`
    exec "mode = 0777"
    s = ur'\\d+'  # print this
    return "print me", s
'''


def test_a_python_2_file_is_read_as_python_2_read_it():
    """The reference is Python 2.7's own parser (pyenv): every name and attribute of the
    source at the same line and column (less the names the respelling adds or drops: the
    ``print``/``exec`` words, the ``except`` target), so each rule finds what it would in a
    Python 3 port; before, the first ``print`` statement hid the whole file."""
    import ast

    parsed = python.parse(PY2_SRC)
    assert parsed is not None and parsed.py2
    # names (parameters were names in Python 2) at line and column; attributes at their line
    # (Python 3.8 moved the column of a parenthesized receiver to its parenthesis)
    ours = sorted([n.id if isinstance(n, ast.Name) else n.arg, n.lineno, n.col_offset]
                  for n in ast.walk(parsed.tree) if isinstance(n, (ast.Name, ast.arg))
                  and getattr(n, "id", "") not in ("print", "exec"))
    ours += sorted(["." + n.attr, n.lineno, -1] for n in ast.walk(parsed.tree)
                   if isinstance(n, ast.Attribute))
    script = ("import ast, json, sys\nt = ast.parse(sys.stdin.read())\n"
              "names = sorted([n.id, n.lineno, n.col_offset] for n in ast.walk(t) if "
              "isinstance(n, ast.Name) and n.id not in ('True', 'False', 'None'))\n"
              "attrs = sorted(['.' + n.attr, n.lineno, -1] for n in ast.walk(t) if "
              "isinstance(n, ast.Attribute))\nprint(json.dumps(names + attrs))\n")
    for ref in _old_python("2.7", script, PY2_SRC):
        assert ours == [x for x in ref if x != ["e", 15, 20]]  # the except target: dropped
    got = [(m.rule.id, m.line) for m in python.find("a.py", PY2_SRC)]
    assert ("py2-syntax", 6) in got  # once, at the first Python 2 statement
    assert {("torch-variable", 2), ("torch-variable", 8), ("py-async-keyword", 8),
            ("torch-data-index", 10), ("torch-data-index", 11),
            ("torch-data-index", 12)} <= set(got)
    assert sum(rid == "py2-syntax" for rid, _ in got) == 1
    # the strings and comments stay as written
    strings = {n.value for n in ast.walk(parsed.tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)}
    assert {"print me", "mode = 0777", "\\d+"} <= strings


def test_a_call_given_the_keyword_its_patterns_exclude_sends_no_file_to_the_ast():
    """``F.softmax(x, dim=1)`` cannot match a pattern that wants no ``dim=``: such a call does
    not send the file to the ast; any call the test cannot read (the keyword after a nested
    bracket, the name not called) still does. The reference is ``find`` on the parsed file:
    whatever the text test skips, it finds nothing in."""
    m = python.matcher()
    head = ("import numpy as np\nimport yaml\nimport torch.nn as nn\n"
            "import torch.nn.functional as F\n")
    skipped = ["y = F.softmax(x, dim=1)\n", "s = nn.Softmax(dim=-1)\n",
               "a = np.fromstring('1 2', sep=' ')\n", "c = yaml.load(f, Loader=yaml.SafeLoader)\n",
               "g = F.grid_sample(x, grid, align_corners=False)\n",
               "y = F.log_softmax(\n    x,\n    dim=-1)\n"]
    parsed = ["y = F.softmax(x)\n", "y = F.softmax(f(x), dim=1)\n", "act = F.softmax\n",
              "y = F.softmax(x, dim=1)\nz = F.softmax(z)\n", "y = F.softmax(x, dim == 1)\n",
              "a = np.fromstring(buf, dtype=np.uint8)\n"]
    for body in skipped:
        assert m.prefilter(head + body) is not None, body
    for body in parsed:
        assert m.prefilter(head + body) is None, body
    for text in [head + b for b in skipped + parsed] + list(_hot_sources()):
        if m.prefilter(text) is not None:
            tree = python.parse(text)
            assert tree is None or not m.find("a.py", tree), text
