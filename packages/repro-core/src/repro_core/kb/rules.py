"""Breakage rules: one frozen ``Rule`` per row of ``kb/data/rules/<library>.json``.

One rule list drives scan (findings + version bounds), plan (migrations), migrate (``codemod``)
and diagnose (``errors``). The rows are validated once, at first use; a malformed row is a
``ReproError`` naming the file, the row and the field. ``repro_core.match`` interprets the
patterns (one matcher per source kind). A rule's ``patterns`` say how to detect the usage:

Python sources (``"source": "python"``), names resolved through the file's imports:
  ``{"name": [dotted...], "prefix": bool}``   an import/attribute/name resolving to one of these
  ``{"call": [dotted...], "prefix": bool, "keyword": [k], "no_keyword": [k], "arg0": [s],
    "args": n}``                               (``args``: exactly n positional arguments)
  ``{"method": [attr...], "arg0": [s], "receiver": regex, "args": n, "unless_defined": true,
    "receiver_from": [dotted...]}``            a call ``<anything>.attr(...)`` (with
                                               ``receiver``: on a receiver it matches; with
                                               ``unless_defined``: in a file that defines no
                                               function ``attr``, whose class could be the
                                               receiver's; with ``receiver_from``: on a name or
                                               ``self.x`` the file assigns, every time, the
                                               result of a call of one of these)
  ``{"isinstance": [dotted...]}``              the class argument of ``isinstance(x, C)``
                                               (alone or in a tuple) resolving to one of these
  ``{"subscript_attr": "data", "index": 0, "receiver": regex}``   ``x.data[0]``
  ``{"string": regex}``                        a string literal
  ``{"node": "JoinedStr"}``                    an ast node type (syntax features)
  ``{"py2": true}``                            the file only parses as Python 2
  ``{"reserved": [word...]}``                  a word reserved since (``async``, Python 3.7) as
                                               a keyword argument or parameter name: the file
                                               is read as the Python it was written for read it
                                               (``match.python.parse`` respells the word)
  ``{"version_assert": [module...]}``          ``assert timm.__version__ == "0.3.2"``
  ``{"version_string": [module...]}``          ``M.__version__`` read as a string: sliced
                                               (``[:3]``), ``.split(".")``, ``.startswith(...)``,
                                               or ordered against a string literal (``>= "1.7"``)
  ``{"attribute": [attr...]}``                 ``<anything>.attr`` read (``ctx.saved_variables``)
  ``{"subclass": [dotted...], "defines": m, "undecorated": d}``   a class with one of these
                                               bases whose method ``m`` lacks decorator ``d``
                                               (a legacy ``autograd.Function``); at the base
  ``{"transposed_view": [method...]}``         ``v[...].view(...)`` where, in one function,
                                               ``v = p.eq(...)`` (or ``ne``/``==``/``!=``) and
                                               ``p = <a method's result>.t()`` (``topk``)
  ``{"scheduler_first": [dotted...], "optimizers": [dotted...]}``   ``s.step()``, a statement
                                               of a ``for``/``while`` body, where ``s`` is
                                               assigned (see ``receiver_from``) one of the
                                               first classes, no statement before it in that
                                               body steps an optimizer and one after it does:
                                               ``o.step(...)`` or ``x.step(o)`` with ``o``
                                               assigned one of ``optimizers``
C++/CUDA sources (``"source": "cpp"``): ``{"regex": ..., "file": regex}`` searched in the
  source with comments removed (a match may span lines); with ``file``, only in a source that
  also matches that regex (e.g. an extension: one that includes pybind11).
Requirements (``"source": "requirements"``): ``{"requirement": name, "pinned": spec}``.

``bound`` is a PEP 508 requirement (``torch<1.8`` for an old API, ``torch>=2.0`` for a new one);
``hard`` says whether scan adds it to the constraints (soft bounds only feed plan migrations).

    from repro_core import kb
    kb.rules(library="timm", kind="python")     # -> tuple of Rule
    kb.rule("torch-six").bound                  # -> "torch<2.0"
"""

