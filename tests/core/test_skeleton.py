"""``match.skeleton``: the statements spanning some lines, each other one a ``pass``. The
reference is ``ast.parse`` of the whole source: read on the same lines (``_flatten_lines``),
the skeleton's tree has the same nodes at the same places, and ``find`` reports the same."""

import ast
import random
import re
import textwrap
from pathlib import Path

import pytest

from repro_core import kb
from repro_core.match import python
from repro_core.match.skeleton import _NEST, skeleton

ROOT = Path(__file__).resolve().parents[2]

# structures the cut must follow; each is tried with every line hot in turn
CASES = [
    # decorators over lines, a class with methods, a nested function
    "import torch\n\n\n@register(\n    name='x')\nclass A(object):\n    '''doc'''\n\n"
    "    @staticmethod\n    def f(x):\n        def g():\n            return torch.load(x)\n"
    "        return g\n\n    def h(self): return 1\n",
    # if / elif / else, for-else, while-else, try / except / else / finally, with
    "import numpy as np\nif a:\n    x = 1\nelif b:\n    x = np.float(2)\nelse:\n    x = 3\n"
    "for i in r:\n    pass\nelse:\n    y = np.int(i)\nwhile q:\n    q -= 1\nelse:\n    z = 0\n"
    "try:\n    import apex\nexcept ImportError:\n    raise RuntimeError('need apex')\n"
    "else:\n    w = 1\nfinally:\n    v = np.bool(0)\nwith open(p) as f, lock:\n    f.read()\n",
    # one-line compound statements and their clauses, semicolons, a lambda's colon
    "import numpy as np\nif a: b = np.float(1)\nelse: b = 2\nclass K: pass\n"
    "f = lambda x: x; g = {1: np.int}\nfor i in r: print(i)\n",
    # strings holding code, brackets, colons, quotes and comment marks; comments holding quotes
    "import torch\ns = '''\nx = torch.FloatTensor(3)\nif y:\n    (\n'''\n"
    "t = \"a # not a comment ( [ {\"  # a comment ' with \" quotes ( :\n"
    "u = r'\\'' + b\"\\\"\" + rb'\\\\' + f'{s!r:>{w}}' + Rb\"x\"\nif'a' in t: v = torch.load(t)\n"
    "w = \"\"\"a\n\n  b\"\"\" ; z = torch.cuda.FloatTensor(2)\n",
    # brackets and backslashes over lines, comments and blank lines inside them
    "import torch\nx = foo(a,  # (\n\n        b[1:\n2],\n        {'k':\n (3)})\ny = 1 + \\\n"
    "    torch.cuda.FloatTensor(2)\ndef f(a,\n      b=torch.load(p)):\n    return a\n",
    # tabs, CR LF line ends, a string continued over a backslash and CR LF
    "import torch\r\nif a:\r\n\tb = 1\r\n\tc = torch.load(p)\r\nd = 'x\\\r\ny'\r\n",
    # async, global, yield, an annotation, return outside a function (ast.parse allows it)
    "import torch\nasync def f():\n    global g\n    async for x in y:\n        await x\n"
    "    async with l:\n        yield torch.load(p)\nq: int = torch.cuda.FloatTensor\n",
    # a file that starts with a docstring and a __future__ import
    "'''doc'''\nfrom __future__ import print_function\nimport torch\nx = torch.load(p)\n",
    # an except block with a raise and a fallback, a Function subclass
    "try:\n    from torch._six import inf\nexcept ImportError:\n    inf = float('inf')\n"
    "    raise\nfrom torch.autograd import Function\nclass Op(Function):\n"
    "    def forward(ctx, x):\n        return x\n    @staticmethod\n    def backward(ctx, g):\n"
    "        return g\n",
    # a guarded import whose handler only raises (so the import is not optional)
    "try:\n    from torch._six import inf\nexcept ImportError:\n"
    "    raise ImportError('torch too new')\n",
    # indentation back to an outer block in steps, comment lines between blocks
    "import numpy as np\ndef f():\n    if a:\n        if b:\n            x = 1\n# c\n"
    "        y = np.float(1)\n    z = 2\n  # odd comment\nw = np.int(3)\n",
]


def _import_lines(text):
    return [text.count("\n", 0, m.start()) + 1 for m in re.finditer("import", text)]


def _keys(nodes):
    return [(type(n).__name__, getattr(n, "lineno", None), getattr(n, "col_offset", None))
            for n in nodes]


def _same(text, tree, lines):
    """The skeleton is read on ``lines`` as the whole source is: same nodes, same matches."""
    cut = skeleton(text, lines)
    assert cut is not None, text
    assert cut.count("\n") <= text.count("\n")
    whole = python.Parsed(text, tree, lines)
    part = python.Parsed(text, ast.parse(cut), lines)
    assert _keys(part.nodes) == _keys(whole.nodes), (text, lines)
    assert [ast.dump(n) for n in part.nodes if not hasattr(n, "body")] == [
        ast.dump(n) for n in whole.nodes if not hasattr(n, "body")], (text, lines)
    m = python.matcher()
    assert [(h.rule.id, h.line, h.col, h.api) for h in m.find("a.py", part)] == [
        (h.rule.id, h.line, h.col, h.api) for h in m.find("a.py", whole)], (text, lines)
    return len(cut)


def test_every_line_of_the_cases_hot_in_turn():
    for text in CASES:
        tree = ast.parse(text)
        imports = _import_lines(text)
        for line in range(1, text.count("\n") + 2):
            _same(text, tree, sorted({line, *imports}))
        _same(text, tree, imports)


