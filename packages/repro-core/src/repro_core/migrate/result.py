"""The typed result of ``repro migrate``: what changed (or would), what needs a review, what
could not be read."""

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Tuple


@dataclass(frozen=True)
class Change:
    """One rewrite at the span a rule's matcher reported (lines from 1, columns from 0, end
    exclusive, in the original text). ``review``: the rule (or this use) needs a human look;
    such a change is only applied when its rule is named with ``rules=``."""

    path: str
    rule: str
    codemod: str
    line: int
    col: int
    end_line: int
    end_col: int
    before: str
    after: str
    review: bool = False
    note: str = ""

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Change":
        return cls(**d)


@dataclass(frozen=True)
class Failure:
    """A file that was left alone: it does not parse, cannot be read or cannot be written."""

    path: str
    error: str

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "Failure":
        return cls(**d)


@dataclass(frozen=True)
class MigrationResult:
    """``changes``: applied (``mode="write"``) or that would be applied; ``review``: suggested
    changes left for a human (needs-review rules not named in ``rules``, uses a codemod cannot
    prove); ``skipped_rules``: rule id -> why it does not apply for ``target``."""

    path: str
    mode: str
    target: Dict[str, str]
    changes: Tuple[Change, ...] = ()
    review: Tuple[Change, ...] = ()
    failed: Tuple[Failure, ...] = ()
    skipped_rules: Dict[str, str] = field(default_factory=dict)
    files_scanned: int = 0
    files_changed: Tuple[str, ...] = ()
    diff: str = ""

    def to_json(self) -> Dict[str, Any]:
        return {"path": self.path, "mode": self.mode, "target": dict(self.target),
                "changes": [c.to_json() for c in self.changes],
                "review": [c.to_json() for c in self.review],
                "failed": [f.to_json() for f in self.failed],
                "skipped_rules": dict(self.skipped_rules), "files_scanned": self.files_scanned,
                "files_changed": list(self.files_changed), "diff": self.diff}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "MigrationResult":
        return cls(path=d["path"], mode=d["mode"], target=dict(d["target"]),
                   changes=tuple(Change.from_json(c) for c in d["changes"]),
                   review=tuple(Change.from_json(c) for c in d["review"]),
                   failed=tuple(Failure.from_json(f) for f in d["failed"]),
                   skipped_rules=dict(d["skipped_rules"]), files_scanned=d["files_scanned"],
                   files_changed=tuple(d["files_changed"]), diff=d.get("diff", ""))
