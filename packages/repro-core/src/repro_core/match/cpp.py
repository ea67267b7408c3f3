"""C/C++/CUDA sources: each cpp rule's regex searched line by line, comments removed (the
first match of each pattern per line)."""

import re
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

from repro_core.kb.rules import Rule
from repro_core.kb.rules import rules as kb_rules
from repro_core.match.span import NEWLINE, Lines, Match

_COMMENTS = re.compile(r"//[^\r\n]*|/\*.*?\*/", re.S)
_NOT_NEWLINE = re.compile(r"[^\r\n]")


def _blank(m: "re.Match[str]") -> str:
    return _NOT_NEWLINE.sub(" ", m.group(0))  # same length, same lines


@lru_cache(maxsize=8)
def _compiled(rules: Tuple[Rule, ...]) -> Tuple[Tuple[Rule, "re.Pattern[str]"], ...]:
    return tuple((r, re.compile(p.value)) for r in rules for p in r.patterns if p.kind == "regex")


def find(path: str, text: str, rules: Optional[Sequence[Rule]] = None) -> List[Match]:
    """The cpp rules (default: the knowledge base's) matched in one C++/CUDA source, in line
    order; a match's span is the regex match without surrounding blanks."""
    pats = _compiled(tuple(kb_rules(kind="cpp") if rules is None else rules))
    code = _COMMENTS.sub(_blank, text)
    lines: Optional[Lines] = None
    out = []
    pos = 0
    for nl in [*NEWLINE.finditer(code), None]:
        end = nl.start() if nl else len(code)
        line = code[pos:end]
        if line.strip():
            for r, rx in pats:
                m = rx.search(line)
                if m:
                    api = m.group(0)
                    s = pos + m.start() + len(api) - len(api.lstrip())
                    e = pos + m.end() - (len(api) - len(api.rstrip()))
                    lines = lines or Lines(text)
                    out.append(lines.match(r, path, s, max(s, e), api.strip()))
        pos = nl.end() if nl else end
    return out
