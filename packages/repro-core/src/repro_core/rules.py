"""Compatibility names for the breakage rules, which live in ``repro_core.kb.rules`` (the
record, its validation and the queries ``kb.rules()``/``kb.rule()``); the patterns are
interpreted by ``repro_core.match``."""

from typing import Tuple

from repro_core.kb.rules import SAFETY, SOURCES, Pattern, Rule, all_rules
from repro_core.kb.rules import rule as by_id
from repro_core.kb.rules import rules as _rules

__all__ = ["SAFETY", "SOURCES", "Pattern", "Rule", "all_rules", "by_id", "for_source"]


def for_source(source: str) -> Tuple[Rule, ...]:
    return _rules(kind=source)
