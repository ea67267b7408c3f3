"""``repro diff A B``: two environments side by side (snapshots, locks or requirements files, in
any pairing): packages added, removed or changed, and Python/CUDA/GPU/driver/variable changes.

    from repro_core.diff import diff_files
    d = diff_files("before.json", "requirements.lock")   # Diff; d.equal, d.to_json()
"""

import json
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from repro_core.errors import ReproError
from repro_core.lock import Lock, read_lock
from repro_core.snapshot import Snapshot


@dataclass(frozen=True)
class Change:
    name: str
    old: Optional[str]  # None: absent from A
    new: Optional[str]  # None: absent from B

    @property
    def kind(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"


@dataclass(frozen=True)
class Side:
    """What one input says: packages (canonical name -> (name, version)) and facts."""

    label: str
    kind: str  # "snapshot" | "lock" | "requirements"
    packages: Dict[str, Tuple[str, str]]
    facts: Dict[str, str]


@dataclass(frozen=True)
class Diff:
    a: str
    b: str
    packages: Tuple[Change, ...]  # sorted by name
    facts: Tuple[Change, ...]  # python, cuda, cudnn, gpu, driver, env VAR, ...
    same: int = 0  # packages equal on both sides

    @property
    def equal(self) -> bool:
        return not self.packages and not self.facts

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for key in ("packages", "facts"):
            for c, row in zip(getattr(self, key), d[key]):
                row["kind"] = c.kind
        d["equal"] = self.equal
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Diff":
        d = json.loads(text)

        def changes(rows: Any) -> Tuple[Change, ...]:
            return tuple(Change(r["name"], r["old"], r["new"]) for r in rows)

        return cls(a=d["a"], b=d["b"], packages=changes(d["packages"]),
                   facts=changes(d["facts"]), same=d.get("same", 0))


def _cuda_of_variant(variant: str) -> Optional[str]:
    if not variant:
        return None
    if variant == "cpu":
        return "none"
    digits = variant[2:]
    return f"{int(digits[:-1])}.{digits[-1]}" if digits.isdigit() and len(digits) >= 2 else None


def side_of_snapshot(s: Snapshot, label: str) -> Side:
    pk = {canonicalize_name(d.name): (d.name, d.version + (f" @ {d.direct_url}"
                                                           if d.direct_url else ""))
          for d in s.distributions}
    facts = {"python": s.python, "platform": f"{s.system} {s.machine}".strip()}
    if s.torch and s.torch.version:
        facts["cuda"] = s.torch.cuda or "none"
        if s.torch.cudnn:
            facts["cudnn"] = str(s.torch.cudnn)
        facts["arch list"] = " ".join(s.torch.arch_list)
    facts["gpu"] = ", ".join(f"{g.name} ({g.cc})" for g in s.gpus) or "none"
    facts["driver"] = s.driver or "none"
    facts.update({f"env {k}": v for k, v in s.env.items()})
    return Side(label, "snapshot", pk, facts)


def side_of_lock(lk: Lock, label: str, kind: str = "lock") -> Side:
    pk = {canonicalize_name(p.name): (p.name, p.version) for p in lk.pins}
    facts = {}
    if lk.python:
        facts["python"] = lk.python
    if lk.platform:
        facts["platform"] = {"linux": "Linux x86_64", "linux-aarch64": "Linux aarch64"}.get(
            lk.platform, lk.platform)
    cuda = _cuda_of_variant(lk.variant)
    if cuda:
        facts["cuda"] = cuda
    return Side(label, kind, pk, facts)


def read_side(path: str) -> Side:
    """A snapshot JSON, a Lock JSON, or a requirements/lock/freeze text file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ReproError(f"{path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ReproError(f"{path}: not a text file") from None
    if text.lstrip().startswith("{"):
        try:
            d = json.loads(text)
            if "distributions" in d:
                return side_of_snapshot(Snapshot.from_dict(d), path)
            if "pins" in d:
                return side_of_lock(Lock.from_json(text), path)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ReproError(f"{path}: not a snapshot or lock ({e})") from None
        raise ReproError(f"{path}: JSON but neither a snapshot nor a lock")
    lk = read_lock(path)
    return side_of_lock(lk, path, "lock" if lk.date else "requirements")


def _same_version(a: str, b: str) -> bool:
    """Equal versions; a side that states none (an unpinned line, or ``name @ URL`` as pip
    freeze writes a direct-URL install) admits the other's."""
    if a == b:
        return True
    a, b = a.split(" @ ")[0].strip(), b.split(" @ ")[0].strip()
    if not a or not b:
        return True
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False


def _same_fact(name: str, a: str, b: str) -> bool:
    if name == "python":  # a lock says 3.8, a snapshot 3.8.18: compare what both say
        n = min(a.count("."), b.count("."))
        return a.split(".")[: n + 1] == b.split(".")[: n + 1]
    return a == b


def diff_sides(a: Side, b: Side) -> Diff:
    changes = []
    same = 0
    for key in sorted(set(a.packages) | set(b.packages)):
        old, new = a.packages.get(key), b.packages.get(key)
        name = (new or old)[0]  # type: ignore[index]
        if old and new and _same_version(old[1], new[1]):
            same += 1
            continue
        changes.append(Change(name, old[1] if old else None, new[1] if new else None))
    facts = []
    both = [k for k in a.facts if k in b.facts]
    env_keys = sorted(k for k in set(a.facts) | set(b.facts) if k.startswith("env ")
                      and a.kind == b.kind == "snapshot")
    for k in both + [k for k in env_keys if k not in both]:
        va, vb = a.facts.get(k), b.facts.get(k)
        if va is None or vb is None or not _same_fact(k, va, vb):
            facts.append(Change(k, va, vb))
    return Diff(a=a.label, b=b.label, packages=tuple(changes), facts=tuple(facts), same=same)


def diff_files(a: str, b: str) -> Diff:
    """Compare two files (snapshot JSON, lock JSON or text, requirements/freeze text)."""
    return diff_sides(read_side(a), read_side(b))


__all__ = ["Diff", "Change", "Side", "diff_files", "diff_sides", "read_side",
           "side_of_snapshot", "side_of_lock"]
