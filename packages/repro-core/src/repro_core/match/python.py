"""Python sources: the python rules matched on the ``ast`` (nothing is executed), names
resolved through the file's imports (``import torch.nn.functional as F`` makes ``F.upsample``
read as ``torch.nn.functional.upsample``).

A file is parsed once (``parse``) and its nodes walked once for every rule. ``prefilter``
says from the text alone, with a test derived from every pattern, that no rule can match, so
most files of a large repository need no ``ast`` pass at all.
"""

import ast
import bisect
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

try:  # the regex parser (Python 3.11 moved it; importing sre_parse there warns)
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # Python < 3.11
    import sre_parse as _sre_parse  # type: ignore[no-redef]

from repro_core.kb.rules import Pattern, Rule
from repro_core.kb.rules import rules as kb_rules
from repro_core.match import oldsyntax
from repro_core.match.skeleton import skeleton
from repro_core.match.span import Lines, Match

# (rule, node or (import statement, index of the name), api): a match before its span
Hit = Tuple[Rule, object, str]
Guard = Tuple[FrozenSet[int], FrozenSet[int], bool]  # see ``guarded_imports``
# (literals, regex, regexes also required): see ``literals`` and ``requires``
Needle = Tuple[Tuple[str, ...], "re.Pattern[str]", Tuple["re.Pattern[str]", ...]]


@dataclass(frozen=True)
class Import:
    module: str  # full dotted module name as written
    line: int


class Parsed:
    """One parsed Python source: its text, its nodes (one flat traversal: every node, or only
    those of the statements spanning one of ``lines``, see ``parse``), the local name ->
    dotted target map of its imports, and its absolute imports."""

    __slots__ = ("text", "tree", "nodes", "alias", "imports", "import_names", "guarded",
                 "py2", "reserved", "_lines")

    def __init__(self, text: str, tree: ast.AST, lines: Optional[List[int]] = None,
                 py2: bool = False, reserved: bool = False):
        self.text, self.tree = text, tree
        # read through ``oldsyntax``: its Python 2 statements, a reserved word used as a name
        self.py2, self.reserved = py2, reserved
        self.nodes = _flatten(tree) if lines is None else _flatten_lines(tree, lines)
        self.alias, self.imports, self.import_names = _aliases(self.nodes)
        if STAR_HINT.search(text):
            self.alias.update(star_aliases(self.nodes, self.alias))
        self.guarded = guarded_imports(self.nodes) if _may_catch(text) else ()
        self._lines: Optional[Lines] = None

    @property
    def lines(self) -> Lines:
        if self._lines is None:
            self._lines = Lines(self.text)
        return self._lines


# hot lines per line above which the whole file is parsed: a cut keeps most of it, and costs
# more than it saves (``bench/scan_phases.py --density``: cut / whole 0.5 below 0.05, 0.9 at
# 0.25-0.3, 1.3 above 0.3)
CUT_DENSITY = 0.3


def parse(text: str, lines: Optional[List[int]] = None) -> Optional[Parsed]:
    """The parsed source, or None when it is not valid Python 3 (for this interpreter), even
    read as the Python it was written for (``oldsyntax``: Python 2 statements, ``async`` as
    a name). ``lines`` (sorted): only the statements spanning one of them are read
    (``nodes``), the other ones left out whole (``Matcher.hot_lines`` says where rules may
    match), and only they are parsed (``skeleton``), unless the text may be Python 2."""
    if lines is not None and len(lines) < CUT_DENSITY * text.count("\n") and (
            "\0" not in text and not PY2.search(text)):
        cut = skeleton(text, lines)
        if cut is not None:
            try:
                return Parsed(text, ast.parse(cut), lines)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass
    try:
        return Parsed(text, ast.parse(text), lines)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    old = oldsyntax.tree(text)  # Python 2 statements, ``async`` as a name: read as then
    return None if old is None else Parsed(text, old[0], lines, py2=old[1], reserved=old[2])


_IMPORT_WORD = re.compile("import")  # a literal: found far faster than r"\bimport\b"
_SPACES = re.compile(r"[\s\\]+")  # between the parts of a dotted name
_LONE_CR = re.compile(r"\r(?!\n)")
# Python 2 statements, for files that do not parse (the ``py2`` pattern): (head, rest) per
# statement form; the heads, which start with a literal, are the pattern's text test
PY2_FORMS = ((r"print\s+[^\s(=]", r"[^=]*$"), (r"exec\s+['\"]", ""),
             (r"except\s+[\w.]+\s*,", r"\s*\w+\s*:"))
PY2 = re.compile(r"^\s*(" + "|".join(h + t for h, t in PY2_FORMS) + ")", re.M)
# an f-string's prefix (f, fr, rf in either case) and quote; the prefix starts a token
# (``"%.2f"`` holds none): tested after its first letter is found, which is far faster
_FSTRING_TEXT = r"[fFrR](?<!\w[fFrR])(?:(?<=[fF])[rR]?|(?<=[rR])[fF])['\"]"
# A text test for the node types syntax rules use: a source holding such a node contains it.
# Other node types get no test (the file always goes to the ast pass: slower, never wrong).
NODE_TEXT = {
    "JoinedStr": _FSTRING_TEXT, "FormattedValue": _FSTRING_TEXT,
    "NamedExpr": r":=", "Lambda": r"\blambda\b", "Await": r"\bawait\b",
    "AsyncFunctionDef": r"\basync\b", "AsyncFor": r"\basync\b", "AsyncWith": r"\basync\b",
    "Yield": r"\byield\b", "YieldFrom": r"\byield\b", "Global": r"\bglobal\b",
    "Nonlocal": r"\bnonlocal\b", "MatMult": r"@", "Starred": r"\*", "Delete": r"\bdel\b",
    "Assert": r"\bassert\b", "With": r"\bwith\b", "Try": r"\btry\b", "Raise": r"\braise\b",
    "ClassDef": r"\bclass\b", "FunctionDef": r"\bdef\b",
    "Set": r"\{", "SetComp": r"\{", "DictComp": r"\{", "Dict": r"\{", "ListComp": r"\bfor\b",
    "GeneratorExp": r"\bfor\b", "comprehension": r"\bfor\b", "IfExp": r"\bif\b",
    "AnnAssign": r":", "Match": r"\bmatch\b", "TryStar": r"except\s*\*",
}


def _unanchored(regex: str) -> str:
    """``regex`` with its ``^``/``$``/``\\A``/``\\Z`` anchors dropped (outside character
    classes): it then finds the literal's value anywhere in the source text."""
    out, i, cls = [], 0, False
    while i < len(regex):
        c = regex[i]
        if c == "\\" and i + 1 < len(regex):
            if not cls and regex[i + 1] in "AZ":
                i += 2
                continue
            out.append(regex[i:i + 2])
            i += 2
            continue
        if cls:
            cls = c != "]" or out[-1] == "["
        elif c == "[":
            cls = True
        elif c in "^$":
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _alternatives(regex: str) -> List[str]:
    """``a|b`` -> [a, b] at the top level (searched separately, each can start with a literal:
    faster than the alternation); the regex itself when it starts with inline flags."""
    if regex.startswith("(?") and not regex.startswith(("(?:", "(?P", "(?=", "(?!", "(?<")):
        return [regex]
    out: List[str] = []
    depth, cls, first, last, i = 0, False, 0, 0, 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if cls:  # inside [...]: a ']' first (or after '^') is a literal
            if c == "^" and i == first:
                first += 1
            cls = c != "]" or i == first
        elif c == "[":
            cls, first = True, i + 1
        elif c in "()":
            depth += 1 if c == "(" else -1
        elif c == "|" and depth == 0:
            out.append(regex[last:i])
            last = i + 1
        i += 1
    return out + [regex[last:]]


_MAX_LITERALS = 16


def _spellings(items: Sequence) -> Optional[List[str]]:
    """Every text a parsed regex sequence can match, when it is literals only (``a(b|cd)[ef]``
    -> [abe, abf, acde, acdf]); None otherwise or past ``_MAX_LITERALS`` texts."""
    out = [""]
    for op, av in items:
        if op is _sre_parse.LITERAL:
            alts: Optional[List[str]] = [chr(av)]
        elif op is _sre_parse.IN and all(o is _sre_parse.LITERAL for o, _ in av):
            alts = [chr(c) for _, c in av]  # [57]
        elif op is _sre_parse.SUBPATTERN and not av[1] & re.IGNORECASE:
            alts = _spellings(av[-1])
        elif op is _sre_parse.BRANCH:
            alts = []
            for branch in av[1]:
                got = _spellings(branch)
                if got is None:
                    return None
                alts += got
        else:
            return None
        if alts is None or len(out) * len(alts) > _MAX_LITERALS:
            return None
        out = [a + b for a in out for b in alts]
    return out


