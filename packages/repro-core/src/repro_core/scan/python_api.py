"""Python sources: imports, rule matches (``repro_core.match.python``) and in-code version
checks, by ``ast`` only (nothing is executed). A file goes to the ast pass only when the text
pre-filter says a rule could match (other than once-per-file name rules its import
statements hit: ``Matcher.screen``) or it checks a ``__version__`` (or ``TORCH_VERSION``)."""

import ast
import bisect
import functools
import re
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from repro_core import kb
from repro_core.kb.rules import rule
from repro_core.match import python as matcher
from repro_core.match.python import Import, dotted, str_const
from repro_core.match.skeleton import code_is_ascii
from repro_core.scan import parallel
from repro_core.scan.collector import Collector
from repro_core.scan.imports import distribution, is_python2_only
from repro_core.scan.report import Evidence, ImportUse, LegacyApi
from repro_core.scan.reqs import Spec, canon

__all__ = ["Analysis", "Import", "VersionCheck", "analyze", "analyze_ahead", "needs_text", "read",
           "start_analysis", "version_checks", "version_names"]


@dataclass(frozen=True)
class VersionCheck:
    """An in-code version check: ``assert timm.__version__ == "0.3.2"`` (``how`` "assert"),
    ``if TORCH_VERSION < (1, 8): raise ...`` (``how`` "guard", ``specifier`` what the guard
    lets through: ``>=1.8``) are requirements; ``if float(torch.__version__[:3]) < 1.4:``
    with other code in its body (``how`` "branch") only shows the code handles both sides."""

    module: str
    specifier: str
    line: int
    how: str = "assert"