import keyword
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from repro_core.errors import ReproError

SOURCES = ("python", "cpp", "requirements")
SAFETY = ("safe", "needs-review")
# pattern kind (its JSON key) -> the other keys it may have
PATTERN_KINDS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "python": {"name": ("prefix",), "call": ("prefix", "keyword", "no_keyword", "arg0", "args"),
               "method": ("arg0", "receiver", "args", "unless_defined", "receiver_from"),
               "isinstance": (),
               "subscript_attr": ("index", "receiver"),
               "string": (), "node": (), "py2": (), "reserved": (), "version_assert": (),
               "version_string": (),
               "attribute": (), "subclass": ("defines", "undecorated"), "transposed_view": (),
               "scheduler_first": ("optimizers",)},
    "cpp": {"regex": ("file",)},
    "requirements": {"requirement": ("pinned",)},
}
_FIELDS = {"id", "library", "source", "patterns", "message", "fix", "safety", "bound", "hard",
           "deprecated", "removed", "introduced", "errors", "codemod", "ref", "once_per_file",
           "examples", "source_note"}


@dataclass(frozen=True)
class Pattern:
    """One detection form of a rule; ``kind`` is its JSON key (see the module docstring).
    ``values``: the dotted names / method names (name, call, method), else one item: the
    attribute (subscript_attr), the regex (string, regex), the ast node type (node), the
    distribution (requirement); empty for py2."""

    kind: str
    values: Tuple[str, ...] = ()
    prefix: bool = False
    keyword: Tuple[str, ...] = ()
    no_keyword: Tuple[str, ...] = ()
    arg0: Tuple[str, ...] = ()
    index: Optional[int] = None  # subscript_attr: the constant index
    args: Optional[int] = None  # call, method: the exact number of positional arguments
    unless_defined: bool = False  # method: not in a file that defines a function of that name
    receiver_from: Tuple[str, ...] = ()  # method: what every assignment of the receiver calls
    optimizers: Tuple[str, ...] = ()  # scheduler_first: the optimizer classes
    receiver: str = ""  # subscript_attr, method: regex the receiver's text must contain
    pinned: str = ""  # requirement: specifier the stated pin must satisfy ("" = any statement)
    file: str = ""  # regex: regex the whole source (comments removed) must also match
    defines: str = ""  # subclass: the method it must define
    undecorated: str = ""  # subclass: the decorator that method lacks

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""


@dataclass(frozen=True)
class Rule:
    id: str
    library: str
    source: str  # python | cpp | requirements: the matcher that detects it
    patterns: Tuple[Pattern, ...]
    message: str
    fix: str
    safety: str  # safe | needs-review (for migrate)
    bound: Optional[str] = None
    hard: bool = True
    deprecated: Optional[str] = None
    removed: Optional[str] = None
    introduced: Optional[str] = None
    errors: Tuple[str, ...] = ()
    codemod: Optional[str] = None
    ref: Optional[str] = None
    once_per_file: bool = False
    examples: Dict[str, Tuple[str, ...]] = field(default_factory=dict, compare=False)
    source_note: Optional[str] = None

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


def _strings(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(s, str) and s for s in v)


def _regex(v: Any) -> bool:
    try:
        re.compile(v)
    except (re.error, TypeError):
        return False
    return isinstance(v, str) and bool(v)


def _specifier(v: Any) -> bool:
    try:
        SpecifierSet(v)
    except (InvalidSpecifier, TypeError):
        return False
    return isinstance(v, str)


