"""C/C++/CUDA sources of extensions: legacy-API detection (the kb's cpp rules) per line."""

import re
from functools import lru_cache
from typing import List, Tuple

from repro_core.rules import Rule, for_source

CPP_EXT = (".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh", ".h", ".hh", ".hpp", ".hxx", ".inl")
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


@lru_cache(maxsize=1)
def _rules() -> Tuple[Tuple[Rule, "re.Pattern[str]"], ...]:
    return tuple((r, re.compile(p["regex"])) for r in for_source("cpp") for p in r.patterns)


def _blank(m: "re.Match[str]") -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def analyze(text: str) -> List[Tuple[Rule, int, str]]:
    """[(rule, line, matched text)] for one C++/CUDA source, comments ignored."""
    rules = _rules()
    code = _COMMENTS.sub(_blank, text)
    out = []
    for lineno, line in enumerate(code.splitlines(), 1):
        if not line.strip():
            continue
        for r, rx in rules:
            m = rx.search(line)
            if m:
                out.append((r, lineno, m.group(0).strip()))
    return out
