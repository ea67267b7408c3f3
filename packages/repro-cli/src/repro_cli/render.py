"""Output helpers: JSON for machines, aligned tables for people."""

import json
import sys
from typing import Any, Iterable, Optional, Sequence, TextIO


def print_json(obj: Any, out: Optional[TextIO] = None) -> None:
    (out or sys.stdout).write(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def table(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    """Render rows as a left-aligned text table with a header rule."""
    body = [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [len(h) for h in header]
    for r in body:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(list(header)), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    return "\n".join(out)