# key -> (check, what it must be)
_CHECKS = {
    "name": (_strings, "a non-empty list of dotted names"),
    "call": (_strings, "a non-empty list of dotted names"),
    "method": (_strings, "a non-empty list of attribute names"),
    "keyword": (_strings, "a non-empty list of keyword names"),
    "no_keyword": (_strings, "a non-empty list of keyword names"),
    "arg0": (_strings, "a non-empty list of strings"),
    "args": (lambda v: type(v) is int and v >= 0, "a non-negative integer"),
    "unless_defined": (lambda v: v is True, "true"),
    "receiver_from": (_strings, "a non-empty list of dotted names"),
    "scheduler_first": (_strings, "a non-empty list of dotted names"),
    "optimizers": (_strings, "a non-empty list of dotted names"),
    "isinstance": (_strings, "a non-empty list of dotted names"),
    "prefix": (lambda v: isinstance(v, bool), "true or false"),
    "py2": (lambda v: v is True, "true"),
    "reserved": (lambda v: _strings(v) and all(keyword.iskeyword(w) for w in v),
                 "a non-empty list of Python reserved words"),
    "subscript_attr": (lambda v: isinstance(v, str) and v.isidentifier(), "an attribute name"),
    "index": (lambda v: type(v) is int, "an integer"),
    "receiver": (_regex, "a regular expression"),
    "string": (_regex, "a regular expression"),
    "regex": (_regex, "a regular expression"),
    "file": (_regex, "a regular expression"),
    "node": (lambda v: isinstance(v, str) and v.isidentifier(), "an ast node type name"),
    "version_assert": (_strings, "a non-empty list of module names"),
    "version_string": (_strings, "a non-empty list of module names"),
    "attribute": (_strings, "a non-empty list of attribute names"),
    "subclass": (_strings, "a non-empty list of dotted names"),
    "defines": (lambda v: isinstance(v, str) and v.isidentifier(), "a method name"),
    "undecorated": (lambda v: isinstance(v, str) and v.isidentifier(), "a decorator name"),
    "transposed_view": (_strings, "a non-empty list of method names"),
    "requirement": (lambda v: isinstance(v, str) and bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*", v)),
                    "a distribution name"),
    "pinned": (_specifier, "a version specifier"),
}


def _pattern(p: Any, source: str, where: str) -> Pattern:
    kinds = PATTERN_KINDS[source]
    if not isinstance(p, dict):
        raise ReproError(f"{where}: not an object")
    found = [k for k in p if k in kinds]
    if len(found) != 1:
        raise ReproError(f"{where}: needs exactly one of {sorted(kinds)} (has {sorted(p)})")
    kind = found[0]
    extra = set(p) - {kind} - set(kinds[kind])
    if extra:
        raise ReproError(f"{where}: field {sorted(extra)[0]!r} not allowed with {kind!r}")
    for k, v in p.items():
        check, what = _CHECKS[k]
        if not check(v):
            raise ReproError(f"{where}: field {k!r} must be {what}, not {v!r}")
    if kind == "subscript_attr" and "index" not in p:
        raise ReproError(f"{where}: field 'index' missing")
    if kind == "scheduler_first" and "optimizers" not in p:
        raise ReproError(f"{where}: field 'optimizers' missing")
    if kind == "subclass" and not ("defines" in p and "undecorated" in p):
        raise ReproError(f"{where}: fields 'defines' and 'undecorated' needed with 'subclass'")
    v = p[kind]
    return Pattern(
        kind=kind, values=() if kind == "py2" else tuple(v) if isinstance(v, list) else (v,),
        prefix=p.get("prefix", False), keyword=tuple(p.get("keyword", ())),
        no_keyword=tuple(p.get("no_keyword", ())), arg0=tuple(p.get("arg0", ())),
        index=p.get("index"), args=p.get("args"),
        unless_defined=p.get("unless_defined", False),
        receiver_from=tuple(p.get("receiver_from", ())),
        optimizers=tuple(p.get("optimizers", ())), receiver=p.get("receiver", ""),
        pinned=p.get("pinned", ""), file=p.get("file", ""), defines=p.get("defines", ""),
        undecorated=p.get("undecorated", ""))


