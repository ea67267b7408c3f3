"""A Python source cut down to the statements that span some lines, for a cheaper parse.

``skeleton(text, lines)`` keeps, where they are, the statements that span one of ``lines``
(a compound one: its decorators, its headers, ``else``/``except`` ones included, and its
blocks cut the same way) and puts one ``pass`` in place of every other statement. So
``ast.parse`` of the skeleton has, for each statement spanning one of the lines, the very
nodes (types, lines, columns) the whole source has, at a fraction of the cost.

The structure is read from the text as Python's tokenizer reads it: comments and string
literals are masked first, then a regex reads logical lines (open brackets, a trailing
backslash and a literal over lines join physical ones), and indentation tells the blocks.
None when the text holds what this reading does not follow (a ``match`` statement, a form
feed, brackets nested deeper than ``_NEST``, an f-string whose braces do not pair up: a 3.12
f-string nesting its own quotes) or is not well formed: the caller parses it whole.

Two things stay in a kept statement beyond what spans the lines, because rules read them:
in a class body, each method's decorators and header (its body one ``pass``: subclasses of
``torch.autograd.Function`` are judged by the methods they define), and in an ``except``
block, its ``raise`` statements (they decide whether a guarded import is optional).
"""

import bisect
import re
from typing import List, Optional, Tuple

# a comment or a string literal (a literal's prefix changes nothing here); a backslash
# escapes what follows it, a line end too
_TOKEN = re.compile(r"""
    \#[^\r\n]*
  | '''[^'\\]*(?:(?:\\(?:\r\n|.)|'(?!''))[^'\\]*)*'''
  | \"\"\"[^"\\]*(?:(?:\\(?:\r\n|.)|"(?!""))[^"\\]*)*\"\"\"
  | '[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*'
  | "[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*"
    """, re.X | re.S)
_NEST = 8  # bracket depth read (deeper: the source is parsed whole)


def _group(depth: int) -> str:
    inner = r"[^()\[\]{}]+" if depth == 1 else r"[^()\[\]{}]+|" + _group(depth - 1)
    return r"[(\[{](?:" + inner + r")*[)\]}]"


# a logical line of the masked text: the blank lines before it, its indentation, its first
# word, its parts (a masked literal, a colon that does not end it, a backslash, brackets
# over lines) and whether a colon ends it (a header)
_LOGICAL = re.compile(r"(?:[ \t\r]*\n)*([ \t]*)(@|[A-Za-z_]\w*)?"
                      r"(?:[^()\[\]{}\\\n:']+|'[^']*'|:(?![ \t\r]*(?:\n|\Z))|\\\n?|"
                      + _group(_NEST) + r")*(:?)[ \t\r]*(?:\n|\Z)")
_CLAUSES = frozenset(("elif", "else", "except", "finally"))


class _Malformed(Exception):
    """The text is not read the way Python reads it: the caller parses it whole."""


def _mask(text: str) -> str:
    """``text`` with each comment made blanks and each string literal ``'___'`` (its line
    ends kept): the same length, lines and indentations; no bracket, colon or quote is left
    in a comment or literal."""
    return _TOKEN.sub(_masked, text)


def masked(text: str) -> Optional[str]:
    """``text`` with its comments and literals masked (``_mask``); None where the masking
    does not follow it (a 3.12 f-string nesting its own quotes)."""
    try:
        return _mask(text)
    except _Malformed:
        return None


def code_is_ascii(text: str) -> bool:
    """Is every non-ASCII character of ``text`` in a comment or a string literal (its names,
    which Python reads NFKC-normalized, are then as a text search sees them)?"""
    if text.isascii():
        return True
    code = masked(text)
    return code is not None and code.isascii()


def _masked(m: "re.Match[str]") -> str:
    s = m.group()
    if s[0] == "#":
        return " " * len(s)
    if "{" in s and s.count("{") != s.count("}") and "f" in _prefix(m).lower():
        raise _Malformed  # maybe an f-string cut short by its own quote (Python 3.12+)
    if "\n" not in s:
        return "'" + "_" * (len(s) - 2) + "'"
    return "'" + "\n".join("_" * len(p) for p in s.split("\n"))[1:-1] + "'"


def _prefix(m: "re.Match[str]") -> str:
    """The prefix of the string literal ``m`` (``rb``, ``f``)."""
    text, i = m.string, m.start()
    j = i
    while j > max(0, i - 2) and text[j - 1] in "rRbBuUfF":
        j -= 1
    return "" if j and (text[j - 1].isalnum() or text[j - 1] == "_") else text[j:i]


# a logical line: (start of the blank lines before it, start of its first line, end (after
# its line end), indentation width, indentation, first word ("@": a decorator), a header)
Logical = Tuple[int, int, int, int, str, str, bool]


