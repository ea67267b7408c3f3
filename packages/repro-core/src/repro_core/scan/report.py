"""The values scan produces: ``ScanReport`` and its parts (frozen, JSON round-trip)."""

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional, Tuple


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

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ScanReport":
        kw = dict(d)
        kw["requirements"] = tuple(Requirement(**r) for r in d.get("requirements", ()))
        kw["evidence"] = tuple(Evidence(**e) for e in d.get("evidence", ()))
        kw["extensions"] = tuple(
            Extension(**{**x, "sources": tuple(x["sources"]),
                         "legacy_apis": tuple(LegacyApi(**a) for a in x.get("legacy_apis", ()))})
            for x in d.get("extensions", ()))
        kw["findings"] = tuple(Finding(**f) for f in d.get("findings", ()))
        kw["conflicts"] = tuple(
            Conflict(package=c["package"], kept=Evidence(**c["kept"]),
                     dropped=Evidence(**c["dropped"]), message=c["message"])
            for c in d.get("conflicts", ()))
        kw["imports"] = tuple(ImportUse(**i) for i in d.get("imports", ()))
        kw["date_sources"] = tuple(d.get("date_sources", ()))
        kw["warnings"] = tuple(d.get("warnings", ()))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in kw.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> "ScanReport":
        return cls.from_dict(json.loads(text))
