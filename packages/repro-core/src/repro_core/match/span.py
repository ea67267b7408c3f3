"""``Match``: a rule detected at an exact span of a source text, and the line table that
turns positions into offsets (lines end at ``\\n``, ``\\r\\n`` or ``\\r``, as in editors and
Python's tokenizer)."""

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Dict, List, Optional, Tuple

from repro_core.kb.rules import Rule

NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Match:
    """``rule`` matched ``text``, which is ``source[start:end]`` of the text given to the
    matcher, from line ``line`` column ``col`` to line ``end_line`` column ``end_col``
    (lines from 1, columns from 0, in characters; end exclusive). ``api`` is what matched as
    scan reports it (e.g. the dotted name the code resolves to); ``node`` the ast node for
    Python sources."""

    rule: Rule
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    start: int
    end: int
    text: str
    api: str
    node: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> Dict[str, Any]:
        return {"rule": self.rule.id, "path": self.path, "line": self.line, "col": self.col,
                "end_line": self.end_line, "end_col": self.end_col, "start": self.start,
                "end": self.end, "text": self.text, "api": self.api}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Match":
        from repro_core.kb.rules import rule

        return cls(rule=rule(d["rule"]), **{k: v for k, v in d.items() if k != "rule"})


class Lines:
    """Line starts of one text: (line, column) <-> offset."""

    __slots__ = ("text", "starts", "ascii")

    def __init__(self, text: str):
        self.text = text
        self.ascii = text.isascii()
        if "\r" in text:
            self.starts: List[int] = [0]
            self.starts.extend(m.end() for m in NEWLINE.finditer(text))
        else:
            self.starts = list(accumulate([0] + [len(x) + 1 for x in text.split("\n")[:-1]]))

    def line(self, n: int) -> str:
        """Line ``n`` (from 1) without its line end."""
        if not 1 <= n <= len(self.starts):
            return ""
        end = self.starts[n] if n < len(self.starts) else len(self.text)
        return self.text[self.starts[n - 1]:end].rstrip("\r\n")

    def offset(self, line: int, col: int) -> int:
        line = min(max(line, 1), len(self.starts))
        return min(self.starts[line - 1] + col, len(self.text))

    def position(self, offset: int) -> Tuple[int, int]:
        i = bisect_right(self.starts, offset)
        return i, offset - self.starts[i - 1]

    def match(self, rule: Rule, path: str, start: int, end: int, api: str,
              node: Optional[Any] = None) -> Match:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Match(rule, path, line, col, end_line, end_col, start, end,
                     self.text[start:end], api, node)
