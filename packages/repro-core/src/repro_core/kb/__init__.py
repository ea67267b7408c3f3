"""The knowledge base: compatibility facts and breakage rules, as JSON data files.

One place drives doctor, scan, plan (and later migrate/diagnose). Adding a fact is adding
a row to a file under ``kb/data/``; each file is loaded once and cached.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from repro_core.errors import ReproError

DATA = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=None)
def load(name: str) -> Any:
    """Return the parsed ``kb/data/<name>.json`` (``name`` may contain a sub-folder)."""
    path = DATA / f"{name}.json"
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ReproError(f"{path}: knowledge-base file missing") from None
    except json.JSONDecodeError as e:
        raise ReproError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None


def names(folder: str = "") -> list:
    """The data files under ``kb/data/<folder>`` (without the .json suffix), sorted."""
    base = DATA / folder
    return sorted(str(p.relative_to(DATA).with_suffix("")) for p in base.rglob("*.json"))


from repro_core.kb.rules import Pattern, Rule, rule, rules  # noqa: E402, F401  (breakage rules)
