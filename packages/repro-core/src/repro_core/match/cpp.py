"""C/C++/CUDA sources: each cpp rule's regex searched in the source with comments removed
(every match; one may span lines, as a call split over lines does). A pattern with a ``file``
regex matches only in a source that also matches it (``extension=True``: the caller knows the
source is an extension's, e.g. a setup.py builds it)."""

import re
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

from repro_core.kb.rules import Rule
from repro_core.kb.rules import rules as kb_rules
from repro_core.match.python import _alternatives, literals
from repro_core.match.span import Lines, Match

_COMMENTS = re.compile(r"//[^\r\n]*|/\*.*?\*/", re.S)
_NOT_NEWLINE = re.compile(r"[^\r\n]")

Compiled = Tuple[Rule, "re.Pattern[str]", Optional["re.Pattern[str]"], Tuple[str, ...]]

# a source that defines the Python module of an extension (scan and migrate read a source
# beside one as the extension's)
BINDING = re.compile(r"^\s*(PYBIND11_MODULE|TORCH_LIBRARY(_IMPL)?)\s*\(", re.M)


def binds(code: str) -> bool:
    """Does a source (``code_only``) define a Python module (``BINDING``)?"""
    return ("PYBIND11_MODULE" in code or "TORCH_LIBRARY" in code) and bool(BINDING.search(code))

def _blank(m: "re.Match[str]") -> str:
    return _NOT_NEWLINE.sub(" ", m.group(0))  # same length, same lines


def code_only(text: str) -> str:
    """``text`` with its comments blanked (same length, same line breaks)."""
    return _COMMENTS.sub(_blank, text)


def needles(pattern: str) -> Tuple[str, ...]:
    """Texts one of which every match of ``pattern`` contains: ``python.literals`` of each
    top-level alternative; () when an alternative has none. A source without any is not
    searched (a regex search tries every position of the source)."""
    out: List[str] = []
    for alt in _alternatives(pattern):
        lits = literals(alt)
        if not lits:
            return ()
        out += lits
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=8)
def _compiled(rules: Tuple[Rule, ...]) -> Tuple[Compiled, ...]:
    return tuple((r, re.compile(p.value, re.M), re.compile(p.file, re.M) if p.file else None,
                  needles(p.value))
                 for r in rules for p in r.patterns if p.kind == "regex")


def find(path: str, text: str, rules: Optional[Sequence[Rule]] = None,
         extension: bool = False, code: Optional[str] = None) -> List[Match]:
    """The cpp rules (default: the knowledge base's) matched in one C++/CUDA source, in text
    order; a match's span is the regex match without surrounding blanks, its ``api`` that text
    with whitespace runs collapsed when it spans lines. ``code``: ``code_only(text)``, when
    the caller has it."""
    pats = _compiled(tuple(kb_rules(kind="cpp") if rules is None else rules))
    code = code_only(text) if code is None else code
    lines: Optional[Lines] = None
    out = []
    for r, rx, file_rx, words in pats:
        if words and not any(w in code for w in words):
            continue
        if file_rx is not None and not extension and not file_rx.search(code):
            continue
        for m in rx.finditer(code):
            api = m.group(0)
            s = m.start() + len(api) - len(api.lstrip())
            e = m.end() - (len(api) - len(api.rstrip()))
            api = api.strip()
            if "\n" in api or "\r" in api:
                api = " ".join(api.split())
            if not api:
                continue
            lines = lines or Lines(text)
            out.append(lines.match(r, path, s, max(s, e), api))
    out.sort(key=lambda m: (m.start, m.end))
    return out