def _logical_lines(masked: str) -> List[Logical]:
    out: List[Logical] = []
    append, pos, end = out.append, 0, len(masked)
    for m in _LOGICAL.finditer(masked):
        if m.start() != pos:
            raise _Malformed  # brackets that do not pair up, or nest too deep
        pos = m.end()
        ws, word, colon = m.groups()
        if pos == end:
            if masked[m.end(1):].strip():
                append((m.start(), m.start(1), pos, len(ws.expandtabs(8)), ws, word or "",
                        colon == ":"))
            return out
        append((m.start(), m.start(1), pos, len(ws.expandtabs(8)) if "\t" in ws else len(ws),
                ws, word or "", colon == ":"))
    raise _Malformed


def _line_starts(text: str, lines: List[int]) -> List[int]:
    """The offsets where ``lines`` (1-based, sorted) start."""
    out: List[int] = []
    line, pos = 1, 0
    for n in lines:
        while line < n:
            pos = text.find("\n", pos) + 1
            if not pos:
                return out
            line += 1
        out.append(pos)
    return out


class _Cutter:
    def __init__(self, text: str, lines: List[int]) -> None:
        self.text = text
        self.logical = _logical_lines(_mask(text))
        self.hot = _line_starts(text, lines)
        self.out: List[str] = []

    def spans_hot(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.hot, start)
        return i < len(self.hot) and self.hot[i] < end

    def keep(self, k: int, j: int) -> None:
        """Logical lines ``k`` to ``j - 1`` as they are."""
        self.out.append(self.text[self.logical[k][0]:self.logical[j - 1][2]])

    def passes(self, k: int, j: int) -> None:
        """Logical lines ``k`` to ``j - 1`` made one ``pass`` (at the first one's line)."""
        lg, count = self.logical, self.text.count
        self.out.append("\n" * count("\n", lg[k][0], lg[k][1]) + lg[k][4] + "pass"
                        + "\n" * count("\n", lg[k][1], lg[j - 1][2]))

    def block(self, k: int, parent: str) -> int:
        """Cut the statements of the block starting at logical line ``k`` (its header's first
        word is ``parent``); returns the logical line after the block."""
        lg = self.logical
        indent = lg[k][3]
        while k < len(lg) and lg[k][3] == indent:
            k = self.statement(k, indent, parent)
        if k < len(lg) and lg[k][3] > indent:
            raise _Malformed  # an indentation that matches no block
        return k

    def statement(self, k: int, indent: int, parent: str) -> int:
        lg = self.logical
        start = k
        while lg[k][5] == "@":  # decorators, then their def or class
            k += 1
            if k == len(lg) or lg[k][3] != indent:
                raise _Malformed
        if start < k and lg[k][5] not in ("def", "class", "async"):
            raise _Malformed
        clauses: List[Tuple[int, int, int]] = []  # (header, its block, after the block)
        while True:
            if lg[k][6] and lg[k][5] == "match":
                raise _Malformed
            head, k = k, k + 1
            if lg[head][6]:
                if k == len(lg) or lg[k][3] <= indent:
                    raise _Malformed  # a header without its block
                body = k
                while k < len(lg) and lg[k][3] > indent:
                    k += 1
                clauses.append((head, body, k))
            else:
                clauses.append((head, -1, k))
            if k == len(lg) or lg[k][3] != indent or lg[k][5] not in _CLAUSES:
                break
        head0, body0, _ = clauses[0]
        word = lg[head0][5]
        if self.spans_hot(lg[start][1], lg[k - 1][2]):
            if start < head0:
                self.keep(start, head0)  # decorators
            for head, body, after in clauses:
                self.keep(head, head + 1)
                if body >= 0 and self.block(body, lg[head][5]) != after:
                    raise _Malformed
        elif parent == "class" and word in ("def", "async"):
            self.keep(start, head0 + 1)  # decorators and header
            if body0 >= 0:
                self.passes(body0, k)
        elif parent == "except" and word == "raise":
            self.keep(start, k)
        else:
            self.passes(start, k)
        return k


def skeleton(text: str, lines: List[int]) -> Optional[str]:
    """``text`` with only the statements spanning one of ``lines`` (1-based, sorted), every
    other one a ``pass``; None when the text is not read here (parse it whole)."""
    if "\f" in text:
        return None
    try:
        cut = _Cutter(text, lines)
        k = 0
        while k < len(cut.logical):
            if cut.logical[k][3] != 0:
                raise _Malformed
            k = cut.statement(k, 0, "")
    except _Malformed:
        return None
    return "".join(cut.out)