def literals(regex: str) -> Tuple[str, ...]:
    """Texts of which every match of ``regex`` (searched case-sensitively) contains one:
    spelled from a run of literal parts of its top-level sequence (``(compute|sm)_3[0-7]`` ->
    ``compute_3``, ``sm_3``), the fewest texts of four characters or more, else the longest;
    () when none is worth testing. Each ``lit in text`` is a far cheaper test than a regex
    search that must try every position."""
    try:
        parsed = _sre_parse.parse(regex)
    except re.error:
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    items = [_spellings([item]) for item in parsed]
    best: Tuple[str, ...] = ()
    score = (1, 0, 0)  # (shortest text, capped at 4; minus how many texts; shortest text)
    for i in range(len(items)):
        run = [""]
        for got in items[i:]:
            if got is None or len(run) * len(got) > _MAX_LITERALS:
                break
            run = [a + b for a in run for b in got]
            short = min(map(len, run))
            if (min(short, 4), -len(run), short) > score:
                best, score = tuple(run), (min(short, 4), -len(run), short)
    return best


def needles(p: Pattern) -> Optional[List[str]]:
    """Regexes of which a text must match one to hold a match of ``p``; None for name, call
    and isinstance patterns, whose test is their dotted name spelled through the file's
    imports (scheduler_first, and method with receiver_from: the classes whose call the
    receiver must be assigned)."""
    if p.kind in ("name", "call", "isinstance", "scheduler_first"):
        if p.kind == "call" and p.prefix and p.keyword:  # cheaper than the names
            return [re.escape(k) + r"\s*=(?!=)" for k in p.keyword]
        return None
    if p.kind == "method":
        return None if p.receiver_from else [rf"\.\s*{re.escape(m)}\s*\(" for m in p.values]
    if p.kind == "subscript_attr":
        return [rf"\.\s*{re.escape(p.value)}\s*\[\s*{re.escape(repr(p.index))}\s*\]"]
    if p.kind == "string":  # a value anchored at its start follows the literal's quote
        return [("['\"]" + _unanchored(a[1:]) if a.startswith("^") else _unanchored(a))
                for a in _alternatives(p.value)]
    if p.kind == "node":
        return [NODE_TEXT.get(p.value, "")]
    if p.kind == "reserved":  # the uses ``oldsyntax`` respells (no other one is read)
        return [oldsyntax.RESERVED_USES.get(w, "(?!)") for w in p.values]
    if p.kind == "py2":  # ``PY2`` finds them at the start of a line only (a needle that
        # starts with a literal is searched far faster than one that starts with ``^``)
        return [a + r"[ \t]*" + head for head, _ in PY2_FORMS for a in (r"\A", r"\n")]
    if p.kind in ("version_assert", "version_string"):
        return [r"__version__"]
    if p.kind == "attribute":
        return [rf"\.\s*{re.escape(a)}\b" for a in p.values]
    if p.kind == "subclass":
        return None  # the base's dotted name, spelled through the file's imports
    if p.kind == "transposed_view":
        return [rf"\.\s*{re.escape(m)}\s*\(" for m in p.values]
    raise ValueError(f"not a python pattern: {p.kind}")


def requires(p: Pattern) -> List[str]:
    """Regexes a text must match, every one, besides one of ``needles(p)``: the first
    argument's literal (``add_argument('--local_rank')``), the root module of a prefix call
    with a keyword as the file can spell it (its name, or a ``STAR_GUESSES`` name bound to
    it), and ``.t()`` for a transposed view."""
    if p.kind == "method" and p.arg0:
        return ["|".join(re.escape(a) for a in p.arg0)]
    if p.kind == "call" and p.prefix and p.keyword:
        tops = sorted({v.split(".")[0] for v in p.values})
        spell = tops + sorted(k for k, v in STAR_GUESSES.items() if v.split(".")[0] in tops)
        return ["(" + "|".join(map(re.escape, spell)) + r")\b"]  # a literal first: fast
    if p.kind == "transposed_view":
        return [r"\.t\(\)"]
    return []


