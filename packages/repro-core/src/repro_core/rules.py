"""API breakage rules: one record per breakage, loaded from ``kb/data/rules/<library>.json``.

One rule list drives scan (findings + version bounds), plan (migrations), migrate (codemod id)
and diagnose (error texts). A rule's ``patterns`` say how to detect the usage:

Python sources (``"source": "python"``), names resolved through the file's imports:
  ``{"name": [dotted...], "prefix": bool}``   an import/attribute/name resolving to one of these
  ``{"call": [dotted...], "prefix": bool, "keyword": [k], "no_keyword": [k], "arg0": [s]}``
  ``{"method": [attr...], "arg0": [s]}``      a call ``<anything>.attr(...)``
  ``{"subscript_attr": "data", "index": 0, "receiver": regex}``   ``x.data[0]``
  ``{"string": regex}``                        a string literal
  ``{"node": "JoinedStr"}``                    an ast node type (syntax features)
  ``{"py2": true}``                            the file only parses as Python 2
C++/CUDA sources (``"source": "cpp"``): ``{"regex": ...}`` per line, comments removed.
Requirements (``"source": "requirements"``): ``{"requirement": name, "pinned": spec}``.

``bound`` is a PEP 508 requirement (``torch<1.8`` for an old API, ``torch>=2.0`` for a new one);
``hard`` says whether scan adds it to the constraints (soft bounds only feed plan migrations).
"""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement

from repro_core import kb
from repro_core.errors import ReproError

SOURCES = ("python", "cpp", "requirements")
SAFETY = ("safe", "needs-review")
_PATTERN_KEYS = {
    "python": {"name", "call", "method", "subscript_attr", "string", "node", "py2"},
    "cpp": {"regex"},
    "requirements": {"requirement"},
}


@dataclass(frozen=True)
class Rule:
    id: str
    library: str
    source: str
    patterns: Tuple[Dict[str, Any], ...]
    message: str
    fix: str
    safety: str
    bound: Optional[str] = None
    hard: bool = True
    deprecated: Optional[str] = None
    removed: Optional[str] = None
    introduced: Optional[str] = None
    errors: Tuple[str, ...] = ()
    codemod: Optional[str] = None
    ref: Optional[str] = None
    once_per_file: bool = False
    examples: Dict[str, Tuple[str, ...]] = field(default_factory=dict)

    @property
    def requirement(self) -> Optional[Requirement]:
        """The bound as a parsed requirement (package name + specifier), or None."""
        return Requirement(self.bound) if self.bound else None

    @property
    def package(self) -> Optional[str]:
        return self.requirement.name.lower() if self.bound else None

    @property
    def specifier(self) -> str:
        return str(self.requirement.specifier) if self.bound else ""


def _rule(row: dict, where: str) -> Rule:
    def need(key: str, kind: type = str) -> Any:
        if not isinstance(row.get(key), kind):
            raise ReproError(f"{where}: field {key!r} missing or not a {kind.__name__}")
        return row[key]

    rid = need("id")
    where = f"{where} rule {rid}"
    source = need("source")
    if source not in SOURCES:
        raise ReproError(f"{where}: source {source!r} not one of {SOURCES}")
    if need("safety") not in SAFETY:
        raise ReproError(f"{where}: safety {row['safety']!r} not one of {SAFETY}")
    pats = need("patterns", list)
    for p in pats:
        if not isinstance(p, dict) or not set(p) & _PATTERN_KEYS[source]:
            raise ReproError(f"{where}: pattern {p!r} has none of {sorted(_PATTERN_KEYS[source])}")
    bound = row.get("bound")
    if bound is not None:
        try:
            Requirement(bound)
        except InvalidRequirement as e:
            raise ReproError(f"{where}: bound {bound!r}: {e}") from None
    ex = row.get("examples") or {}
    if not ex.get("trigger") or not ex.get("clean"):
        raise ReproError(f"{where}: examples need a 'trigger' and a 'clean' list")
    return Rule(
        id=rid, library=need("library"), source=source, patterns=tuple(pats),
        message=need("message"), fix=need("fix"), safety=row["safety"], bound=bound,
        hard=bool(row.get("hard", True)), deprecated=row.get("deprecated"),
        removed=row.get("removed"), introduced=row.get("introduced"),
        errors=tuple(row.get("errors", ())), codemod=row.get("codemod"), ref=row.get("ref"),
        once_per_file=bool(row.get("once_per_file", False)),
        examples={k: tuple(v) for k, v in ex.items()},
    )


@lru_cache(maxsize=None)
def all_rules() -> Tuple[Rule, ...]:
    """Every rule of every ``kb/data/rules/*.json`` file; ids are unique."""
    out: List[Rule] = []
    seen: Dict[str, str] = {}
    for name in kb.names("rules"):
        data = kb.load(name)
        for row in data.get("rules", []):
            r = _rule(row, f"kb/data/{name}.json")
            if r.id in seen:
                raise ReproError(f"kb/data/{name}.json: rule id {r.id!r} also in {seen[r.id]}")
            seen[r.id] = name
            out.append(r)
    return tuple(out)


def by_id(rule_id: str) -> Rule:
    for r in all_rules():
        if r.id == rule_id:
            return r
    raise ReproError(f"unknown rule id {rule_id!r}")


def for_source(source: str) -> Tuple[Rule, ...]:
    return tuple(r for r in all_rules() if r.source == source)
