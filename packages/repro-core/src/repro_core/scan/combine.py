"""Evidence -> PEP 440 constraints. Sources are merged from most to least trusted (stated
requirements, conda env, Dockerfile, scripts/notebooks, README, then API fingerprints); a
specifier that would leave no version is not merged: both are kept as evidence and the clash
is reported as a conflict."""

import re
from typing import Dict, Iterable, List, Optional, Set, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from repro_core import kb
from repro_core.scan.collector import PRIORITY
from repro_core.scan.report import Conflict, Evidence

_NUM = re.compile(r"\d+(?:\.\d+)*")


def _candidates(package: str, specs: Iterable[str]) -> List[Version]:
    """Versions that witness whether a specifier set is satisfiable: every version literal in
    the specifiers, its neighbours (next patch/minor/major), and for torch every kb release."""
    out: Set[Version] = {Version("0")}
    for s in specs:
        for lit in _NUM.findall(s):
            parts = [int(x) for x in lit.split(".")][:4]
            while len(parts) < 3:
                parts.append(0)
            for i in range(len(parts)):
                bumped = parts[:i] + [parts[i] + 1] + [0] * (len(parts) - i - 1)
                out.add(Version(".".join(map(str, bumped))))
                if parts[i] > 0:
                    lower = parts[:i] + [parts[i] - 1] + [99] * (len(parts) - i - 1)
                    out.add(Version(".".join(map(str, lower))))
            out.add(Version(".".join(map(str, parts))))
            out.add(Version(lit))
    if package == "torch":
        for r in kb.torch_releases():
            out.add(Version(r.version))
    return sorted(out)


def satisfiable(package: str, spec: SpecifierSet, others: Iterable[str] = ()) -> bool:
    if not str(spec):
        return True
    cands = _candidates(package, [str(spec), *others])
    return any(spec.contains(v, prereleases=True) for v in cands)


def _key(e: Evidence) -> Tuple[int, str, int]:
    return PRIORITY.get(e.kind, 9), e.path, e.line


def constraints(evidence: Iterable[Evidence]) -> Tuple[Dict[str, str], List[Conflict],
                                                        List[str]]:
    """(package -> specifier string, conflicts, warnings)."""
    by_pkg: Dict[str, List[Evidence]] = {}
    for e in evidence:
        by_pkg.setdefault(e.package, []).append(e)
    out: Dict[str, str] = {}
    conflicts: List[Conflict] = []
    warnings: List[str] = []
    for pkg in sorted(by_pkg):
        evs = sorted(by_pkg[pkg], key=_key)
        current = SpecifierSet("")
        kept: List[Tuple[Evidence, SpecifierSet]] = []
        for e in evs:
            if not e.specifier:
                continue
            try:
                s = SpecifierSet(e.specifier)
            except InvalidSpecifier:
                warnings.append(f"{e.path}:{e.line}: invalid specifier {e.specifier!r} for {pkg}")
                continue
            merged = current & s
            if satisfiable(pkg, merged, [k.specifier for k, _ in kept]):
                current = merged
                kept.append((e, s))
                continue
            if not kept:
                warnings.append(f"{e.path}:{e.line}: {pkg}{e.specifier} matches no version")
                continue
            other = _clash(pkg, kept, s) or kept[0][0]
            conflicts.append(Conflict(pkg, other, e, (
                f"{pkg}: {other.path}:{other.line} gives {other.specifier} but {e.path}:{e.line} "
                f"gives {e.specifier}; kept {other.specifier} ({other.kind} outranks {e.kind})")))
        out[pkg] = str(current)
    return out, conflicts, warnings


def _clash(pkg: str, kept: List[Tuple[Evidence, SpecifierSet]],
           s: SpecifierSet) -> Optional[Evidence]:
    for e, ks in kept:
        if not satisfiable(pkg, ks & s, [e.specifier]):
            return e
    return None


def version_ok(spec: str, version: str) -> bool:
    """Does ``version`` satisfy ``spec`` (local tags ignored; invalid -> False)?"""
    try:
        return SpecifierSet(spec).contains(Version(version.split("+")[0]), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False
