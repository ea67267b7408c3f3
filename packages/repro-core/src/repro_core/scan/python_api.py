"""Python sources: imports and API fingerprints, by ``ast`` only (nothing is executed).

Names are resolved through the file's imports (``import torch.nn.functional as F`` makes
``F.upsample`` read as ``torch.nn.functional.upsample``), then matched against the python
rules of the knowledge base (see ``repro_core.rules`` for the pattern forms).
"""

import ast
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from repro_core.rules import Rule, for_source


@dataclass(frozen=True)
class Hit:
    rule: Rule
    line: int
    api: str


@dataclass(frozen=True)
class Import:
    module: str  # full dotted module name as written
    line: int


@dataclass(frozen=True)
class VersionCheck:
    """``assert timm.__version__ == "0.3.2"``: an in-code pin."""

    module: str
    specifier: str
    line: int


_OPS = {ast.Eq: "==", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Lt: "<", ast.NotEq: "!="}


class _Index:
    """The python rules' patterns, indexed for one-dict-lookup matching."""

    def __init__(self, rules: Sequence[Rule]):
        self.names: Dict[str, List[Tuple[Rule, dict]]] = {}
        self.name_prefix: Dict[str, List[Tuple[Rule, dict]]] = {}
        self.calls: Dict[str, List[Tuple[Rule, dict]]] = {}
        self.call_prefix: List[Tuple[str, Rule, dict]] = []
        self.methods: Dict[str, List[Tuple[Rule, dict]]] = {}
        self.subscripts: List[Tuple[Rule, dict]] = []
        self.strings: List[Tuple[Rule, re.Pattern[str]]] = []
        self.nodes: Dict[str, List[Rule]] = {}
        self.py2: List[Rule] = []
        for r in rules:
            for p in r.patterns:
                if "name" in p:
                    target = self.name_prefix if p.get("prefix") else self.names
                    for n in p["name"]:
                        target.setdefault(n, []).append((r, p))
                elif "call" in p:
                    for n in p["call"]:
                        if p.get("prefix"):
                            self.call_prefix.append((n, r, p))
                        else:
                            self.calls.setdefault(n, []).append((r, p))
                elif "method" in p:
                    for n in p["method"]:
                        self.methods.setdefault(n, []).append((r, p))
                elif "subscript_attr" in p:
                    self.subscripts.append((r, p))
                elif "string" in p:
                    self.strings.append((r, re.compile(p["string"])))
                elif "node" in p:
                    self.nodes.setdefault(p["node"], []).append(r)
                elif p.get("py2"):
                    self.py2.append(r)
        self.node_types = tuple(getattr(ast, n) for n in self.nodes if hasattr(ast, n))
        self.node_rule_ids = frozenset(r.id for rs in self.nodes.values() for r in rs)
        self.needle, self.node_needle = self._needles(rules)
        self.by_top: Dict[str, List[str]] = {}  # dotted names of name/call patterns by root
        for r in rules:
            for p in r.patterns:
                if "prefix" in p and "call" in p:
                    continue  # call-prefix patterns are pre-filtered by their keyword
                for n in p.get("name", []) + p.get("call", []):
                    self.by_top.setdefault(n.split(".")[0], []).append(n)

    @staticmethod
    def _needles(rules: Sequence[Rule]) -> Tuple[Tuple["re.Pattern[str]", ...],
                                                 Tuple["re.Pattern[str]", ...]]:
        """Text patterns that every file with a possible hit matches (a cheap pre-filter: a
        file matching none of them needs no ast pass; its imports are read by regex)."""
        alts = [r"print[ \t]+[^\s(=]", r"except[^:\n]*,[ \t]*\w+[ \t]*:", r"exec[ \t]+['\"]",
                r"__version__", r"import[ \t]*[(\\]"]
        nodes: List[str] = []
        for r in rules:
            for p in r.patterns:
                if p.get("prefix") and "keyword" in p:
                    alts += [re.escape(k) + r"\s*=" for k in p["keyword"]]
                for a in p.get("arg0", []):
                    alts.append(re.escape(a))
                for m in p.get("method", []):
                    alts.append(rf"\.{re.escape(m)}\s*\(")
                if "subscript_attr" in p:
                    alts.append(r"\.{}\s*\[".format(re.escape(p["subscript_attr"])))
                if "string" in p:
                    alts.append(p["string"].replace("^", "").replace("$", ""))
                if p.get("node") == "JoinedStr":
                    nodes.append(r"[fF][rR]?['\"]")
                elif p.get("node") == "NamedExpr":
                    nodes.append(r":=")
        # separate patterns, each starting with a literal: re scans for it quickly
        return tuple(re.compile(a) for a in dict.fromkeys(alts)), tuple(
            re.compile(n) for n in dict.fromkeys(nodes))


@lru_cache(maxsize=1)
def _index() -> _Index:
    return _Index(for_source("python"))


