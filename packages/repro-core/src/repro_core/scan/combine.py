"""Evidence -> PEP 440 constraints. Sources are merged from most to least trusted (stated
requirements, conda env, Dockerfile, scripts/notebooks, README, then API fingerprints); a
specifier that would leave no version is not merged: both are kept as evidence and the clash
is reported as a conflict."""

import re
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from repro_core import kb
from repro_core.scan.collector import PRIORITY
from repro_core.scan.report import Conflict, Evidence

_NUM = re.compile(r"\d+(?:\.\d+)*")


@lru_cache(maxsize=None)
def _version(text: str) -> Version:
    return Version(text)


def _candidates(package: str, specs: Iterable[str]) -> List[Version]:
    """Versions that witness whether a specifier set is satisfiable: every version literal in
    the specifiers, its neighbours (next patch/minor/major), and for torch every kb release
    (in no particular order: only whether one satisfies matters)."""
    out: Set[Version] = {_version("0")}
    for s in specs:
        for lit in _NUM.findall(s):
            out |= _neighbours(lit)
    if package == "torch":
        out.update(_version(r.version) for r in kb.torch_releases())
    return list(out)


@lru_cache(maxsize=4096)
def _neighbours(lit: str) -> FrozenSet[Version]:
    """A version literal, as written and padded to three parts, and its neighbours."""
    out = set()
    parts = [int(x) for x in lit.split(".")][:4]
    while len(parts) < 3:
        parts.append(0)
    for i in range(len(parts)):
        bumped = parts[:i] + [parts[i] + 1] + [0] * (len(parts) - i - 1)
        out.add(_version(".".join(map(str, bumped))))
        if parts[i] > 0:
            lower = parts[:i] + [parts[i] - 1] + [99] * (len(parts) - i - 1)
            out.add(_version(".".join(map(str, lower))))
    out.add(_version(".".join(map(str, parts))))
    out.add(_version(lit))
    return frozenset(out)


def satisfiable(package: str, spec: SpecifierSet, others: Iterable[str] = ()) -> bool:
    if not str(spec):
        return True
    cands = _candidates(package, [str(spec), *others])
    return any(spec.contains(v, prereleases=True) for v in cands)


def sort_key(e: Evidence) -> Tuple[int, int, str, int]:
    """Most trusted first: by kind, then a README/INSTALL before other documents of its kind
    (a FAQ or changelog mentions versions; the README states them), then by place."""
    name = e.path.replace("\\", "/").rsplit("/", 1)[-1].upper()
    return PRIORITY.get(e.kind, 9), 0 if name.startswith(("README", "INSTALL")) else 1, \
        e.path, e.line


MAX_EVIDENCE_PER_PACKAGE = 1000  # most trusted first; the rest is not combined (a warning)
_CLASH_SEARCH = 20  # kept sources searched for the one a rejected specifier clashes with


def _plain(spec: Specifier) -> Optional[Version]:
    """The version of a specifier on a plain release (no pre/post/dev/local part, no
    wildcard), for which PEP 440 comparisons nest; else None."""
    try:
        v = Version(spec.version)
    except (InvalidVersion, AttributeError, TypeError):
        return None
    if v.is_prerelease or v.is_postrelease or v.local is not None:
        return None
    return v


class _Conjunction:
    """The specifiers kept so far for one package, tested in O(1) for the common operators:
    of several ``>=``/``>`` (``<=``/``<``) bounds on plain releases only the tightest matters,
    and ``!=`` versions are a set; any other specifier is tested as is."""

    def __init__(self) -> None:
        self.bounds: Dict[str, Tuple[Version, Specifier]] = {}  # op -> tightest
        self.excluded: Set[Version] = set()
        self.others: List[SpecifierSet] = []  # one each: SpecifierSet semantics (===)
        self._seen: Set[Specifier] = set()

    def add(self, spec: Specifier) -> None:
        if spec in self._seen:
            return
        self._seen.add(spec)
        op = getattr(spec, "operator", "")
        v = _plain(spec) if op in (">=", ">", "<=", "<") else None
        if v is not None:
            old = self.bounds.get(op)
            if old is None or (v > old[0] if op.startswith(">") else v < old[0]):
                self.bounds[op] = (v, spec)
            return
        if op == "!=" and not spec.version.endswith(".*") and "+" not in spec.version:
            try:
                self.excluded.add(Version(spec.version))
                return
            except InvalidVersion:
                pass
        self.others.append(SpecifierSet(str(spec)))

    def ok(self, v: Version) -> bool:
        """Does ``v`` satisfy every specifier added (pre-releases allowed)?"""
        for _, spec in self.bounds.values():
            if not spec.contains(v, prereleases=True):
                return False
        if self.excluded and (Version(v.public) if v.local else v) in self.excluded:
            return False
        return all(o.contains(v, prereleases=True) for o in self.others)


def _witness(alive: List[Version], conj: _Conjunction, s: SpecifierSet,
             new: List[Version]) -> bool:
    """Is there a candidate version that satisfies ``conj`` and ``s``? ``alive`` (candidates
    that satisfied ``conj`` when added) loses the ones ``conj`` now rules out, and a witness
    moves to its front, so a run of compatible specifiers costs O(1) each."""
    i = 0
    while i < len(alive):
        v = alive[i]
        if not conj.ok(v):
            alive[i] = alive[-1]
            alive.pop()
            continue
        if s.contains(v, prereleases=True):
            alive[0], alive[i] = alive[i], alive[0]
            return True
        i += 1
    return any(s.contains(v, prereleases=True) and conj.ok(v) for v in new)


def constraints(evidence: Iterable[Evidence]) -> Tuple[Dict[str, str], List[Conflict],
                                                        List[str]]:
    """(package -> specifier string, conflicts, warnings). Linear in the evidence: each
    specifier is tested against a summary of the kept ones (``_Conjunction``) on the candidate
    versions still alive, not against every kept specifier on every candidate."""
    by_pkg: Dict[str, List[Evidence]] = {}
    for e in evidence:
        by_pkg.setdefault(e.package, []).append(e)
    out: Dict[str, str] = {}
    conflicts: List[Conflict] = []
    warnings: List[str] = []
    for pkg in sorted(by_pkg):
        evs = [e for e in sorted(by_pkg[pkg], key=sort_key) if e.specifier]
        if len(evs) > MAX_EVIDENCE_PER_PACKAGE:
            warnings.append(f"{pkg}: {len(evs)} version statements; only the "
                            f"{MAX_EVIDENCE_PER_PACKAGE} most trusted were combined")
            evs = evs[:MAX_EVIDENCE_PER_PACKAGE]
        current = SpecifierSet("")
        kept: List[Tuple[Evidence, SpecifierSet]] = []
        conj = _Conjunction()
        alive = _candidates(pkg, [])  # "0" (and every torch release for torch)
        known = set(alive)
        for e in evs:
            try:
                s = SpecifierSet(e.specifier)
            except InvalidSpecifier:
                warnings.append(f"{e.path}:{e.line}: invalid specifier {e.specifier!r} for {pkg}")
                continue
            new = [v for v in _candidates("", [str(s), e.specifier]) if v not in known]
            if _witness(alive, conj, s, new):
                current = current & s
                kept.append((e, s))
                for spec in s:
                    conj.add(spec)
                known.update(new)
                alive.extend(new)
                continue
            if not kept:
                warnings.append(f"{e.path}:{e.line}: {pkg}{e.specifier} matches no version")
                continue
            other = _clash(pkg, kept[:_CLASH_SEARCH], s) or kept[0][0]
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
