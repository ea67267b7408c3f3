"""The mutable accumulator the readers write into; ``combine`` freezes it into a report."""

import re
from typing import Dict, List, Set, Tuple

from repro_core.match.span import Match
from repro_core.rules import Rule
from repro_core.scan.history import DateSource
from repro_core.scan.report import Evidence, Finding, ImportUse, LegacyApi, Requirement
from repro_core.scan.reqs import Spec

# How much a source kind is trusted when sources disagree (lower wins).
PRIORITY = {"requirements": 0, "setup.py": 0, "setup.cfg": 0, "pyproject": 0,
            "environment.yml": 1, "assert": 1, "dockerfile": 2, "script": 3, "notebook": 3,
            "readme": 4, "api": 5}
NOT_PIP = ("cuda", "python")
EVIDENCE_PER_RULE = 5
# What one file can contribute: requirement entries / install-command words read, and
# version statements per package (no real file pins one package a hundred times).
MAX_ENTRIES_PER_FILE = 5000
MAX_SPECS_PER_PACKAGE = 100
_ABSURD = re.compile(r"\d{10,}")  # no real version has a 10-digit part
# a nightly or pre-release pin (torch==1.8.0.dev20201105, 2.0.0rc1): its wheels are not kept
# on the indexes; what the code was written against is the release it became
_PRE_PIN = re.compile(r"^==\s*(\d+(?:\.\d+)*)[.-]?(?:dev|a|b|rc)\d*$")


class Collector:
    def __init__(self) -> None:
        self.requirements: List[Requirement] = []
        self.evidence: List[Evidence] = []
        self.findings: List[Finding] = []
        self.imports: List[ImportUse] = []
        self.warnings: List[str] = []
        self.dates: List[DateSource] = []
        self.cpp_hits: Dict[str, List[LegacyApi]] = {}
        self.build_hits: Dict[str, List[LegacyApi]] = {}
        self.ext_builds: Dict[str, str] = {}  # directory -> build file declaring an extension
        self.cpp_bound: Set[str] = set()  # folders with a source binding an extension module
        self.cpp_waiting: Dict[str, List[Match]] = {}  # source -> detections needing one
        self._seen: set = set()
        self.rule_ids: set = set()  # every rule detected so far
        self._per_rule: Dict[str, int] = {}
        self.requirement_rows: List[Tuple[Requirement, str]] = []  # (req, path) for req rules
        self._entries: Dict[str, int] = {}  # path -> entries read
        self._specs: Dict[Tuple[str, str], int] = {}  # (path, package) -> statements kept

    def charge(self, path: str, n: int = 1) -> bool:
        """Count ``n`` entries (requirement lines, install-command words) read from ``path``;
        False, with one warning, once the file has used its ``MAX_ENTRIES_PER_FILE``."""
        used = self._entries.get(path, 0)
        self._entries[path] = used + n
        if used + n <= MAX_ENTRIES_PER_FILE:
            return True
        if used <= MAX_ENTRIES_PER_FILE:
            self.warnings.append(f"{path}: more than {MAX_ENTRIES_PER_FILE} requirement entries "
                                 "or install words; the rest of the file was not read")
        return False

    def spec(self, s: Spec, path: str, line: int, kind: str, reason: str,
             requirement: bool = True) -> None:
        """Version evidence from a source; ``requirement``: also a stated dependency."""
        if _ABSURD.search(s.specifier):
            self.warnings.append(f"{path}:{line}: ignored {s.package}{s.specifier[:40]}...")
            return
        n = self._specs.get((path, s.package), 0)
        self._specs[(path, s.package)] = n + 1
        if n >= MAX_SPECS_PER_PACKAGE:
            if n == MAX_SPECS_PER_PACKAGE:
                self.warnings.append(f"{path}:{line}: more than {MAX_SPECS_PER_PACKAGE} version "
                                     f"statements for {s.package}; the rest were ignored")
            return
        if requirement and s.package not in NOT_PIP and kind != "api":
            req = Requirement(s.package, s.specifier, f"{path}:{line}")
            self.requirements.append(req)
        why = f"{reason} ({s.note})" if s.note else reason
        spec = s.specifier
        pre = _PRE_PIN.match(spec)
        if pre:
            spec = "==" + pre.group(1)
            why += f" (nightly/pre-release {s.specifier[2:].strip()}: planned as its release)"
        self.evidence.append(Evidence(s.package, spec, path, line, why, kind))

    def hit(self, rule: Rule, path: str, line: int, api: str, kind: str = "api") -> bool:
        """A rule detection: a finding, plus version evidence when the rule has a hard bound.
        False when this detection was already recorded."""
        key = (rule.id, path) if rule.once_per_file else (rule.id, path, line)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.rule_ids.add(rule.id)
        self.findings.append(Finding(
            rule=rule.id, path=path, line=line, message=f"{rule.message} [{api}]", fix=rule.fix,
            library=rule.library, bound=rule.bound or "", safety=rule.safety,
            codemod=rule.codemod))
        if rule.bound and rule.hard:
            n = self._per_rule.get(rule.id, 0)
            if n < EVIDENCE_PER_RULE:
                self._per_rule[rule.id] = n + 1
                self.evidence.append(Evidence(
                    rule.package or "", rule.specifier, path, line,
                    f"rule {rule.id}: {rule.message}", kind))
        return True
