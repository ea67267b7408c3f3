"""Sources in a syntax today's Python no longer reads, read as the Python they were written
for read them: Python 2 statements (``print x``, ``except E, e:``, ``exec s``, ``<>``, ``10L``)
and words reserved since (``x.cuda(async=True)``, Python 3.7) are respelled as Python 3 of the
same length. Every other statement keeps its nodes, lines and columns, so the rules still read
the whole file, where before one ``print`` statement hid every other use in it.

Python 2 edits are made where the text is code (comments and literals masked first, as
``skeleton`` does); a reserved word is respelled as a name the text does not hold, then
restored in the tree (names, attributes, keywords, parameters, strings).
"""

import ast
import re
from typing import Dict, List, Optional, Tuple

from repro_core.match.skeleton import masked

Edit = Tuple[int, int, str]  # (start, end, same-length replacement)

# ``print x`` / ``exec s`` at a statement's start: the blank after the word becomes ``;``
# (``print;x`` is two Python 3 statements: the name, then the printed expression), a ``>>``
# target marker blanks; not a call, an assignment or an attribute (``print(x)``, ``print =``)
_PRINT = re.compile(r"(?m)(?:^|(?<=[:;]))[ \t]*(?:print|exec)\b([ \t]+)(>>)?(?=[^\s(=.,)\]};:#])")
# ``except E, e:`` / ``except (A, B), e:``: the name after the comma blanks
_EXCEPT = re.compile(r"(?m)^[ \t]*except[ \t]*(?:\([^)\n]*\)|[\w.]+)[ \t]*(,[ \t]*\w+)[ \t]*:")
# ``raise E, "message"``: the comma becomes ``;``
_RAISE = re.compile(r"(?m)^[ \t]*raise[ \t]+[\w.]+[ \t]*(,)")
_NOT_EQUAL = re.compile("<>")
_BACKTICKS = re.compile(r"`[^`\n]*`")  # ``repr`` in backticks: parentheses
_LONG = re.compile(r"\b(?:0[xX][0-9a-fA-F]+|\d+)([lL])\b")  # ``10L``
_OCTAL = re.compile(r"(?<![\w.])(0)[0-7]+\b(?![.eEjJ])")  # ``0777``: a blank for its 0
_UR = re.compile(r"(?<![\w])([uU])[rR]'")  # ``ur'...'`` (masked literals start with ')


def _py2_edits(code: str) -> List[Edit]:
    """The same-length edits that make the Python 2 statements of ``code`` (masked) Python 3."""
    out: List[Edit] = []
    for m in _PRINT.finditer(code):
        out.append((m.start(1), m.start(1) + 1, ";"))
        if m.group(2):
            out.append((m.start(2), m.end(2), "  "))
    for rx, repl in ((_EXCEPT, " "), (_RAISE, ";"), (_LONG, " "), (_OCTAL, " "), (_UR, " ")):
        out += [(m.start(1), m.end(1), repl * (m.end(1) - m.start(1))) for m in rx.finditer(code)]
    out += [(m.start(), m.end(), "!=") for m in _NOT_EQUAL.finditer(code)]
    for m in _BACKTICKS.finditer(code):
        out += [(m.start(), m.start() + 1, "("), (m.end() - 1, m.end(), ")")]
    return out


def _apply(text: str, edits: List[Edit]) -> str:
    parts, pos = [], 0
    for start, end, repl in sorted(edits):
        if start < pos:
            continue  # overlapping edits (none expected): the first wins
        parts += [text[pos:start], repl]
        pos = end
    return "".join(parts) + text[pos:]


# words reserved since Python 3.7 that older code used as names (torch 0.3's
# ``x.cuda(async=True)``): ``async`` where it starts no ``async def/with/for``, ``await`` as a
# keyword argument or parameter (elsewhere it may be the operator). The one group is what
# precedes the word. Also the text test of the ``reserved`` rules (``match.python.needles``).
RESERVED_USES = {"async": r"()async(?<!\wasync)(?!\w)(?![ \t]+(?:def|with|for)\b)",
                 "await": r"([(,]\s*)await(?=\s*=(?!=))"}
_RESERVED_USES = {w: re.compile(rx) for w, rx in RESERVED_USES.items()}


def respelled(text: str) -> Tuple[str, Dict[str, str]]:
    """``text`` with each reserved word used as a name respelled (same length), and
    respelling -> word (empty: none). ``migrate`` rewrites the respelled text."""
    back: Dict[str, str] = {}
    for word, uses in _RESERVED_USES.items():
        alias = next((a for a in (word[:-1] + "_", "_" + word[1:]) if a not in text), "")
        if word in text and alias:
            text, n = uses.subn(lambda m, a=alias: m.group(1) + a, text)
            if n:
                back[alias] = word
    return text, back


def _restore(tree: ast.AST, back: Dict[str, str]) -> None:
    for node in ast.walk(tree):
        t = type(node)
        field = "id" if t is ast.Name else "attr" if t is ast.Attribute else "arg" if t in (
            ast.keyword, ast.arg) else "value" if t is ast.Constant and type(
            node.value) is str else ""  # type: ignore[attr-defined]
        value = getattr(node, field, None) if field else None
        if value:
            for alias, word in back.items():
                value = value.replace(alias, word) if field == "value" else (
                    word if value == alias else value)
            setattr(node, field, value)


def tree(text: str) -> Optional[Tuple[ast.AST, bool, bool]]:
    """(the tree of ``text`` read as its Python read it, whether Python 2 statements were
    respelled, whether a reserved word was); None when nothing here applies or the text does
    not parse so either. For a text ``ast.parse`` refused."""
    code = masked(text)
    edits = _py2_edits(code) if code is not None else []
    fixed, back = respelled(_apply(text, edits) if edits else text)
    if not edits and not back:
        return None
    try:
        got = ast.parse(fixed)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    _restore(got, back)
    return got, bool(edits), bool(back)