def _aliases(nodes: Sequence[ast.AST]) -> Tuple[Dict[str, str], List[Import]]:
    """Local name -> dotted target for every import in the file; plus absolute imports."""
    alias: Dict[str, str] = {}
    imports: List[Import] = []
    for node in nodes:
        t = type(node)
        if t is ast.Import:
            for a in node.names:  # type: ignore[attr-defined]
                imports.append(Import(a.name, node.lineno))  # type: ignore[attr-defined]
                if a.asname:
                    alias[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    alias[top] = top
        elif t is ast.ImportFrom and node.module and not node.level:  # type: ignore
            imports.append(Import(node.module, node.lineno))  # type: ignore[attr-defined]
            for a in node.names:  # type: ignore[attr-defined]
                if a.name != "*":
                    alias[a.asname or a.name] = f"{node.module}.{a.name}"  # type: ignore
    return alias, imports


def _flatten(tree: ast.AST) -> List[ast.AST]:
    """Every node of the tree (like ``ast.walk``, about twice as fast; contexts skipped)."""
    out: List[ast.AST] = []
    stack = [tree]
    node_type, list_type = ast.AST, list
    while stack:
        node = stack.pop()
        out.append(node)
        for name in node._fields:
            if name == "ctx":
                continue
            v = getattr(node, name, None)
            if type(v) is list_type:
                stack.extend(x for x in v if isinstance(x, node_type))
            elif isinstance(v, node_type):
                stack.append(v)
    return out


def _dotted(node: ast.AST, alias: Dict[str, str]) -> Optional[str]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in alias:
        return None
    parts.append(alias[node.id])
    return ".".join(reversed(parts))


def _str_const(node: ast.AST) -> Optional[str]:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_ok(call: ast.Call, p: dict) -> bool:
    kws = {k.arg for k in call.keywords if k.arg}
    if "keyword" in p and not kws & set(p["keyword"]):
        return False
    if "no_keyword" in p and kws & set(p["no_keyword"]):
        return False
    if "arg0" in p:
        if not call.args or _str_const(call.args[0]) not in p["arg0"]:
            return False
        if any(_str_const(a) and _str_const(a) not in p["arg0"] and str(_str_const(a)).startswith(
                "-") for a in call.args[1:]):
            return False  # e.g. add_argument('--local_rank', '--local-rank'): already fixed
    return True


_PY2 = re.compile(r"^\s*(print\s+[^\s(=][^=]*$|exec\s+['\"]|except\s+[\w.]+\s*,\s*\w+\s*:)", re.M)


def version_checks(nodes: Sequence[ast.AST], alias: Dict[str, str]) -> List[VersionCheck]:
    out = []
    for node in nodes:
        if not (type(node) is ast.Compare and len(node.ops) == 1
                and isinstance(node.left, ast.Attribute) and node.left.attr == "__version__"):
            continue
        mod = _dotted(node.left.value, alias)
        ver = _str_const(node.comparators[0])
        op = _OPS.get(type(node.ops[0]))
        if mod and ver and op and re.match(r"^\d+(\.\d+)*$", ver):
            out.append(VersionCheck(mod, f"{op}{ver}", node.lineno))
    return out


def analyze(text: str) -> Tuple[List[Import], List[Hit], bool]:
    """(imports, rule hits, parsed) for one Python source text."""
    imports, hits, _, parsed = analyze_all(text)
    return imports, hits, parsed


_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:import[ \t]+([\w. \t,]+)|from[ \t]+([\w.]+)[ \t]+import\b)", re.M)


def _regex_imports(text: str) -> Tuple[List[Import], Dict[str, str]]:
    """Imports and the alias map read line by line (callers make sure no import statement
    spans lines: ``import (`` / backslashes send the file to the ast pass)."""
    out: List[Import] = []
    alias: Dict[str, str] = {}
    line, pos = 1, 0
    for m in _IMPORT_LINE.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        if m.group(2):
            mod = m.group(2)
            if mod.startswith("."):
                continue
            out.append(Import(mod, line))
            rest = text[m.end():text.find("\n", m.end()) % (len(text) + 1)].split("#")[0]
            for part in rest.split(","):
                w = part.split()
                if len(w) in (1, 3) and w[0] != "*":
                    alias[w[-1]] = f"{mod}.{w[0]}"
            continue
        for part in m.group(1).split(","):
            w = part.split()
            if not w or not re.fullmatch(r"[A-Za-z_][\w.]*", w[0]):
                continue
            out.append(Import(w[0], line))
            if len(w) == 3 and w[1] == "as":
                alias[w[2]] = w[0]
            else:
                alias[w[0].split(".")[0]] = w[0].split(".")[0]
    return out, alias


@lru_cache(maxsize=4096)
def _target_info(target: str) -> Tuple[bool, FrozenSet[str]]:
    """(the import itself names a pattern, suffixes that complete ``target`` into one)."""
    direct, suffixes = False, set()
    for name in _index().by_top.get(target.split(".")[0], ()):
        if name == target or target.startswith(name + "."):
            direct = True
        elif name.startswith(target + "."):
            suffixes.add(name[len(target):].rstrip("."))
    return direct, frozenset(suffixes)