class Matcher:
    """The python rules' patterns indexed for one-dict-lookup matching, and the text
    pre-filter derived from them."""

    def __init__(self, rules: Sequence[Rule]):
        self.rules = tuple(r for r in rules if r.source == "python")
        self.names: Dict[str, List[Rule]] = {}
        self.name_prefix: Dict[str, List[Rule]] = {}
        self.calls: Dict[str, List[Tuple[Rule, Pattern]]] = {}
        self.import_calls: Dict[str, List[Rule]] = {}  # a deprecated callable: its import too
        self.call_prefix: List[Tuple[str, Rule, Pattern]] = []
        self.methods: Dict[str, List[Tuple[Rule, Pattern, Optional[re.Pattern[str]]]]] = {}
        self.subscripts: List[Tuple[Rule, Pattern, re.Pattern[str]]] = []
        self.strings: List[Tuple[Rule, re.Pattern[str]]] = []
        self.nodes: Dict[str, List[Rule]] = {}
        self.py2: List[Rule] = []
        self.version_asserts: Dict[str, List[Rule]] = {}  # module -> rules
        self.reserved: Dict[str, List[Rule]] = {}  # reserved word -> rules
        self.version_strings: Dict[str, List[Rule]] = {}  # module -> rules
        self.attributes: Dict[str, List[Rule]] = {}  # attribute -> rules
        self.subclasses: Dict[str, List[Tuple[Rule, Pattern]]] = {}  # base -> rules
        self.transposed: Dict[str, List[Rule]] = {}  # producing method -> rules
        self.isinstances: Dict[str, List[Rule]] = {}  # class of ``isinstance(x, C)`` -> rules
        self.scheduler_first: List[Tuple[Rule, Pattern]] = []
        self.by_top: Dict[str, List[str]] = {}  # names resolved through imports, by root
        self.loose_prefixes: List[str] = []
        self._needles: List[Tuple[str, str, Tuple[str, ...]]] = []  # (rule, regex, requires)
        self._named: Dict[str, List[Tuple[Rule, str]]] = {}  # dotted name -> (rule, kind)
        self._flowing: Set[str] = set()  # names of patterns whose values flow between statements
        self._use_cache: Dict[Tuple[str, str], Optional[Tuple[re.Pattern[str], Optional[
            re.Pattern[str]]]]] = {}
        kw_sets: Dict[str, List[Set[str]]] = {}  # dotted name -> each pattern's no_keyword
        for r in self.rules:
            for p in r.patterns:
                k = p.kind
                if k == "name":
                    target = self.name_prefix if p.prefix else self.names
                    for n in p.values:
                        target.setdefault(n, []).append(r)
                elif k == "call":
                    for n in p.values:
                        if p.prefix:
                            self.call_prefix.append((n, r, p))
                        else:
                            self.calls.setdefault(n, []).append((r, p))
                            if not (p.keyword or p.no_keyword or p.arg0 or p.args is not None) and (
                                    r.deprecated or r.removed):  # the name itself is old
                                self.import_calls.setdefault(n, []).append(r)
                elif k == "method":
                    rx = re.compile(p.receiver) if p.receiver else None
                    for n in p.values:
                        self.methods.setdefault(n, []).append((r, p, rx))
                elif k == "subscript_attr":
                    self.subscripts.append((r, p, re.compile(p.receiver)))
                elif k == "string":
                    self.strings.append((r, re.compile(p.value)))
                elif k == "node":
                    self.nodes.setdefault(p.value, []).append(r)
                elif k == "py2":
                    self.py2.append(r)
                elif k == "reserved":
                    for n in p.values:
                        self.reserved.setdefault(n, []).append(r)
                elif k == "version_assert":
                    for n in p.values:
                        self.version_asserts.setdefault(n, []).append(r)
                elif k == "version_string":
                    for n in p.values:
                        self.version_strings.setdefault(n, []).append(r)
                elif k == "attribute":
                    for n in p.values:
                        self.attributes.setdefault(n, []).append(r)
                elif k == "subclass":
                    for n in p.values:
                        self.subclasses.setdefault(n, []).append((r, p))
                elif k == "transposed_view":
                    for n in p.values:
                        self.transposed.setdefault(n, []).append(r)
                elif k == "isinstance":
                    for n in p.values:
                        self.isinstances.setdefault(n, []).append(r)
                elif k == "scheduler_first":
                    self.scheduler_first.append((r, p))
                for n in p.receiver_from or p.values:  # a prefix pattern: any call of it
                    kw_sets.setdefault(n, []).append(
                        set(p.no_keyword) if k == "call" and not p.prefix else set())
                alts = needles(p)
                if alts is None and k == "call" and p.prefix:
                    self.loose_prefixes += p.values  # a string prefix of the dotted name
                elif alts is None:
                    for n in p.receiver_from or p.values:
                        self.by_top.setdefault(n.split(".")[0], []).append(n)
                        self._named.setdefault(n, []).append((r, k))
                        if p.receiver_from or k == "scheduler_first":  # data flow in the file
                            self._flowing.add(n)
                else:
                    self._needles += [(r.id, a, tuple(requires(p))) for a in alts]
        # dotted name -> keywords a call of it names so that no pattern of it can match
        # (every pattern naming it is a call pattern with them in ``no_keyword``)
        self._kw_excluded: Dict[str, Tuple[str, ...]] = {}
        for n, sets in kw_sets.items():
            common = set.intersection(*sets)
            if common:
                self._kw_excluded[n] = tuple(sorted(common))
        self.node_types = tuple(getattr(ast, n) for n in self.nodes if isinstance(
            getattr(ast, n, None), type))
        self.syntax_rule_ids = frozenset(r.id for rs in self.nodes.values() for r in rs)
        # node classes ``_hits`` looks at (every other node is skipped at once)
        self.wanted_no_version = frozenset((ast.Attribute, ast.Call, ast.Name, ast.Constant,
                                            ast.Subscript, ast.ImportFrom, ast.Assert)
                                           + self.node_types
                                           + ((ast.ClassDef,) if self.subclasses else ())
                                           + (FUNCTION_NODES if self.transposed else ())
                                           + (LOOP_NODES if self.scheduler_first else ()))
        self.wanted = self.wanted_no_version | frozenset(VERSION_NODES)
        self.prefix_tops = frozenset(n.partition(".")[0] for n in self.name_prefix)
        self._needle_cache: Dict[FrozenSet[str], Tuple[Needle, ...]] = {}
        self._compiled: Optional[List[Tuple[str, re.Pattern[str], Tuple[
            re.Pattern[str], ...]]]] = None
        self._live_last: Optional[Tuple[str, FrozenSet[str], List[Tuple[
            re.Pattern[str], Tuple[re.Pattern[str], ...]]]]] = None
        self._target_cache: Dict[str, Tuple[bool, FrozenSet[str]]] = {}

    # -- the text pre-filter -------------------------------------------------------------

    def _needle(self, skip: FrozenSet[str]) -> Tuple[Needle, ...]:
        """(literals, regex, also required) per needle: the regex is searched only in a text
        holding one of its literals (or always, when it has none)."""
        got = self._needle_cache.get(skip)
        if got is None:
            alts = dict.fromkeys((a, req) for rid, a, req in self._needles if rid not in skip)
            got = self._needle_cache[skip] = tuple(
                (literals(a), re.compile(a, re.M), tuple(re.compile(x, re.M) for x in req))
                for a, req in alts)
        return got

    def prefilter(self, text: str, skip: Iterable[str] = frozenset()
                  ) -> Optional[Tuple[List[Import], Dict[str, str]]]:
        """None when some rule could match ``text`` (parse it and call ``find``); else the
        file's imports and alias map, read from the text. Patterns of the rules in ``skip``
        are left out of the test (their matches are not needed)."""
        got = self._screen(text, frozenset(skip), False)
        return None if got is None else (got[0], got[1])

    def screen(self, text: str, skip: Iterable[str] = frozenset()
               ) -> Optional[Tuple[List[Import], List[Tuple[Rule, int, str]]]]:
        """``prefilter``, but a file it would send to the ast only because its import
        statements name once-per-file name rules (``from timm.layers import DropPath``) gets
        its imports and the (rule, line, api) that ``find`` reports first for each of them
        (the rule's finding), read from the text."""
        got = self._screen(text, frozenset(skip), True)
        return None if got is None else (got[0], got[2])

    def _live_needles(self, text: str, skip: FrozenSet[str]
                      ) -> List[Tuple["re.Pattern[str]", Tuple["re.Pattern[str]", ...]]]:
        """(regex, also required) of the needles of the rules not in ``skip`` whose literals
        ``text`` holds (or that have none). The last text's are kept (``screen`` then
        ``hot_lines`` ask for the same)."""
        last = self._live_last
        if last is not None and last[0] is text and last[1] == skip:
            return last[2]
        held: Dict[str, bool] = {}  # literal -> in the text (several needles share one)
        out = []
        for lits, rx, req in self._needle(skip):
            for lit in lits:
                got = held.get(lit)
                if got is None:
                    got = held[lit] = lit in text
                if got:
                    break
            else:
                if lits:
                    continue
            out.append((rx, req))
        self._live_last = (text, skip, out)
        return out

    def _screen(self, text: str, skip: FrozenSet[str], by_import: bool
                ) -> Optional[Tuple[List[Import], Dict[str, str], List[Tuple[Rule, int, str]]]]:
        for rx, req in self._live_needles(text, skip):
            if rx.search(text) and all(x.search(text) for x in req):
                return None
        star = STAR_HINT.search(text) is not None  # a far faster search than STAR_IMPORT's
        if star and TORCH_STAR.search(text):
            return None
        imports, alias = regex_imports(text)
        if star and STAR_IMPORT.search(text):  # what star_aliases may add (a superset)
            alias = {**STAR_GUESSES, **alias}
        decided = self._may_resolve(text, imports, alias, by_import)
        return None if decided is None else (imports, alias, decided)

    def hot_lines(self, text: str, skip: Iterable[str] = frozenset()) -> Optional[List[int]]:
        """The lines (sorted) a statement must span to hold a match of ``find`` of a rule not
        in ``skip``: those of each match of a needle, of each use of a name an import binds
        that may resolve to a pattern, of each ``import``; after a star import, of each name
        of ``STAR_GUESSES`` (``star_aliases`` reads whether it is bound anywhere). None: any
        (a star import from torch, whose free names may all be torch's; a rule that follows
        values from statement to statement: every statement is read)."""
        star = STAR_HINT.search(text) is not None and STAR_IMPORT.search(text) is not None
        if star and TORCH_STAR.search(text):
            return None
        if "\r" in text and _LONE_CR.search(text):
            return None  # lines end with a bare CR (old Mac), which ast counts and this does not
        if self.transposed and ".t()" in text and any(m in text for m in self.transposed):
            return None  # ``_k_above_one`` reads every call of the function
        at = [m.start() for m in _IMPORT_WORD.finditer(text)]
        for rx, req in self._live_needles(text, frozenset(skip)):
            if all(x.search(text) for x in req):
                at += [m.start() for m in rx.finditer(text)]
        alias = regex_imports(text)[1]
        if star:
            alias = {**STAR_GUESSES, **alias}
            at += [m.start() for m in _GUESSED.finditer(text)]
        for local, target in alias.items():
            uses = self._uses(local, target)
            if uses is None:
                continue
            hits, flows = uses
            if flows is not None and any(_bare(text, m) for m in flows.finditer(text)):
                return None
            at += [m.start() for m in hits.finditer(text) if _bare(text, m)]
        return line_numbers(text, sorted(at))

    def _uses(self, local: str, target: str
              ) -> Optional[Tuple["re.Pattern[str]", Optional["re.Pattern[str]"]]]:
        """Regexes of the uses of ``local`` (an import binds it to ``target``) that may name
        a pattern (``np.float``, ``np . float``; a name that is one itself: every use), and
        of those naming a pattern whose values flow between statements (None: no such one);
        None when no use can name a pattern. A match preceded by a name's letter or a dot is
        no use (``_bare``)."""
        key = (local, target)
        if key in self._use_cache:
            return self._use_cache[key]
        direct, suffixes = self._target_info(target)
        got: Optional[Tuple[re.Pattern[str], Optional[re.Pattern[str]]]] = None
        if direct or suffixes:
            flowing = [n[len(target):] for n in self._flowing if n.startswith(target + ".")]
            name = re.escape(local) + r"\b"
            whole = any(n == target for n in self._flowing)
            got = (re.compile(name if direct else _chains(name, suffixes)),
                   re.compile(name) if whole else re.compile(_chains(name, flowing))
                   if flowing else None)
        if len(self._use_cache) > 4096:
            self._use_cache.clear()
        self._use_cache[key] = got
        return got

    def needle_rules(self, text: str, rule_ids: FrozenSet[str]) -> FrozenSet[str]:
        """The rules of ``rule_ids`` whose text patterns occur in ``text`` (those for which
        ``prefilter`` would keep it)."""
        got = set()
        for rid, rx, req in self._compiled_needles():
            if rid in rule_ids and rid not in got and rx.search(text) and all(
                    x.search(text) for x in req):
                got.add(rid)
        return frozenset(got)

    def _compiled_needles(self) -> List[Tuple[str, "re.Pattern[str]", Tuple[
            "re.Pattern[str]", ...]]]:
        if self._compiled is None:
            self._compiled = [(rid, re.compile(a, re.M), tuple(re.compile(x, re.M) for x in req))
                              for rid, a, req in self._needles]
        return self._compiled

    def _target_info(self, target: str) -> Tuple[bool, FrozenSet[str]]:
        """(the import itself names a pattern, suffixes that complete ``target`` into one)."""
        got = self._target_cache.get(target)
        if got is None:
            # a call prefix without keyword: any import along its path may lead to it
            direct = any(target.startswith(p) or p.startswith(target)
                         for p in self.loose_prefixes)
            suffixes = set()
            for name in self.by_top.get(target.split(".")[0], ()):
                if name == target or target.startswith(name + "."):
                    direct = True
                elif name.startswith(target + "."):
                    suffixes.add(name[len(target):].rstrip("."))
            got = self._target_cache[target] = (direct, frozenset(suffixes))
        return got

    def _may_resolve(self, text: str, imports: List[Import], alias: Dict[str, str],
                     by_import: bool = False) -> Optional[List[Tuple[Rule, int, str]]]:
        """None when a name/call pattern could resolve in this file: each pattern's dotted
        name, spelled through the file's aliases (``np.float`` for ``numpy.float``), must occur
        in the text. Else the hits its import statements decide (``by_import``: see
        ``screen``; [] when no pattern can resolve)."""
        decided: List[str] = []  # names only import statements' own hits decide
        for imp in imports:
            if self._target_info(imp.module)[0]:
                if not (by_import and self._decided(imp.module)):
                    return None
                decided.append(imp.module)
        for local, target in alias.items():
            direct, suffixes = self._target_info(target)
            if direct:
                if not (by_import and self._decided(target)):
                    return None
                decided.append(target)
            if not suffixes:
                continue
            # ``np . float``, ``np.\\`` and ``float`` on the next line: ``numpy.float``
            for m in re.finditer(re.escape(local) + r"((?:[\s\\]*\.[\s\\]*\w+)+)", text):
                if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_."):
                    continue
                acc = ""
                parts = _SPACES.sub("", m.group(1)).split(".")[1:]
                for i, part in enumerate(parts, 1):
                    acc += "." + part
                    if acc in suffixes and not (i == len(parts) and _keyword_given(
                            text, m.end(), self._kw_excluded.get(target + acc, ()))):
                        return None
        return self._import_hits(text, imports, alias, decided) if decided else []

    def _decided(self, target: str) -> bool:
        """Is every pattern that ``target`` (an import, or a name bound by one) may resolve to
        a once-per-file name rule (which its use repeats, adding no finding)?"""
        if any(target.startswith(p) or p.startswith(target) for p in self.loose_prefixes):
            return False
        parts = target.split(".")
        return all(kind == "name" and r.once_per_file
                   for i in range(1, len(parts) + 1)
                   for r, kind in self._named.get(".".join(parts[:i]), ()))

    def _name_rules(self, q: str) -> List[Rule]:
        """The name rules a dotted name ``q`` hits (exactly, or a prefix rule on its path)."""
        out = list(self.names.get(q, ()))
        if q.partition(".")[0] in self.prefix_tops:
            parts = q.split(".")
            for i in range(1, len(parts) + 1):
                out += self.name_prefix.get(".".join(parts[:i]), ())
        return out

    def _import_hits(self, text: str, imports: List[Import], alias: Dict[str, str],
                     names: List[str]) -> Optional[List[Tuple[Rule, int, str]]]:
        """The first hit of each rule on the imported modules, in the order of the text, as
        ``find`` reports them; None when those do not cover every rule of ``names``, or the
        text may differ from the ast's view: a ``try`` (a guarded import's hit can be
        dropped), an import in a long string or written over lines, a name it binds written
        before it (a use there would be the first hit)."""
        if _may_catch(text) or ("\r" in text and _LONE_CR.search(text)):
            return None  # (the lines below are read from "\n"s)
        wanted = {r.id for n in names for r in self._name_rules(n)}
        if not wanted:
            return None
        hits: List[Tuple[Rule, int, str]] = []
        lines: Optional[List[str]] = None
        for imp in imports:
            for r in self._name_rules(imp.module):
                if r.id not in wanted:
                    continue
                lines = lines or text.split("\n")
                head = lines[imp.line - 1]
                at = sum(len(x) + 1 for x in lines[:imp.line - 1])
                if imp.module not in head or _in_long_string(text, at) or any(
                        re.search(rf"\b{re.escape(local)}\b", text[:at])
                        for local, target in alias.items() if r in self._name_rules(target)):
                    return None
                wanted.discard(r.id)
                hits.append((r, imp.line, imp.module))
        return None if wanted else hits

    # -- matching ------------------------------------------------------------------------

    def find(self, path: str, src: Parsed) -> List[Match]:
        """Every match in a parsed source, in the order of the text."""
        hits = self._hits(src)
        out = self._matches(path, src, _unguarded(hits, src.guarded) if src.guarded else hits)
        if src.py2:  # a Python 2 source read through its respelling: the py2 rules too
            out = sorted(out + self.find_unparsed(path, src.text), key=lambda m: m.start)
        return out

    def find_unparsed(self, path: str, text: str) -> List[Match]:
        """The ``py2`` rules on a source that does not parse: at its first Python 2 statement."""
        m = PY2.search(text)
        if not m or not self.py2:
            return []
        lines = Lines(text)
        end = m.start(1) + len(m.group(1).rstrip())
        return [lines.match(r, path, m.start(1), end, "python2 syntax") for r in self.py2]

    def _hits(self, src: Parsed) -> List[Hit]:
        alias = src.alias
        hits: List[Hit] = []
        names, name_prefix = self.names, self.name_prefix
        name_rules = self._name_rules

        def name_hits(q: str, where: object) -> None:
            for r in name_rules(q):
                hits.append((r, where, q))

        for module, where in src.import_names:
            name_hits(module, where)
        Attribute, Name, Call, Subscript, Constant, ImportFrom = (
            ast.Attribute, ast.Name, ast.Call, ast.Subscript, ast.Constant, ast.ImportFrom)
        node_types = set(self.node_types)
        # version strings are read from ``M.__version__``: none in a text without it
        version_strings = self.version_strings and (
            "__version__" in src.text or not src.text.isascii())
        wanted = self.wanted if version_strings else self.wanted_no_version
        # a keyword or parameter named by a reserved word is only in a respelled source
        reserved = self.reserved if src.reserved else {}
        if reserved:
            wanted = wanted | {ast.arg}
        bases: Set[int] = set()  # Names that are the root of an attribute (parents come first)
        covered: Set[int] = set()  # version-string nodes already part of a reported compare
        transposed = {m: rs for m, rs in self.transposed.items() if m in src.text} if (
            ".t()" in src.text) else {}
        # the lines naming a producer (``topk``): only functions spanning one are read
        producer_lines = [src.text.count("\n", 0, x.start()) + 1 for x in re.finditer(
            "|".join(map(re.escape, transposed)), src.text)] if transposed else []
        attributes = self.attributes
        assigned: List[Dict[str, Set[str]]] = []  # see ``assigned_calls``, made when needed
        for node in src.nodes:
            t = type(node)
            if t not in wanted:
                continue
            if t is Attribute:
                if type(node.value) is Name:  # type: ignore[attr-defined]
                    bases.add(id(node.value))  # type: ignore[attr-defined]
                q = dotted(node, alias)
                if q:
                    name_hits(q, node)
                if node.attr in attributes:  # type: ignore[attr-defined]
                    hits += [(r, node, f".{node.attr}")  # type: ignore[attr-defined]
                             for r in attributes[node.attr]]  # type: ignore[attr-defined]
            elif t is Call:
                q = dotted(node.func, alias)  # type: ignore[attr-defined]
                dynamic = q is None and type(node.func) is Call  # type: ignore[attr-defined]
                if dynamic:
                    q = getattr_target(node.func, alias)  # type: ignore[attr-defined]
                if q:
                    for r, p in self.calls.get(q, ()):
                        if _call_ok(node, p):  # type: ignore[arg-type]
                            hits.append((r, node, q))
                    for pre, r, p in self.call_prefix:
                        if q.startswith(pre) and _call_ok(node, p):  # type: ignore[arg-type]
                            # a callee got by getattr is not named: point at the keyword
                            at = next((k for k in node.keywords if k.arg in p.keyword),  # type: ignore
                                      node) if dynamic else node
                            hits.append((r, at, q))
                if reserved:  # ``x.cuda(async=True)``, read as Python 3.6 read it
                    for k in node.keywords:  # type: ignore[attr-defined]
                        hits += [(r, node, f"{k.arg}=") for r in reserved.get(k.arg, ())]
                func = node.func  # type: ignore[attr-defined]
                if type(func) is Attribute and func.attr in self.methods:
                    for r, p, rx in self.methods[func.attr]:
                        if _call_ok(node, p) and (  # type: ignore[arg-type]
                                rx is None or rx.search(receiver_text(func.value))) and not (
                                p.unless_defined and re.search(
                                    rf"\bdef\s+{func.attr}\s*\(", src.text)) and (
                                not p.receiver_from or _assigned_from(
                                    func.value, p.receiver_from, src, assigned)):
                            hits.append((r, node, f".{func.attr}()"))
                elif type(func) is Name and func.id == "isinstance" and self.isinstances and \
                        func.id not in alias and len(node.args) == 2:  # type: ignore[attr-defined]
                    self._isinstance(node.args[1], alias, hits)  # type: ignore[attr-defined]
            elif t is Name:
                q = alias.get(node.id)  # type: ignore[attr-defined]
                # ``q == id``: the binding of ``import M``, not a use of an API
                if q and q != node.id and type(node.ctx) is ast.Load:  # type: ignore
                    if q in names:
                        name_hits(q, node)
                    elif name_prefix and id(node) not in bases and _has_prefix(name_prefix, q):
                        name_hits(q, node)  # ``string_classes`` (``from torch._six import``)
            elif t is Constant:
                v = node.value  # type: ignore[attr-defined]
                if self.strings and type(v) is str and len(v) < 200:
                    for r, rx in self.strings:
                        if rx.search(v):
                            hits.append((r, node, repr(v)))
            elif t is Subscript:
                if self.subscripts:
                    self._subscript(node, hits)  # type: ignore[arg-type]
            elif t is ImportFrom and node.module and not node.level:  # type: ignore
                for i, a in enumerate(node.names):  # type: ignore[attr-defined]
                    q = f"{node.module}.{a.name}"  # type: ignore[attr-defined]
                    name_hits(q, (node, i))
                    for r in self.import_calls.get(q, ()):  # the import of a call rule's name
                        hits.append((r, (node, i), q))
            elif t is ast.arg:  # a parameter named by a reserved word (``def f(async=False)``)
                hits += [(r, node, node.arg) for r in reserved.get(node.arg, ())]  # type: ignore
            elif t is ast.Assert and self.version_asserts:
                mod = _version_assert(node, alias)  # type: ignore[arg-type]
                for r in self.version_asserts.get(mod or "", ()):
                    hits.append((r, node, f"{mod}.__version__"))
            if version_strings and t in VERSION_NODES and id(node) not in covered:
                got = version_string(node, alias, covered)
                for r in self.version_strings.get(got[0], ()) if got else ():
                    hits.append((r, node, got[1]))  # type: ignore[index]
            if t in node_types:
                for r in self.nodes.get(t.__name__, ()):
                    hits.append((r, node, t.__name__))
            if t is ast.ClassDef and self.subclasses:
                self._subclass(node, alias, hits)  # type: ignore[arg-type]
            elif t in FUNCTION_NODES and transposed and any(
                    node.lineno <= x <= node.end_lineno for x in producer_lines):  # type: ignore
                views = transposed_views(node, transposed)
                if views and _k_above_one(node, src.nodes):
                    hits += [(r, view, ".view() of a transposed topk result") for r, view in views]
            elif t in LOOP_NODES and self.scheduler_first:
                for r, p in self.scheduler_first:
                    call = scheduler_first(node.body, p, src, assigned)  # type: ignore
                    if call is not None:
                        hits.append((r, call, ".step() before optimizer.step()"))
        return hits

    def _subclass(self, node: ast.ClassDef, alias: Dict[str, str], hits: List[Hit]) -> None:
        for base in node.bases:
            q = dotted(base, alias) if isinstance(base, ast.Attribute) else (
                alias.get(base.id) if isinstance(base, ast.Name) else None)
            for r, p in self.subclasses.get(q or "", ()):
                for f in node.body:
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                            f.name == p.defines and not any(
                                (d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", ""))
                                == p.undecorated for d in f.decorator_list):
                        hits.append((r, base, f"{q} with a non-{p.undecorated} {p.defines}"))
                        break

    def _isinstance(self, cls: ast.AST, alias: Dict[str, str], hits: List[Hit]) -> None:
        """The classes of ``isinstance(x, C)`` / ``isinstance(x, (C, D))`` that a rule names."""
        for c in cls.elts if isinstance(cls, ast.Tuple) else [cls]:
            q = dotted(c, alias) if isinstance(c, ast.Attribute) else (
                alias.get(c.id) if isinstance(c, ast.Name) else None)
            for r in self.isinstances.get(q or "", ()):
                hits.append((r, c, f"isinstance(..., {q})"))

    def _subscript(self, node: ast.Subscript, hits: List[Hit]) -> None:
        val = node.value
        if not isinstance(val, ast.Attribute):
            return
        sl = node.slice
        if sys.version_info < (3, 9) and isinstance(sl, ast.Index):
            sl = sl.value  # type: ignore[attr-defined]
        if not isinstance(sl, ast.Constant):
            return
        recv = receiver_text(val.value)
        for r, p, rx in self.subscripts:
            if val.attr == p.value and sl.value == p.index and rx.search(recv):
                hits.append((r, node, f"{recv}.{val.attr}[{sl.value}]"))

    def _matches(self, path: str, src: Parsed, hits: List[Hit]
                 ) -> List[Match]:
        if not hits:
            return []
        lines = src.lines
        out = []
        for r, where, api in hits:
            if isinstance(where, tuple):  # (import statement, index of the name in it)
                start, end = _import_span(lines, where[0], where[1])
                node = where[0]
            else:
                start, end = _node_span(lines, where)  # type: ignore[arg-type]
                node = where
            out.append(lines.match(r, path, start, end, api, node))
        out.sort(key=lambda m: m.start)  # the order of the text: a rule once per file hits first
        return out


def _unguarded(hits: List[Hit], guards: Sequence[Guard]) -> List[Hit]:
    """``hits`` less those on import statements a ``try`` guards with another way that works:
    the body's when the handlers cope (their imports hit nothing, or ``x = None``), the
    handlers' when no import of the body hits (``try: import cPickle as pickle`` / ``except
    ImportError: import pickle``). Both sides hit (``torch.hub._download_url_to_file``, else
    ``model_zoo``'s, both removed): both stay."""
    hit = {id(w[0]) for _, w, _ in hits if isinstance(w, tuple)}
    drop: Set[int] = set()
    for body, caught, copes in guards:
        if copes or (caught and not caught & hit):
            drop |= body
        if body and not body & hit:
            drop |= caught
    return [h for h in hits if not (isinstance(h[1], tuple) and id(h[1][0]) in drop)]


@lru_cache(maxsize=1)
def _default() -> Matcher:
    return Matcher(kb_rules(kind="python"))


def matcher(rules: Optional[Sequence[Rule]] = None) -> Matcher:
    """The matcher of ``rules`` (default: the knowledge base's python rules, built once)."""
    return _default() if rules is None else Matcher(rules)


def find(path: str, source: Union[str, Parsed], rules: Optional[Sequence[Rule]] = None
         ) -> List[Match]:
    """The python rules (default: the knowledge base's) matched in one source, given as text
    or as ``parse(text)`` (so a caller that needs the tree too parses once)."""
    m = matcher(rules)
    if isinstance(source, Parsed):
        return m.find(path, source)
    parsed = parse(source)
    return m.find(path, parsed) if parsed else m.find_unparsed(path, source)


# -- spans ---------------------------------------------------------------------------------

def _char_col(lines: Lines, line: int, col: int) -> int:
    """ast columns count UTF-8 bytes; spans count characters."""
    if lines.ascii:
        return col
    text = lines.line(line)
    return len(text.encode("utf-8", "surrogatepass")[:col].decode("utf-8", "replace"))


def _node_span(lines: Lines, node: ast.AST) -> Tuple[int, int]:
    if not hasattr(node, "lineno"):  # no position of its own: cover its positioned children
        inner = [n for n in ast.walk(node) if hasattr(n, "lineno") and n is not node]
        if not inner:
            return 0, 0
        return (min(_node_span(lines, n)[0] for n in inner),
                max(_node_span(lines, n)[1] for n in inner))
    line, col = node.lineno, node.col_offset  # type: ignore[attr-defined]
    end_line = node.end_lineno or line  # type: ignore[attr-defined]
    end_col = node.end_col_offset  # type: ignore[attr-defined]
    if not lines.ascii:
        col = _char_col(lines, line, col)
        end_col = end_col if end_col is None else _char_col(lines, end_line, end_col)
    start = lines.offset(line, col)
    if end_col is None:
        return start, start
    return start, max(start, lines.offset(end_line, end_col))


_IMPORT_TOKEN = re.compile(r"#[^\r\n]*|[^\W\d]\w*(?:[ \t]*\.[ \t]*[^\W\d]\w*)*")


def _import_span(lines: Lines, stmt: ast.AST, index: int) -> Tuple[int, int]:
    """Offsets of the ``index``-th imported name of an import statement as written (-1: the
    module of ``from X import ...``); found by reading the statement's text, so the same on
    every Python version (alias nodes have positions only from 3.10)."""
    start, end = _node_span(lines, stmt)
    names: List[Tuple[int, int]] = []
    module = None
    after_as = False
    for m in _IMPORT_TOKEN.finditer(lines.text, start, end):
        word = m.group(0)
        if word[0] == "#" or word in ("import", "from"):
            continue
        if word == "as":
            after_as = True
            continue
        if after_as:
            after_as = False
            continue
        if isinstance(stmt, ast.ImportFrom) and module is None:
            module = (m.start(), m.end())
            continue
        names.append((m.start(), m.end()))
    if index == -1:
        return module or (start, end)
    return names[index] if index < len(names) else (start, end)


# -- names ---------------------------------------------------------------------------------

ImportName = Tuple[str, Tuple[ast.AST, int]]  # (module, (statement, index of the name))


def _aliases(nodes: Sequence[ast.AST]
             ) -> Tuple[Dict[str, str], List[Import], List[ImportName]]:
    """Local name -> dotted target for every import in the file; its absolute imports; and
    where each imported module is written (index -1: the module of ``from X import``); in
    the order of the text (a later import of a name wins), as ``regex_imports`` reads them."""
    alias: Dict[str, str] = {}
    imports: List[Import] = []
    names: List[ImportName] = []
    stmts = [n for n in nodes if type(n) is ast.Import or type(n) is ast.ImportFrom]
    for node in sorted(stmts, key=lambda n: (n.lineno, n.col_offset)):  # type: ignore
        t = type(node)
        if t is ast.Import:
            for i, a in enumerate(node.names):  # type: ignore[attr-defined]
                imports.append(Import(a.name, node.lineno))  # type: ignore[attr-defined]
                names.append((a.name, (node, i)))
                if a.asname:
                    alias[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    alias[top] = top
        elif t is ast.ImportFrom and node.module and not node.level:  # type: ignore
            imports.append(Import(node.module, node.lineno))  # type: ignore[attr-defined]
            names.append((node.module, (node, -1)))  # type: ignore[attr-defined]
            for a in node.names:  # type: ignore[attr-defined]
                if a.name != "*":
                    alias[a.asname or a.name] = f"{node.module}.{a.name}"  # type: ignore
    return alias, imports, names


_IMPORT_ERRORS = frozenset(("ImportError", "ModuleNotFoundError", "Exception",
                            "BaseException"))
_CATCH_HINT = re.compile(r"ImportError|ModuleNotFoundError|Exception|except\s*:")
_BARE_EXCEPT = re.compile(r"except\s*:")


def _may_catch(text: str) -> bool:
    """``_CATCH_HINT.search(text)``, its literals looked for first (far faster)."""
    return "Error" in text and ("ImportError" in text or "ModuleNotFoundError" in text) or (
        "Exception" in text) or ("except" in text and bool(_BARE_EXCEPT.search(text)))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    t = handler.type
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    return t is None or any(
        (n.id if isinstance(n, ast.Name) else getattr(n, "attr", "")) in _IMPORT_ERRORS
        for n in names)


def guarded_imports(nodes: Sequence[ast.AST]) -> Tuple[Guard, ...]:
    """Per ``try`` with a handler that catches ``ImportError``: (ids of the import statements
    in its body, ids of those in such handlers, whether such a handler copes without an
    import: ``x = None``, ``pass``; not ``raise``). See ``Matcher._unguarded``."""
    out: List[Guard] = []
    for node in nodes:
        if type(node).__name__ not in ("Try", "TryStar"):
            continue
        catching = [h for h in node.handlers if _catches_import_error(h)]  # type: ignore
        if not catching:
            continue
        body = frozenset(id(n) for s in node.body for n in ast.walk(s)  # type: ignore
                         if isinstance(n, (ast.Import, ast.ImportFrom)))
        handlers = [s for h in catching for s in h.body]
        caught = frozenset(id(n) for s in handlers for n in ast.walk(s)
                           if isinstance(n, (ast.Import, ast.ImportFrom)))
        copes = any(not isinstance(s, (ast.Import, ast.ImportFrom, ast.Raise)) for s in handlers)
        out.append((body, caught, copes))
    return tuple(out)


# ``from M import *`` of a module of the repository (``from utils.utils import *``): a free
# name (never bound in the file) among these comes from it, and is taken for its usual module
STAR_GUESSES = {"torch": "torch", "np": "numpy", "numpy": "numpy", "nn": "torch.nn",
                "F": "torch.nn.functional"}
STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+\*", re.M)
TORCH_STAR = re.compile(r"^[ \t]*from[ \t]+torch[\w.]*[ \t]+import[ \t]+\*", re.M)
STAR_HINT = re.compile(r"import[\s\\]+\*")  # in every text with a star import
_GUESSED = re.compile(r"\b(?:" + "|".join(STAR_GUESSES) + r")\b")
_BUILTINS = frozenset(dir(__import__("builtins")))


def star_aliases(nodes: Sequence[ast.AST], alias: Dict[str, str]) -> Dict[str, str]:
    """Local name -> dotted target for the free names a star import provides: after
    ``from torch import *`` (or ``torch.nn.functional``...) a free ``load`` is
    ``torch.load``; after ``from <any other module> import *`` only ``STAR_GUESSES`` (the
    repository module star-imports one that did ``import torch``). Free: loaded, never bound
    in the file (assigned, defined, a parameter, imported) and not a builtin."""
    stars = [n.module for n in nodes if type(n) is ast.ImportFrom and  # type: ignore
             any(a.name == "*" for a in n.names)]  # type: ignore[attr-defined]
    if not stars:
        return {}
    bound: Set[str] = set(alias)
    loaded: Set[str] = set()
    for n in nodes:
        t = type(n)
        if t is ast.Name:
            (loaded if type(n.ctx) is ast.Load else bound).add(n.id)  # type: ignore
        elif t in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            bound.add(n.name)  # type: ignore[attr-defined]
        elif t is ast.arg:
            bound.add(n.arg)  # type: ignore[attr-defined]
        elif t is ast.ExceptHandler and n.name:  # type: ignore[attr-defined]
            bound.add(n.name)  # type: ignore[attr-defined]
        elif t in (ast.Global, ast.Nonlocal):
            bound.update(n.names)  # type: ignore[attr-defined]
        elif t is ast.alias:
            bound.add((n.asname or n.name).split(".")[0])  # type: ignore[attr-defined]
    free = loaded - bound - _BUILTINS
    out = {name: STAR_GUESSES[name] for name in free & set(STAR_GUESSES)}
    for mod in stars:
        if mod and (mod == "torch" or mod.startswith("torch.")):
            out.update((name, f"{mod}.{name}") for name in free if name not in out)
    return out


_IMPORT_STMT = r"[ \t]*(?:import[ \t]|from[ \t]+([\w.]+)[ \t]+import\b)"
# a statement at a line start: the first line, then after each line end (a search for a
# literal first is many times faster than one for ``^`` in multi-line mode)
_IMPORT_FIRST = re.compile(r"\A" + _IMPORT_STMT)
_IMPORT_LINE = re.compile(r"\n" + _IMPORT_STMT)
_IMPORT_AFTER = re.compile(";" + _IMPORT_STMT)  # ``import os; import sys``
_NAME = re.compile(r"[A-Za-z_][\w.]*")


def _import_names(text: str, pos: int) -> str:
    """The names of the import statement whose ``import`` keyword ends at ``pos``: the rest
    of its line, over backslash continuations and through a parenthesised list, comments
    and anything after a ``;`` dropped."""
    parts: List[str] = []
    while True:
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        seg = text[pos:end].split("#", 1)[0].rstrip()
        more = seg.endswith("\\")
        parts.append(seg[:-1] if more else seg)
        if ";" in seg or end == len(text):
            break
        held = "".join(parts)
        if not (more or (held.lstrip().startswith("(") and ")" not in held)):
            break
        pos = end + 1
    return " ".join(parts).split(";")[0].replace("(", " ").replace(")", " ")


_LAST_IMPORTS: Tuple[Optional[str], Tuple[List[Import], Dict[str, str]]] = (None, ([], {}))


def regex_imports(text: str) -> Tuple[List[Import], Dict[str, str]]:
    """Imports and the alias map read from the text, statement by statement (one spanning
    lines by backslashes or parentheses included), as ``ast`` would give them. The last
    text's are kept (``screen`` then ``hot_lines`` read the same text): do not change them."""
    global _LAST_IMPORTS
    last = _LAST_IMPORTS  # one read: another thread may replace it
    if last[0] is text:
        return last[1]
    got = _regex_imports(text)
    _LAST_IMPORTS = (text, got)
    return got


def _regex_imports(text: str) -> Tuple[List[Import], Dict[str, str]]:
    if "\r" in text and _LONE_CR.search(text):  # lines end in a bare CR: ast counts them too
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: List[Import] = []
    alias: Dict[str, str] = {}
    line, pos = 1, 0
    found = [m for rx in (_IMPORT_FIRST, _IMPORT_LINE) for m in rx.finditer(text)]
    if ";" in text:
        found = sorted(found + list(_IMPORT_AFTER.finditer(text)), key=lambda m: m.start())
    for m in found:
        at = m.start() + (text[m.start()] == "\n")  # where the statement starts
        line += text.count("\n", pos, at)
        pos = at
        mod = m.group(1)
        names = _import_names(text, m.end())
        if mod:
            if mod.startswith("."):
                continue
            out.append(Import(mod, line))
            for part in names.split(","):
                w = part.split()
                if len(w) in (1, 3) and w[0] != "*" and _NAME.fullmatch(w[0]):
                    alias[w[-1]] = f"{mod}.{w[0]}"
            continue
        for part in names.split(","):
            w = part.split()
            if not w or not _NAME.fullmatch(w[0]):
                continue
            out.append(Import(w[0], line))
            if len(w) == 3 and w[1] == "as":
                alias[w[2]] = w[0]
            else:
                alias[w[0].split(".")[0]] = w[0].split(".")[0]
    return out, alias


# node class -> the fields that can hold nodes: all but ``ctx``, less each field once seen
# holding a name, string or number (a field's type is fixed by the ast grammar)
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {}


def _flatten(tree: ast.AST) -> List[ast.AST]:
    """Every node of the tree (like ``ast.walk``, about twice as fast; contexts skipped)."""
    out: List[ast.AST] = []
    stack = [tree]
    pop, push, extend, append = stack.pop, stack.append, stack.extend, out.append
    node_type, list_type, fields_of = ast.AST, list, _CHILD_FIELDS
    while stack:
        node = pop()
        append(node)
        t = type(node)
        fields = fields_of.get(t)
        if fields is None:
            fields = fields_of[t] = tuple(f for f in t._fields if f != "ctx")
        for name in fields:
            v = getattr(node, name, None)
            if type(v) is list_type:
                extend([x for x in v if isinstance(x, node_type)])
            elif isinstance(v, node_type):
                push(v)
            elif v is not None:  # an identifier, string or number field: never a node
                fields_of[t] = tuple(f for f in fields_of[t] if f != name)
    return out


def _chains(name: str, suffixes: Iterable[str]) -> str:
    """A regex of ``name`` (a regex) followed by one of ``suffixes`` (``.a.b``), dots with
    blanks or backslash continuations around them, and no more of the suffix's last part."""
    dot = r"[\s\\]*\.[\s\\]*"
    alts = (dot.join(map(re.escape, s.split(".")[1:])) for s in sorted(suffixes, key=len,
                                                                        reverse=True))
    return f"{name}{dot}(?:{'|'.join(alts)})\\b"


def _keyword_given(text: str, pos: int, keywords: Sequence[str]) -> bool:
    """Is the name ending at ``pos`` called with one of ``keywords`` (``F.softmax(x, dim=1)``)
    before any nested parenthesis? Then no pattern that wants the call without them matches
    it."""
    return bool(keywords) and re.match(r"\s*\([^()]*?\b(?:" + "|".join(keywords) + r")\s*=(?!=)",
                                        text[pos:pos + 400]) is not None


def _bare(text: str, m: "re.Match[str]") -> bool:
    """Is the match not preceded by a name's letter or a dot (so it starts a name)?"""
    return not m.start() or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_.")


_BLOCKS = frozenset(("body", "orelse", "finalbody", "handlers", "cases"))  # statement lists


def _flatten_lines(tree: ast.AST, lines: List[int]) -> List[ast.AST]:
    """The nodes of the statements that span one of ``lines`` (sorted), decorators included:
    a compound statement's own node and header (``if`` test, ``def`` arguments, ...), then its
    blocks' statements read the same way; parents before children, as ``_flatten``."""
    out: List[ast.AST] = []
    stack: List[ast.AST] = list(reversed(tree.body))  # type: ignore[attr-defined]
    while stack:
        s = stack.pop()
        first = getattr(s, "lineno", None)  # a ``case`` has none: read it
        if first is not None:
            deco = getattr(s, "decorator_list", None)
            i = bisect.bisect_left(lines, deco[0].lineno if deco else first)
            if i == len(lines) or lines[i] > s.end_lineno:  # type: ignore[attr-defined]
                continue
        out.append(s)
        blocks: List[ast.AST] = []
        for name in s._fields:
            v = getattr(s, name, None)
            if type(v) is list:
                if name in _BLOCKS:
                    blocks += v
                else:
                    for x in v:
                        if isinstance(x, ast.AST):
                            out += _flatten(x)
            elif isinstance(v, ast.AST) and name != "ctx":
                out += _flatten(v)
        stack += reversed(blocks)
    return out


def line_numbers(text: str, starts: Iterable[int]) -> List[int]:
    """The lines (1-based, each once) of the offsets ``starts`` (ascending) in ``text``."""
    out: List[int] = []
    line, pos = 1, 0
    for a in starts:
        line += text.count("\n", pos, a)
        pos = a
        if not out or out[-1] != line:
            out.append(line)
    return out


def dotted(node: ast.AST, alias: Dict[str, str]) -> Optional[str]:
    """The dotted name an expression like ``F.upsample`` resolves to through the imports."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in alias:
        return None
    parts.append(alias[node.id])
    return ".".join(reversed(parts))



def getattr_target(node: ast.AST, alias: Dict[str, str]) -> Optional[str]:
    """``getattr(torchvision.models, name)`` called: ``torchvision.models.<name>`` for a
    literal name, else ``torchvision.models.*`` (only a call prefix pattern can match it)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and len(node.args) >= 2 and node.func.id not in alias):
        return None
    base = dotted(node.args[0], alias) if isinstance(node.args[0], ast.Attribute) else (
        alias.get(node.args[0].id) if isinstance(node.args[0], ast.Name) else None)
    name = str_const(node.args[1])
    return f"{base}.{name if name and name.isidentifier() else '*'}" if base else None


def _version_assert(node: ast.Assert, alias: Dict[str, str]) -> Optional[str]:
    """The module of ``assert M.__version__ <op> "X"`` (either side), else None."""
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    for a, b in ((test.left, test.comparators[0]), (test.comparators[0], test.left)):
        if isinstance(a, ast.Attribute) and a.attr == "__version__" and str_const(b):
            return dotted(a.value, alias)
    return None


VERSION_NODES = (ast.Compare, ast.Subscript, ast.Call)
_ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _version_attr(node: ast.AST, alias: Dict[str, str]) -> Optional[str]:
    """The module of ``M.__version__``, else None."""
    if isinstance(node, ast.Attribute) and node.attr == "__version__":
        return dotted(node.value, alias)
    return None


def version_slice(node: ast.AST, alias: Dict[str, str]) -> Optional[str]:
    """The module of ``float(M.__version__[:N])``, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "float" and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.Subscript)):
        return _version_attr(node.args[0].value, alias)
    return None


def version_string(node: ast.AST, alias: Dict[str, str], covered: Set[int]
                   ) -> Optional[Tuple[str, str]]:
    """(module, api) when ``node`` reads ``M.__version__`` as a plain string: ordered against
    a string literal, ``float(M.__version__[:3])`` compared with a number, sliced or
    indexed, or ``.split(".")``. The parts of a reported compare go into ``covered``."""
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            return None
        a, b = node.left, node.comparators[0]
        for x, y in ((a, b), (b, a)):
            mod = _version_attr(x, alias)
            if mod and isinstance(node.ops[0], _ORDER) and str_const(y) is not None:
                return mod, f"{mod}.__version__ compared as a string"
            mod = version_slice(x, alias)
            if mod and isinstance(y, ast.Constant) and type(y.value) in (int, float):
                covered.add(id(x.args[0]))  # type: ignore[attr-defined]
                return mod, f"float({mod}.__version__[...]) compared"
        return None
    if isinstance(node, ast.Subscript):
        mod = _version_attr(node.value, alias)
        return (mod, f"{mod}.__version__[...]") if mod else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "split" and len(node.args) == 1
            and str_const(node.args[0]) == "."):
        mod = _version_attr(node.func.value, alias)
        return (mod, f"{mod}.__version__.split('.')") if mod else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "startswith" and len(node.args) == 1):
        mod = _version_attr(node.func.value, alias)
        return (mod, f"{mod}.__version__.startswith(...)") if mod else None
    return None


FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
_ELEMENTWISE = ("eq", "ne")


def transposed_views(func: ast.AST, producers: Dict[str, List[Rule]]
                     ) -> List[Tuple[Rule, ast.Call]]:
    """``(rule, call)`` for each ``v[...].view(...)`` / ``v.view(...)`` in the body of
    ``func`` (not in nested functions) where ``v = p.eq(...)`` (``ne``, ``==``, ``!=``) and
    ``p`` is ``q.t()`` of a ``q`` assigned from ``<x>.<producer>(...)`` (``topk``): the
    comparison keeps the transposed strides, so ``view`` cannot flatten it. The narrow
    ImageNet-example ``accuracy()`` form; assignments are read in source order."""
    produced: Dict[str, List[Rule]] = {}  # name -> rules of the producer it holds
    transposed: Dict[str, List[Rule]] = {}
    compared: Dict[str, List[Rule]] = {}
    out: List[Tuple[Rule, ast.Call]] = []
    stack = list(reversed(func.body))  # type: ignore[attr-defined]
    nodes: List[ast.AST] = []
    while stack:  # statements and expressions in source order, nested scopes left out
        n = stack.pop()
        nodes.append(n)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(n))))
    for n in nodes:
        if isinstance(n, ast.Assign) and len(n.targets) == 1:
            target, value = n.targets[0], n.value
            names = [target.id] if isinstance(target, ast.Name) else [
                e.id for e in getattr(target, "elts", ()) if isinstance(e, ast.Name)]
            got: Dict[str, Dict[str, List[Rule]]] = {}  # what the assignment makes
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                attr, recv = value.func.attr, value.func.value
                if attr in producers:
                    got = {name: {"p": producers[attr]} for name in names}
                elif attr == "t" and not value.args and isinstance(recv, ast.Name) and \
                        recv.id in produced and isinstance(target, ast.Name):
                    got = {target.id: {"t": produced[recv.id]}}
                elif attr in _ELEMENTWISE and isinstance(recv, ast.Name) and \
                        recv.id in transposed and isinstance(target, ast.Name):
                    got = {target.id: {"c": transposed[recv.id]}}
            elif isinstance(value, ast.Compare) and len(value.ops) == 1 and isinstance(
                    value.ops[0], (ast.Eq, ast.NotEq)) and isinstance(target, ast.Name):
                for side in (value.left, value.comparators[0]):
                    if isinstance(side, ast.Name) and side.id in transposed:
                        got = {target.id: {"c": transposed[side.id]}}
            for name in names:  # a reassignment forgets what the name held
                produced.pop(name, None), transposed.pop(name, None), compared.pop(name, None)
            for name, kinds in got.items():
                for kind, rs in kinds.items():
                    {"p": produced, "t": transposed, "c": compared}[kind][name] = rs
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                n.func.attr == "view":
            recv = n.func.value
            if isinstance(recv, ast.Subscript):
                recv = recv.value
            if isinstance(recv, ast.Name) and recv.id in compared:
                out += [(r, n) for r in compared[recv.id]]
    return out


def _k_above_one(func: ast.AST, nodes: Sequence[ast.AST]) -> bool:
    """Whether a ``k`` above 1 visibly reaches ``func``: an integer literal > 1 in its
    parameter defaults, or in a tuple/list literal (or an integer) passed to a call of it in
    the same file (``accuracy(out, y, topk=(1, 5))``). With ``k == 1`` the slice is one row
    and ``view`` works, so ``accuracy(out, y)`` with ``topk=(1,)`` never fails."""
    def big(e: Optional[ast.AST]) -> bool:
        items = e.elts if isinstance(e, (ast.Tuple, ast.List)) else [e]  # type: ignore
        return any(isinstance(x, ast.Constant) and type(x.value) is int and x.value > 1
                   for x in items)

    args = func.args  # type: ignore[attr-defined]
    if any(big(d) for d in list(args.defaults) + list(args.kw_defaults)):
        return True
    name = func.name  # type: ignore[attr-defined]
    for n in nodes:
        if type(n) is ast.Call:
            f = n.func  # type: ignore[attr-defined]
            if (f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)) == name and any(
                    big(a) for a in list(n.args) + [k.value for k in n.keywords]):  # type: ignore
                return True
    return False


def str_const(node: ast.AST) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_ok(call: ast.Call, p: Pattern) -> bool:
    if p.args is not None and (len(call.args) != p.args or any(
            isinstance(a, ast.Starred) for a in call.args)):
        return False
    kws = {k.arg for k in call.keywords if k.arg}
    if p.keyword and not kws & set(p.keyword):
        return False
    if p.no_keyword and kws & set(p.no_keyword):
        return False
    if p.arg0:
        if not call.args or str_const(call.args[0]) not in p.arg0:
            return False
        if any(str_const(a) and str_const(a) not in p.arg0 and str(str_const(a)).startswith(
                "-") for a in call.args[1:]):
            return False  # e.g. add_argument('--local_rank', '--local-rank'): already fixed
    return True


def receiver_text(node: ast.AST) -> str:
    """A receiver as a ``subscript_attr`` receiver regex sees it: dotted names as written,
    ``()`` for a call, ``[]`` for a subscript (``[,]`` when indexed by a tuple without a
    slice: one element of a tensor), ``(...)`` for any other expression:
    ``loss.sum().data[0]`` -> ``loss.sum()``, ``(a + b).data[0]`` -> ``(...)``,
    ``x[i, j, k].data[0]`` -> ``x[,]``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{receiver_text(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return receiver_text(node.func) + "()"
    if isinstance(node, ast.Subscript):
        sl = node.slice
        if sys.version_info < (3, 9) and isinstance(sl, ast.Index):
            sl = sl.value  # type: ignore[attr-defined]
        element = isinstance(sl, ast.Tuple) and not any(
            isinstance(e, (ast.Slice, ast.Starred)) or (isinstance(e, ast.Constant) and e.value in (
                None, Ellipsis)) for e in sl.elts)
        return receiver_text(node.value) + ("[,]" if element else "[]")
    return "(...)"


def assigned_calls(src: Parsed) -> Dict[str, Set[str]]:
    """Receiver text (``sched``, ``self.sched``) -> what each assignment to it in the file
    gives: the dotted name of the call (through the imports), else ``""``."""
    out: Dict[str, Set[str]] = {}
    for node in src.nodes:
        if type(node) is ast.Assign:
            value = node.value  # type: ignore[attr-defined]
            for t in node.targets:  # type: ignore[attr-defined]
                for e in t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]:
                    q = dotted(value.func, src.alias) if isinstance(value, ast.Call) and not \
                        isinstance(t, (ast.Tuple, ast.List)) else None
                    out.setdefault(receiver_text(e), set()).add(q or "")
    return out


def _assigned_from(receiver: ast.AST, names: Sequence[str], src: Parsed,
                   cache: List[Dict[str, Set[str]]]) -> bool:
    """Whether the file assigns ``receiver`` (a name or ``self.x``), every time, a call of
    one of ``names``."""
    if not cache:
        cache.append(assigned_calls(src))
    got = cache[0].get(receiver_text(receiver))
    return bool(got) and got <= set(names)


LOOP_NODES = (ast.For, ast.While)


def scheduler_first(body: Sequence[ast.stmt], p: Pattern, src: Parsed,
                    cache: List[Dict[str, Set[str]]]) -> Optional[ast.Call]:
    """The ``s.step()`` statement of a loop body that steps a scheduler (``s`` assigned one of
    ``p.values``) before the body steps an optimizer (``o.step(...)`` or ``x.step(o)``, ``o``
    assigned one of ``p.optimizers``) and after nothing in it did; else None."""
    def steps_optimizer(stmt: ast.AST) -> bool:
        return any(type(n) is ast.Call and isinstance(n.func, ast.Attribute)  # type: ignore
                   and n.func.attr == "step" and any(  # type: ignore[attr-defined]
                       _assigned_from(o, p.optimizers, src, cache)
                       for o in [n.func.value] + list(n.args))  # type: ignore[attr-defined]
                   for n in ast.walk(stmt))

    for i, stmt in enumerate(body):
        call = stmt.value if type(stmt) is ast.Expr else None  # type: ignore[attr-defined]
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                call.func.attr == "step" and not call.args and not call.keywords and \
                _assigned_from(call.func.value, p.values, src, cache):
            if any(steps_optimizer(s) for s in body[:i]):
                return None
            return call if any(steps_optimizer(s) for s in body[i + 1:]) else None
    return None


_TRIPLE_QUOTE = re.compile("\"\"\"|'''")


def _in_long_string(text: str, pos: int) -> bool:
    """Is ``pos`` inside a triple-quoted string (the quotes before it left one open)?"""
    open_quote = ""
    for m in _TRIPLE_QUOTE.finditer(text, 0, pos):
        if not open_quote:
            open_quote = m.group(0)
        elif m.group(0) == open_quote:
            open_quote = ""
    return bool(open_quote)


def _has_prefix(prefixes: Dict[str, List[Rule]], q: str) -> bool:
    parts = q.split(".")
    return any(".".join(parts[:i]) in prefixes for i in range(1, len(parts) + 1))