def parse_rule(row: Any, where: str) -> Rule:
    """One JSON row -> Rule; ``where`` (file and row) starts every error message."""
    if not isinstance(row, dict):
        raise ReproError(f"{where}: not an object")
    if isinstance(row.get("id"), str):
        where = f"{where} ({row['id']})"

    def need(key: str, kind: type = str) -> Any:
        v = row.get(key)
        if not isinstance(v, kind) or not v:
            raise ReproError(f"{where}: field {key!r} missing or not a non-empty {kind.__name__}")
        return v

    def opt(key: str, kind: type = str) -> Any:
        v = row.get(key)
        if v is not None and not isinstance(v, kind):
            raise ReproError(f"{where}: field {key!r} must be a {kind.__name__}, not {v!r}")
        return v

    extra = sorted(set(row) - _FIELDS)
    if extra:
        raise ReproError(f"{where}: unknown field {extra[0]!r}")
    rid = need("id")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", rid):
        raise ReproError(f"{where}: field 'id' must be lower-case words joined by '-'")
    source = need("source")
    if source not in SOURCES:
        raise ReproError(f"{where}: field 'source' {source!r} not one of {SOURCES}")
    if need("safety") not in SAFETY:
        raise ReproError(f"{where}: field 'safety' {row['safety']!r} not one of {SAFETY}")
    pats = tuple(_pattern(p, source, f"{where}: patterns[{i}]")
                 for i, p in enumerate(need("patterns", list)))
    bound = opt("bound")
    if bound is not None:
        try:
            Requirement(bound)
        except InvalidRequirement as e:
            why = str(e).splitlines()[0]
            raise ReproError(f"{where}: field 'bound' {bound!r}: {why}") from None
    for key in ("hard", "once_per_file"):
        opt(key, bool)
    errors = opt("errors", list) or []
    if not all(isinstance(e, str) and e for e in errors):
        raise ReproError(f"{where}: field 'errors' must be a list of non-empty strings")
    ex = need("examples", dict)
    for key in ("trigger", "clean"):
        if not _strings(ex.get(key)):
            raise ReproError(f"{where}: field 'examples' needs a non-empty {key!r} list of strings")
    extra = sorted(set(ex) - {"trigger", "clean"})
    if extra:
        raise ReproError(f"{where}: field 'examples' has unknown key {extra[0]!r}")
    return Rule(
        id=rid, library=need("library"), source=source, patterns=pats,
        message=need("message"), fix=need("fix"), safety=row["safety"], bound=bound,
        hard=row.get("hard", True), deprecated=opt("deprecated"), removed=opt("removed"),
        introduced=opt("introduced"), errors=tuple(errors), codemod=opt("codemod"),
        ref=opt("ref"), once_per_file=row.get("once_per_file", False),
        examples={k: tuple(v) for k, v in ex.items()}, source_note=opt("source_note"))


@lru_cache(maxsize=None)
def all_rules() -> Tuple[Rule, ...]:
    """Every rule of every ``kb/data/rules/*.json`` file, in file then row order; ids unique."""
    from repro_core.kb import load, names

    out: List[Rule] = []
    seen: Dict[str, str] = {}
    for name in names("rules"):
        where = f"kb/data/{name}.json"
        data = load(name)
        rows = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ReproError(f"{where}: no 'rules' list")
        for i, row in enumerate(rows):
            r = parse_rule(row, f"{where}: rules[{i}]")
            if r.id in seen:
                raise ReproError(f"{where}: rules[{i}]: rule id {r.id!r} also in {seen[r.id]}")
            seen[r.id] = where
            out.append(r)
    return tuple(out)


@lru_cache(maxsize=None)
def _by_id() -> Dict[str, Rule]:
    return {r.id: r for r in all_rules()}


def rule(rule_id: str) -> Rule:
    """The rule with this id; ``ReproError`` when there is none."""
    try:
        return _by_id()[rule_id]
    except KeyError:
        raise ReproError(f"unknown rule id {rule_id!r}") from None


def rules(library: Optional[str] = None, kind: Optional[str] = None) -> Tuple[Rule, ...]:
    """The rules, optionally of one library (``"timm"``) and/or one source kind (``"cpp"``)."""
    if kind is not None and kind not in SOURCES:
        raise ReproError(f"unknown rule kind {kind!r} (one of {', '.join(SOURCES)})")
    return tuple(r for r in all_rules() if (library is None or r.library == library)
                 and (kind is None or r.source == kind))