def _may_hit(text: str, imports: List[Import], alias: Dict[str, str], idx: "_Index") -> bool:
    """Could a name/call pattern resolve in this file? Each pattern's dotted name, spelled
    through the file's aliases (``np.float`` for ``numpy.float``), must occur in the text."""
    for imp in imports:
        if _target_info(imp.module)[0]:
            return True
    for local, target in alias.items():
        direct, suffixes = _target_info(target)
        if direct:
            return True
        if not suffixes:
            continue
        for m in re.finditer(re.escape(local) + r"((?:\s*\.\s*\w+)+)", text):
            if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_."):
                continue
            acc = ""
            for part in re.sub(r"\s+", "", m.group(1)).split(".")[1:]:
                acc += "." + part
                if acc in suffixes:
                    return True
    return False


def node_rule_ids() -> FrozenSet[str]:
    return _index().node_rule_ids


def analyze_all(text: str, nodes: bool = True
                ) -> Tuple[List[Import], List[Hit], List[VersionCheck], bool]:
    """(imports, rule hits, __version__ checks, parsed) for one Python source text.
    ``nodes=False``: syntax-feature rules (f-strings, ...) are already known; skip them."""
    idx = _index()
    if not any(rx.search(text) for rx in idx.needle) and not (
            nodes and any(rx.search(text) for rx in idx.node_needle)):
        imports, alias = _regex_imports(text)
        if not _may_hit(text, imports, alias, idx):
            return imports, [], [], True
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        hits = []
        m = _PY2.search(text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            hits = [Hit(r, line, "python2 syntax") for r in idx.py2]
        return [], hits, [], False
    nodes = _flatten(tree)  # one traversal, then passes over the flat list
    alias, imports = _aliases(nodes)
    hits: List[Hit] = []

    def name_hits(q: str, line: int) -> None:
        for r, _ in idx.names.get(q, ()):
            hits.append(Hit(r, line, q))
        if idx.name_prefix:
            parts = q.split(".")
            for i in range(1, len(parts) + 1):
                for r, _ in idx.name_prefix.get(".".join(parts[:i]), ()):
                    hits.append(Hit(r, line, q))

    for imp in imports:
        name_hits(imp.module, imp.line)
    Attribute, Name, Call, Subscript, Constant = (ast.Attribute, ast.Name, ast.Call,
                                                  ast.Subscript, ast.Constant)
    node_types = set(idx.node_types)
    for node in nodes:
        t = type(node)
        if t is Attribute:
            q = _dotted(node, alias)
            if q:
                name_hits(q, node.lineno)  # type: ignore[attr-defined]
        elif t is Call:
            q = _dotted(node.func, alias)  # type: ignore[attr-defined]
            if q:
                for r, p in idx.calls.get(q, ()):
                    if _call_ok(node, p):  # type: ignore[arg-type]
                        hits.append(Hit(r, node.lineno, q))  # type: ignore[attr-defined]
                for pre, r, p in idx.call_prefix:
                    if q.startswith(pre) and _call_ok(node, p):  # type: ignore[arg-type]
                        hits.append(Hit(r, node.lineno, q))  # type: ignore[attr-defined]
            func = node.func  # type: ignore[attr-defined]
            if type(func) is Attribute and func.attr in idx.methods:
                for r, p in idx.methods[func.attr]:
                    if _call_ok(node, p):  # type: ignore[arg-type]
                        hits.append(Hit(r, node.lineno, f".{func.attr}()"))  # type: ignore
        elif t is Name:
            q = alias.get(node.id)  # type: ignore[attr-defined]
            if q and q in idx.names and type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                name_hits(q, node.lineno)  # type: ignore[attr-defined]
        elif t is Constant:
            v = node.value  # type: ignore[attr-defined]
            if idx.strings and type(v) is str and len(v) < 200:
                for r, rx in idx.strings:
                    if rx.search(v):
                        hits.append(Hit(r, node.lineno, repr(v)))  # type: ignore[attr-defined]
        elif t is Subscript:
            if idx.subscripts:
                _subscript(node, idx, hits)  # type: ignore[arg-type]
        elif t is ast.ImportFrom and node.module and not node.level:  # type: ignore
            for a in node.names:  # type: ignore[attr-defined]
                name_hits(f"{node.module}.{a.name}", node.lineno)  # type: ignore
        if t in node_types:
            for r in idx.nodes.get(t.__name__, ()):
                hits.append(Hit(r, getattr(node, "lineno", 1), t.__name__))
    return imports, hits, version_checks(nodes, alias), True


def _subscript(node: ast.Subscript, idx: _Index, hits: List[Hit]) -> None:
    val = node.value
    if not isinstance(val, ast.Attribute):
        return
    sl = node.slice
    if sys.version_info < (3, 9) and isinstance(sl, ast.Index):
        sl = sl.value  # type: ignore[attr-defined]
    if not isinstance(sl, ast.Constant):
        return
    recv = _recv_name(val.value)
    for r, p in idx.subscripts:
        if val.attr == p["subscript_attr"] and sl.value == p["index"] and \
                re.search(p.get("receiver", ""), recv or ""):
            hits.append(Hit(r, node.lineno, f"{recv}.{val.attr}[{sl.value}]"))


def _recv_name(node: ast.AST) -> str:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))