def _sources():
    for sub in ("packages", "tests", "bench"):
        for p in sorted((ROOT / sub).rglob("*.py")):
            yield p.read_text(encoding="utf-8", errors="replace")
    head = "import os\n\n\nclass Noise:\n    def a(self):\n        return os.sep\n\n\n"
    for rule in kb.rules(kind="python"):
        for snippet in rule.examples["trigger"]:
            yield snippet
            yield head + "def wrapped():\n" + textwrap.indent(snippet, "    ")


def test_this_repository_and_the_rule_examples_cut_on_their_hot_lines_and_at_random():
    """``hot_lines`` as the scan uses them, and random lines with the import lines (imports
    are always hot), seeded; files that read every statement (``hot_lines`` None) aside."""
    m = python.matcher()
    rng = random.Random(9)
    checked = cut = whole = 0
    for text in _sources():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        hot = m.hot_lines(text)
        if hot is None or skeleton(text, hot) is None:
            continue
        n = text.count("\n") + 1
        for lines in (hot, sorted(set(rng.sample(range(1, n + 1), min(n, 5)))
                                  | set(_import_lines(text)))):
            cut += _same(text, tree, lines)
            whole += len(text)
            checked += 1
    assert checked > 800
    assert cut < whole / 3  # what makes it worth it


def test_a_cut_by_hand():
    src = ("import torch\n"
           "\n"
           "class A:\n"
           "    '''doc'''\n"
           "    def f(self):\n"
           "        return 1\n"
           "\n"
           "    @property\n"
           "    def g(self,\n"
           "          x=2):\n"
           "        y = torch.load(x)  # a comment\n"
           "        return y\n"
           "def h():\n"
           "    return [1,\n"
           "            2]\n")
    assert skeleton(src, [1, 11]) == ("import torch\n"
                                      "\n"
                                      "class A:\n"
                                      "    pass\n"
                                      "    def f(self):\n"
                                      "        pass\n"
                                      "\n"
                                      "    @property\n"
                                      "    def g(self,\n"
                                      "          x=2):\n"
                                      "        y = torch.load(x)  # a comment\n"
                                      "        pass\n"
                                      "pass\n"
                                      "\n"
                                      "\n")


@pytest.mark.parametrize("text", [
    "match x:\n    case 1:\n        pass\n",  # a match statement
    "x = 1\n\f\ny = 2\n",  # a form feed
    'f"{a["k"]}"\n',  # a 3.12 f-string nesting its own quotes
    "x = " + "(" * (_NEST + 1) + "1" + ")" * (_NEST + 1) + "\n",  # brackets too deep
    "x = (1\n",  # brackets left open
    "x = 1)\n",  # a bracket closed that was not opened
    "if a:\nx = 1\n",  # a header without its block
    "  x = 1\n",  # an indentation at the top
    "if a:\n        x = 1\n    y = 2\n",  # a dedent to no block
    "@deco\n\nx = 1\n",  # a decorator on no def
])
def test_what_it_does_not_read_is_left_to_the_whole_parse(text):
    assert skeleton(text, [1]) is None


def test_a_python_2_file_is_parsed_whole_so_it_stays_python_2():
    """A cut could drop the statement that makes a file Python 2: ``parse`` does not cut a
    text that may be Python 2; such a file is read whole through its respelling
    (``oldsyntax``) and stays marked Python 2, so the py2 rule is found with the others."""
    src = "import torch\nprint 'hello'\nx = torch.load(p)\n"
    assert skeleton(src, [1, 3]) is not None  # the cut alone would parse, as Python 3
    for lines in ([1, 3], None):
        parsed = python.parse(src, lines)
        assert parsed is not None and parsed.py2
        found = {(m.rule.id, m.line) for m in python.matcher().find("a.py", parsed)}
        assert {("py2-syntax", 2), ("torch-load-weights-only", 3)} <= found


def test_the_kept_statements_are_the_source_text():
    src = CASES[3]
    cut = skeleton(src, list(range(1, src.count("\n") + 2)))
    assert cut.rstrip("\n") == src.rstrip("\n")


def test_code_is_ascii_when_non_ascii_is_only_in_comments_and_literals():
    """Python reads names NFKC-normalized (``ｔｏｒｃｈ`` is ``torch``), which a text search
    does not: such a file is read whole; non-ASCII text in comments and literals is not."""
    from repro_core.match.skeleton import code_is_ascii
    from repro_core.scan.python_api import analyze

    assert code_is_ascii("import torch\nx = 1\n")
    assert code_is_ascii("# 训练\nimport numpy as np\ns = '模型'  # ©\nt = '''\né\n'''\n")
    assert not code_is_ascii("import torch\nｔｏｒｃｈ.load(p)\n")
    assert not code_is_ascii("x = 1\nmodèle = 2\n")
    assert not code_is_ascii("x = f'{a['b']}' + 'é'\n")  # a 3.12 f-string: not followed
    # a file commented in Chinese, with a match among many statements: analysed on its cut,
    # it reports what reading every node of the whole file does
    noise = "".join(f"# 第{i}步\ndef f{i}(a):\n    return a + {i}  # 加\n\n\n" for i in range(20))
    m = python.matcher()
    for text in (noise + "import numpy as np\nx = np.float(1)  # 浮点\n" + noise,
                 "import torch\n" + noise + "y = torch.FloatTensor(3)\nz = 'ｔｏｒｃｈ'\n"):
        whole = python.parse(text)
        want = tuple((h.rule.id, h.line, h.api) for h in m.find("a.py", whole))
        assert want and analyze("a.py", text).hits == want
        assert skeleton(text, m.hot_lines(text)) is not None
