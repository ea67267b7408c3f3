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
from typing import Dict, List, Optional, Sequence, Tuple

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


@lru_cache(maxsize=1)
def _index() -> _Index:
    return _Index(for_source("python"))


def _aliases(tree: ast.AST) -> Tuple[Dict[str, str], List[Import]]:
    """Local name -> dotted target for every import in the file; plus absolute imports."""
    alias: Dict[str, str] = {}
    imports: List[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                imports.append(Import(a.name, node.lineno))
                if a.asname:
                    alias[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    alias[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imports.append(Import(node.module, node.lineno))
            for a in node.names:
                if a.name != "*":
                    alias[a.asname or a.name] = f"{node.module}.{a.name}"
    return alias, imports


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


def version_checks(tree: ast.AST, alias: Dict[str, str]) -> List[VersionCheck]:
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Compare) and len(node.ops) == 1
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


def analyze_all(text: str) -> Tuple[List[Import], List[Hit], List[VersionCheck], bool]:
    """(imports, rule hits, __version__ checks, parsed) for one Python source text."""
    idx = _index()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        hits = []
        m = _PY2.search(text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            hits = [Hit(r, line, "python2 syntax") for r in idx.py2]
        return [], hits, [], False
    alias, imports = _aliases(tree)
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
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                name_hits(f"{node.module}.{a.name}", node.lineno)
        elif isinstance(node, ast.Attribute):
            q = _dotted(node, alias)
            if q:
                name_hits(q, node.lineno)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            q = alias.get(node.id)
            if q and "." in q and q in idx.names:
                name_hits(q, node.lineno)
        elif isinstance(node, ast.Call):
            q = _dotted(node.func, alias)
            if q:
                for r, p in idx.calls.get(q, ()):
                    if _call_ok(node, p):
                        hits.append(Hit(r, node.lineno, q))
                for pre, r, p in idx.call_prefix:
                    if q.startswith(pre) and _call_ok(node, p):
                        hits.append(Hit(r, node.lineno, q))
            if isinstance(node.func, ast.Attribute):
                for r, p in idx.methods.get(node.func.attr, ()):
                    if _call_ok(node, p):
                        hits.append(Hit(r, node.lineno, f".{node.func.attr}()"))
        elif isinstance(node, ast.Subscript) and idx.subscripts:
            _subscript(node, idx, hits)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and idx.strings:
            if len(node.value) < 200:
                for r, rx in idx.strings:
                    if rx.search(node.value):
                        hits.append(Hit(r, node.lineno, repr(node.value)))
        if idx.node_types and isinstance(node, idx.node_types):
            for r in idx.nodes.get(type(node).__name__, ()):
                hits.append(Hit(r, getattr(node, "lineno", 1), type(node).__name__))
    return imports, hits, version_checks(tree, alias), True


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
