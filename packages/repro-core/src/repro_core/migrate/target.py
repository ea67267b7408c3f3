"""The stack code is migrated to (``torch==2.14,timm==1.0``) and which rules apply for it."""

import re
import sys
from typing import Dict, Optional

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from repro_core.errors import ReproError
from repro_core.kb.rules import Rule

# distributions whose installed version the default target reads (never imported)
STACK = ("torch", "torchvision", "timm", "numpy", "pillow", "scipy", "setuptools", "pyyaml")


def parse_target(text: str) -> Dict[str, str]:
    """``"torch==2.14,timm==1.0"`` -> {"torch": "2.14", "timm": "1.0"}; ReproError naming the
    bad part."""
    out: Dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([A-Za-z0-9][\w.-]*)\s*==\s*([\w.+!-]+)", part)
        if not m:
            raise ReproError(f"--target: {part!r} is not NAME==VERSION")
        try:
            Version(m.group(2))
        except InvalidVersion:
            raise ReproError(f"--target: {part!r}: {m.group(2)!r} is not a version") from None
        out[m.group(1).lower()] = m.group(2)
    return out


def installed_target() -> Dict[str, str]:
    """The installed stack, read from distribution metadata (nothing imported): torch and
    friends, ``python`` (this interpreter) and ``cuda`` (from torch's ``+cuXYZ`` tag)."""
    from importlib import metadata

    out = {"python": ".".join(str(x) for x in sys.version_info[:3])}
    for name in STACK:
        try:
            v = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if v:
            out[name] = v.split("+")[0]
            m = re.search(r"\+cu(\d+)(\d)$", v) if name == "torch" else None
            if m:
                out["cuda"] = f"{m.group(1)}.{m.group(2)}"
    return out


def why_skipped(rule: Rule, target: Dict[str, str]) -> Optional[str]:
    """None when the rule's old API breaks on ``target`` (or is a deprecation without bound);
    else why there is nothing to migrate. A package the target does not name counts as its
    newest release."""
    if rule.introduced and not rule.removed and not rule.deprecated:
        return "a new API, nothing to migrate"
    req: Optional[Requirement] = rule.requirement
    if req is None:
        return None
    spec = req.specifier
    if any(s.operator in (">", ">=") for s in spec) and not any(
            s.operator in ("<", "<=", "!=") for s in spec):
        return "a new API, nothing to migrate"
    have = target.get(req.name.lower())
    if have is None:
        return None
    if spec.contains(have, prereleases=True):
        return f"{req.name} {have} still has the old API ({rule.bound})"
    return None


def satisfies(requires: str, target: Dict[str, str]) -> bool:
    """Does ``target`` provide what the new code needs (``"torch>=2.3"``)? Unknown: yes."""
    if not requires:
        return True
    req = Requirement(requires)
    have = target.get(req.name.lower())
    return have is None or req.specifier.contains(have, prereleases=True)
