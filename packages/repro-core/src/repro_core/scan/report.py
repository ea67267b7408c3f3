"""The values scan produces: ``ScanReport`` and its parts (frozen, JSON round-trip)."""

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional, Tuple

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from repro_core.errors import ReproError
from repro_core.kb import schema


@dataclass(frozen=True)
class Requirement:
    name: str
    specifier: str
    source: str  # "file:line"


@dataclass(frozen=True)
class Evidence:
    package: str
    specifier: str
    path: str
    line: int
    reason: str
    kind: str = ""  # the reader: requirements, setup.py, dockerfile, readme, api, ...


@dataclass(frozen=True)
class LegacyApi:
    path: str
    line: int
    api: str
    rule: str = ""


@dataclass(frozen=True)
class Extension:
    path: str
    kind: str  # "cuda" | "cpp"
    sources: Tuple[str, ...]
    legacy_apis: Tuple[LegacyApi, ...] = ()
    build: str = ""  # setup.py / CMakeLists.txt declaring it, if any


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int
    message: str
    fix: str
    library: str = ""
    bound: str = ""
    safety: str = ""
    codemod: Optional[str] = None


@dataclass(frozen=True)
class Conflict:
    package: str
    kept: Evidence
    dropped: Evidence
    message: str


@dataclass(frozen=True)
class ImportUse:
    module: str
    distribution: str
    path: str
    line: int
    stated: bool


@dataclass(frozen=True)
class ScanReport:
    path: str
    reference_date: Optional[str]
    date_sources: Tuple[str, ...]
    requirements: Tuple[Requirement, ...]
    constraints: Dict[str, str]
    evidence: Tuple[Evidence, ...]
    extensions: Tuple[Extension, ...]
    findings: Tuple[Finding, ...]
    conflicts: Tuple[Conflict, ...] = ()
    imports: Tuple[ImportUse, ...] = ()
    files_scanned: int = 0
    warnings: Tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def check(self, source: str = "JSON text") -> None:
        """ReproError ``SOURCE: scan report: field F: problem`` unless every constraint is a version
        specifier (``>=1.7,<1.9``) and every finding's bound a requirement (``torch<2.0``):
        what plan reads from a report."""
        for key, spec in self.constraints.items():
            try:
                SpecifierSet(spec)
            except (InvalidSpecifier, TypeError):
                raise ReproError(f"{source}: scan report: field constraints[{key!r}]: not a "
                                 f"version specifier: {spec!r}") from None
        for i, f in enumerate(self.findings):
            try:
                if f.bound:
                    PackagingRequirement(f.bound)
            except (InvalidRequirement, TypeError):
                raise ReproError(f"{source}: scan report: field findings[{i}].bound: not a "
                                 f"requirement such as torch<2.0: {f.bound!r}") from None

    @classmethod
    def from_dict(cls, d: Any, source: str = "JSON text") -> "ScanReport":
        """The report of a ``to_dict()``/JSON object; ReproError naming ``source`` and the
        field for a missing field, a value of the wrong type or a bad specifier (see
        ``check``). Unknown top-level keys are ignored."""
        if not isinstance(d, dict):
            raise ReproError(f"{source}: not a scan report (a JSON {type(d).__name__}, not an "
                             f"object)")
        names = {f.name for f in fields(cls)}
        report = schema.record(cls, {k: v for k, v in d.items() if k in names}, source,
                               "scan report")
        report.check(source)
        return report

    @classmethod
    def from_json(cls, text: str, source: str = "JSON text") -> "ScanReport":
        """``from_dict`` of a JSON text (``source`` names it in errors, e.g. the file)."""
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ReproError(f"{source}: not a scan report (invalid JSON: {e})") from None
        return cls.from_dict(data, source)
