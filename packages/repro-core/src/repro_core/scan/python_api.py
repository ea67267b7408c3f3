"""Python sources: imports, rule matches (``repro_core.match.python``) and in-code version
pins, by ``ast`` only (nothing is executed). A file goes to the ast pass only when the text
pre-filter says a rule could match or it checks a ``__version__``."""

import ast
import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Set

from repro_core import kb
from repro_core.match import python as matcher
from repro_core.match.python import Import, dotted, str_const
from repro_core.scan.collector import Collector
from repro_core.scan.imports import distribution, is_python2_only
from repro_core.scan.report import ImportUse, LegacyApi
from repro_core.scan.reqs import Spec, canon

__all__ = ["Import", "VersionCheck", "read", "version_checks"]


@dataclass(frozen=True)
class VersionCheck:
    """``assert timm.__version__ == "0.3.2"``: an in-code pin."""

    module: str
    specifier: str
    line: int


_OPS = {ast.Eq: "==", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Lt: "<", ast.NotEq: "!="}
_BUILD_RULES = ("cpp-", "cuda-", "torch-utils-ffi")  # rules about an extension's build


def version_checks(nodes: Sequence[ast.AST], alias: Dict[str, str]) -> List[VersionCheck]:
    out = []
    for node in nodes:
        if not (type(node) is ast.Compare and len(node.ops) == 1  # type: ignore[attr-defined]
                and isinstance(node.left, ast.Attribute)  # type: ignore[attr-defined]
                and node.left.attr == "__version__"):  # type: ignore[attr-defined]
            continue
        mod = dotted(node.left.value, alias)  # type: ignore[attr-defined]
        ver = str_const(node.comparators[0])  # type: ignore[attr-defined]
        op = _OPS.get(type(node.ops[0]))  # type: ignore[attr-defined]
        if mod and ver and op and re.match(r"^\d+(\.\d+)*$", ver):
            out.append(VersionCheck(mod, f"{op}{ver}", node.lineno))  # type: ignore
    return out


def read(col: Collector, rel: str, text: str, *, local: Set[str],
         imports: Dict[str, ImportUse]) -> None:
    """One Python source: rule findings, ``__version__`` pins and the first import of each
    distribution (into ``imports``; names in ``local`` are the repository's own modules)."""
    m = matcher.matcher()
    # syntax-feature rules (f-strings, ...) found once need not send more files to the ast
    skip = m.syntax_rule_ids if m.syntax_rule_ids <= col.rule_ids else frozenset()
    pre = None if "__version__" in text else m.prefilter(text, skip)
    checks: List[VersionCheck] = []
    if pre is not None:
        mods, matches = pre[0], []
    else:
        parsed = matcher.parse(text)
        if parsed is None:
            mods, matches = [], m.find_unparsed(rel, text)
        else:
            mods, matches = parsed.imports, m.find(rel, parsed)
            checks = version_checks(parsed.nodes, parsed.alias)
    for c in checks:
        dist = distribution(c.module)
        if dist:
            col.spec(Spec(canon(dist), c.specifier), rel, c.line, "assert",
                     f"the code checks {c.module}.__version__ {c.specifier}")
    for h in matches:
        if col.hit(h.rule, rel, h.line, h.api) and h.rule.id.startswith(_BUILD_RULES):
            col.build_hits.setdefault(rel.rsplit("/", 1)[0] if "/" in rel else "", []).append(
                LegacyApi(rel, h.line, h.api, h.rule.id))
    hub = rel.rsplit("/", 1)[-1] == "hubconf.py"
    for imp in mods:
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