_OPS = {ast.Eq: "==", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Lt: "<", ast.NotEq: "!="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
# names code keeps a torch version in (detectron2, mmcv: TORCH_VERSION = tuple(...))
_VERSION_NAME = re.compile(r"^_?(TORCH|PT|PYTORCH)_?VERSION$", re.I)
_VERSION_TEXT = re.compile(r"\b_?(TORCH|PT|PYTORCH)_?VERSION\b", re.I)
_BUILD_RULES = ("cpp-", "cuda-", "torch-utils-ffi")  # rules about an extension's build
_VERSION_BEFORE = re.compile(r"(?:\A|[^a-z0-9_])_?(?:torch|pt|pytorch)_?\Z")
# in the lower case text, the lines a version check may be read from (more do no harm): those
# reading a version (``__version__``, ``_VERSION_NAME``), and the ``raise`` or ``exit(...)``
# that makes an ``if`` a guard (``_raises``); literals: searched far faster than names
_VERSION_LINES = re.compile("version|raise|exit|quit")


def _lines_of(text: str, rx: "re.Pattern[str]") -> List[int]:
    return matcher.line_numbers(text, (m.start() for m in rx.finditer(text)))


def _names_a_version(text: str) -> bool:
    """Does ``_VERSION_TEXT`` occur in ``text``? In ASCII text, each "version" of the lower
    case text is looked at (a search ignoring case is slow)."""
    if not text.isascii():
        return bool(_VERSION_TEXT.search(text))
    low = text.lower()
    i = low.find("version")
    while i >= 0:
        end = i + 7
        if (end == len(low) or not (low[end].isalnum() or low[end] == "_")) and \
                _VERSION_BEFORE.search(low, max(0, i - 9), i):
            return True
        i = low.find("version", end)
    return False


def _version_module(node: ast.AST, alias: Dict[str, str], names: Dict[str, str]
                    ) -> Optional[str]:
    """The module whose version ``node`` is computed from: ``torch.__version__``,
    ``float(torch.__version__[:3])``, ``version.parse(torch.__version__)``, a name assigned
    from one (``TORCH_VERSION = tuple(...torch.__version__...)``) or named like one."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr == "__version__":
            return dotted(sub.value, alias)
        if isinstance(sub, ast.Name):
            if sub.id in names:
                return names[sub.id]
            if _VERSION_NAME.match(sub.id):
                return "torch"
    return None


def _version_literal(node: ast.AST) -> Optional[str]:
    """"1.7", 1.4, (1, 8) and a call on one (``LooseVersion("1.7")``) -> "1.7" / "1.4" / "1.8"."""
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        return _version_literal(node.args[0])
    if isinstance(node, ast.Tuple) and node.elts and all(
            isinstance(e, ast.Constant) and type(e.value) is int for e in node.elts):
        return ".".join(str(e.value) for e in node.elts)  # type: ignore[attr-defined]
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return str(node.value)
    text = str_const(node)
    return text if text and re.match(r"^\d+(\.\d+)*$", text) else None


def _compare(node: ast.AST, alias: Dict[str, str], names: Dict[str, str]
             ) -> Optional[Tuple[str, str]]:
    """(module, specifier) of a ``<version of M> <op> <literal>`` comparison (either side)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    op = _OPS.get(type(node.ops[0]))
    left, right = node.left, node.comparators[0]
    for a, b, o in ((left, right, op), (right, left, _FLIP.get(op or ""))):
        ver = _version_literal(b)
        mod = _version_module(a, alias, names) if ver else None
        if mod and o and ver:
            return mod, f"{o}{ver}"
    return None


def _terms(test: ast.AST) -> List[Tuple[ast.AST, bool]]:
    """(comparison, negated) terms of a test that must all hold (``a and b``, ``not a``)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [t for v in test.values for t in _terms(v)]
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return [(c, not neg) for c, neg in _terms(test.operand)]
    return [(test, False)]


def _raises(body: Sequence[ast.stmt]) -> bool:
    """Does a block stop the program (``raise``, ``sys.exit(...)``, ``exit(...)``)?"""
    first = body[0] if body else None
    if isinstance(first, ast.Raise):
        return True
    return (isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
            and _recv(first.value.func) in ("sys.exit", "exit", "quit"))


def _recv(node: ast.AST) -> str:
    return (f"{_recv(node.value)}.{node.attr}" if isinstance(node, ast.Attribute)
            else node.id if isinstance(node, ast.Name) else "")


def _spans_any(node: ast.AST, lines: List[int]) -> bool:
    """Does ``node`` span one of ``lines`` (sorted)?"""
    i = bisect.bisect_left(lines, node.lineno)  # type: ignore[attr-defined]
    return i < len(lines) and lines[i] <= (node.end_lineno or node.lineno)  # type: ignore


def version_names(nodes: Sequence[ast.AST], alias: Dict[str, str]) -> Dict[str, str]:
    """Name -> module, of the names ``nodes`` (a parsed file's, in order) assign a version
    (``TORCH_VERSION = tuple(int(x) for x in torch.__version__.split("."))``)."""
    names: Dict[str, str] = {}
    # the lines that read a version: only an assignment spanning one can keep it
    read = sorted({n.lineno for n in nodes if (  # type: ignore[attr-defined]
        type(n) is ast.Attribute and n.attr == "__version__") or (  # type: ignore
        type(n) is ast.Name and _VERSION_NAME.match(n.id))})  # type: ignore[attr-defined]
    for node in nodes:
        if type(node) is ast.Assign and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name) and _spans_any(node, read):
            mod = _version_module(node.value, alias, {})
            if mod:
                names[node.targets[0].id] = mod
    return names


def version_checks(nodes: Sequence[ast.AST], alias: Dict[str, str],
                   names: Optional[Dict[str, str]] = None) -> List[VersionCheck]:
    """The version checks among ``nodes`` (a parsed file's, in order), asserts and guards
    first; ``names``: ``version_names(nodes, alias)``, when the caller has it."""
    names = version_names(nodes, alias) if names is None else names
    out: List[VersionCheck] = []
    used = set()
    for node in nodes:
        if isinstance(node, ast.Assert):
            terms, how = _terms(node.test), "assert"
        elif isinstance(node, ast.If) and _raises(node.body):
            terms, how = [(c, not neg) for c, neg in _terms(node.test)], "guard"
            if len(terms) > 1:  # "if a and b: raise" requires "not a or not b": no bound
                terms = []
        else:
            continue
        for c, neg in terms:
            found = _compare(c, alias, names)
            if found:
                used.add(id(c))
                spec = found[1]
                if neg:
                    op = re.match(r"[=!<>]+", spec).group(0)  # type: ignore[union-attr]
                    spec = _NEGATE[op] + spec[len(op):]
                out.append(VersionCheck(found[0], spec, c.lineno, how))  # type: ignore
    for node in nodes:
        if isinstance(node, ast.Compare) and id(node) not in used:
            found = _compare(node, alias, names)
            if found:
                out.append(VersionCheck(found[0], found[1], node.lineno, "branch"))
    return sorted(out, key=lambda c: c.line)


Hit = Tuple[str, int, str]  # (rule id, line, api)


@dataclass(frozen=True)
class Analysis:
    """What one Python source holds, before the collector records it: its absolute imports,
    rule hits and version checks. ``deferred``: the syntax-feature rules skipped in the
    analysis that could match (no other rule could), so whether to parse depends on what
    earlier files found."""

    imports: Tuple[Import, ...] = ()
    hits: Tuple[Hit, ...] = ()
    checks: Tuple[VersionCheck, ...] = ()
    deferred: FrozenSet[str] = frozenset()


def analyze(rel: str, text: str, skip: FrozenSet[str] = frozenset(), defer: bool = False
            ) -> Analysis:
    """One Python source read without a collector (so files can be read in parallel); the
    rules in ``skip`` (syntax-feature rules already found) send no file to the ast. ``defer``:
    name those of them that could match a file left unparsed (``Analysis.deferred``)."""
    m = matcher.matcher()
    checks_version = "__version__" in text or _names_a_version(text)
    pre = None if checks_version else m.screen(text, skip)
    if pre is not None:
        return Analysis(tuple(pre[0]), tuple((r.id, line, api) for r, line, api in pre[1]),
                        deferred=m.needle_rules(text, skip) if defer else frozenset())
    # only the statements that may hold a match or a version check are read, unless a
    # non-ASCII name (``ｔｏｒｃｈ`` is ``torch`` to Python, not to a text search) may be
    ascii = code_is_ascii(text)
    lines = m.hot_lines(text, skip) if ascii else None
    if lines is not None and checks_version:
        lines = sorted(set(lines).union(_lines_of(text.lower(), _VERSION_LINES)))
    parsed = matcher.parse(text, lines)
    if parsed is None:
        return Analysis(hits=tuple((h.rule.id, h.line, h.api)
                                   for h in m.find_unparsed(rel, text)))
    checks: Sequence[VersionCheck] = ()
    if checks_version or not ascii:  # else no version is read: none
        names = version_names(parsed.nodes, parsed.alias)
        if lines is not None and names:  # and the statements using a name holding a version
            uses = set(_lines_of(text, re.compile("|".join(map(re.escape, names))))).difference(
                lines)
            if uses:
                parsed = matcher.parse(text, sorted(uses.union(lines))) or parsed
                names = version_names(parsed.nodes, parsed.alias)
        checks = version_checks(parsed.nodes, parsed.alias, names)
    return Analysis(tuple(parsed.imports), tuple(
        (h.rule.id, h.line, h.api) for h in m.find(rel, parsed) if h.rule.id not in skip),
        tuple(checks), m.needle_rules(text, skip) if defer else frozenset())


def read(col: Collector, rel: str, text: Optional[str], *, local: Set[str],
         imports: Dict[str, ImportUse], analysis: Optional[Analysis] = None) -> None:
    """One Python source: rule findings, ``__version__`` pins and the first import of each
    distribution (into ``imports``; names in ``local`` are the repository's own modules).
    ``analysis``: ``analyze(rel, text, every syntax rule)`` made beforehand (``start_analysis``),
    else the file is analysed here; ``text`` may be None when ``needs_text`` says so."""
    if needs_text(col, analysis):  # else: the syntax rules it skipped are found already
        # a syntax-feature rule (f-strings, ...) found once need not send more files to the ast
        skip = matcher.matcher().syntax_rule_ids & col.rule_ids
        analysis = analyze(rel, text or "", frozenset(skip))
    assert analysis is not None
    for c in analysis.checks:
        dist = distribution(c.module)
        if not dist:
            continue
        if c.how == "branch":  # compat code for both sides: which versions it knows, no bound
            col.evidence.append(Evidence(canon(dist), "", rel, c.line, (
                f"the code branches on {c.module} {c.specifier} (handles both sides)"), "api"))
            continue
        what = "checks" if c.how == "assert" else "stops unless"
        col.spec(Spec(canon(dist), c.specifier), rel, c.line, "assert",
                 f"the code {what} {c.module}.__version__ {c.specifier}")
    for rule_id, line, api in analysis.hits:
        if col.hit(rule(rule_id), rel, line, api) and rule_id.startswith(_BUILD_RULES):
            col.build_hits.setdefault(rel.rsplit("/", 1)[0] if "/" in rel else "", []).append(
                LegacyApi(rel, line, api, rule_id))
    hub = rel.rsplit("/", 1)[-1] == "hubconf.py"
    for imp in analysis.imports:
        top = imp.module.split(".")[0]
        if top in local or top.startswith("_"):
            continue
        if hub and not kb.distribution_for_import(top):
            continue  # torch.hub's entry file imports the repository's own entry points
        if is_python2_only(top):
            continue  # the py2-modules rule reports it
        dist = distribution(imp.module)
        if dist and canon(dist) not in imports:
            imports[canon(dist)] = ImportUse(imp.module, dist, rel, imp.line, False)


# -- in parallel ---------------------------------------------------------------------------

PARALLEL_MIN = 200  # fewer Python files: starting worker processes costs more than it saves


def analyze_ahead(rel: str, text: str) -> Analysis:
    """``analyze`` of a file before its turn (the syntax rules found before it are not known
    yet): every syntax rule skipped, those that could match named (``read`` then analyses
    the file again if one of them is still to be found at its turn)."""
    return analyze(rel, text, matcher.matcher().syntax_rule_ids, defer=True)


def _analyze_deferring(load: Callable[[str], Optional[str]], rel: str) -> Optional[Analysis]:
    try:
        text = load(rel)
        return None if text is None else analyze_ahead(rel, text)
    except Exception:  # noqa: BLE001 - read again in the scan, where it becomes a warning
        return None


def start_analysis(rels: Sequence[str], n: int, load: Callable[[str], Optional[str]]
                   ) -> "parallel.Forked[Optional[Analysis]]":
    """``analyze(rel, load(rel), every syntax rule)`` of each file, in order, by ``n``
    processes that start now and read the files themselves (``parallel.Forked``; ``results()``
    yields them as they come). ``read(..., analysis=)`` then records them in order, so the
    report is the one of reading the files one by one. None: the file was not read or its
    analysis failed (the scan reads it again in turn, where that becomes a warning)."""
    if n > 1:  # the rules and the matcher's regexes, built here once: the workers inherit them
        _analyze_deferring({"": "import os\n"}.get, "")
    return parallel.Forked(functools.partial(_analyze_deferring, load), rels, n)


def needs_text(col: Collector, analysis: Optional[Analysis]) -> bool:
    """Does ``read`` need the file's text to record ``analysis`` (made beforehand)?"""
    return analysis is None or bool(analysis.deferred - col.rule_ids)
