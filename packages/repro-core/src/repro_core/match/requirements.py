"""Stated requirements (from requirements files, setup.py, environment.yml, READMEs, ...):
the requirement rules matched against the name and pin of each (``timm==0.3.2`` -> timm's
``pinned: <0.4.5`` rule)."""

import re
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from repro_core.kb.rules import Rule
from repro_core.kb.rules import rules as kb_rules
from repro_core.match.span import Lines, Match

_PIN = re.compile(r"^===?\s*([\w.]+?)(\.\*)?$")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SPEC = re.compile(r"(?:\s*\[[^\]\n]*\])?(?:\s*(?:===|==|~=|!=|<=|>=|<|>|=)\s*[\w.*+!-]+"
                   r"(?:\s*,)?)*")


@dataclass(frozen=True)
class Stated:
    """A requirement a source states: ``timm`` ``==0.3.2`` at ``requirements.txt`` line 3
    (``name`` canonical, as scan reports requirements)."""

    name: str
    specifier: str
    path: str
    line: int


def _pinned_ok(spec: str, version: str) -> bool:
    try:
        return SpecifierSet(spec).contains(Version(version.split("+")[0]), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def find(stated: Sequence[Stated], rules: Optional[Sequence[Rule]] = None,
         read: Optional[Callable[[str], Optional[str]]] = None) -> List[Match]:
    """The requirement rules (default: the knowledge base's) matched against ``stated``, rule
    by rule. ``read(path)`` gives the text a requirement was read from, to find its span: the
    requirement as written (``timm==0.3.2``) on its line or a continuation line, else the whole
    line; without text the span is empty at the line's start."""
    out: List[Match] = []
    texts: dict = {}
    for rule in kb_rules(kind="requirements") if rules is None else rules:
        for p in rule.patterns:
            if p.kind != "requirement":
                continue
            want = canonicalize_name(p.value)
            for s in stated:
                if s.name != want:
                    continue
                if p.pinned:
                    pin = _PIN.match(s.specifier)
                    if not (pin and _pinned_ok(p.pinned, pin.group(1))):
                        continue
                if s.path not in texts:
                    texts[s.path] = Lines((read(s.path) if read else None) or "")
                out.append(_located(texts[s.path], rule, s))
    return out


def _located(lines: Lines, rule: Rule, s: Stated) -> Match:
    api = f"{s.name}{s.specifier}"
    if not lines.text:  # no text: the stated line, an empty span
        return Match(rule, s.path, s.line, 0, s.line, 0, 0, 0, "", api, s)
    span = _span(lines, s.line, s.name)
    if span is None:  # the whole line, without surrounding blanks
        raw = lines.line(s.line)
        start = lines.offset(s.line, len(raw) - len(raw.lstrip()))
        span = (start, start + len(raw.strip()))
    return lines.match(rule, s.path, span[0], span[1], api, s)


def _span(lines: Lines, line: int, name: str) -> Optional[Tuple[int, int]]:
    """Offsets of ``name`` and its specifier as written on ``line`` or its backslash
    continuations."""
    n = line
    while 1 <= n <= len(lines.starts):
        text = lines.line(n)
        for m in _NAME.finditer(text):
            if canonicalize_name(m.group(0)) == name and (
                    m.start() == 0 or not text[m.start() - 1].isalnum()):
                tail = _SPEC.match(text, m.end())
                end = tail.end() if tail else m.end()
                while end > m.end() and text[end - 1] in " \t,":
                    end -= 1
                base = lines.starts[n - 1]
                return base + m.start(), base + end
        if not text.rstrip().endswith("\\"):
            return None
        n += 1
    return None
