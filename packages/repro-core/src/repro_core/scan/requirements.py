"""requirements*.txt: PEP 508 lines, ``-r``/``-c`` includes, ``-f``/index URLs with cuXYZ."""

import os
import re
from typing import Callable, Optional, Set

from repro_core.scan.collector import Collector
from repro_core.scan.reqs import logical_lines, parse_requirement, url_cuda

_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)")
_URL_OPT = re.compile(r"^(-f|--find-links|-i|--index-url|--extra-index-url)\s*=?\s*(\S+)")
_OTHER_OPT = re.compile(r"^(-e|--editable)\s*=?\s*(\S+)")


def read(col: Collector, root: str, rel: str, text: str,
         load: Callable[[str], Optional[str]], seen: Optional[Set[str]] = None) -> None:
    """Read one requirements file; ``load(rel)`` returns another file's text (for -r)."""
    seen = seen if seen is not None else set()
    if rel in seen:
        return
    seen.add(rel)
    for lineno, line in logical_lines(text):
        if not col.charge(rel):
            break
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        m = _INCLUDE.match(line)
        if m:
            inc = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(2)))
            outside = os.path.isabs(m.group(2)) or inc.startswith("..")
            # never read outside the repository: load() also refuses a path that resolves
            # outside it through a symlink
            inc_text = None if outside else load(inc)
            if outside:
                col.warnings.append(f"{rel}:{lineno}: included file {m.group(2)} is outside "
                                    "the repository; not read")
            elif inc_text is None:
                why = "not read" if os.path.lexists(os.path.join(root, inc)) else "not found"
                col.warnings.append(f"{rel}:{lineno}: included file {m.group(2)} {why}")
            else:
                read(col, root, inc.replace(os.sep, "/"), inc_text, load, seen)
            continue
        m = _URL_OPT.match(line)
        if m:
            for s in url_cuda(m.group(2)):
                col.spec(s, rel, lineno, "requirements", f"wheel index {m.group(2)}")
            continue
        m = _OTHER_OPT.match(line)
        if m:
            line = m.group(2)
        elif line.startswith("-"):
            continue
        specs = parse_requirement(line.split(" --hash")[0])
        if not specs and not line.startswith((".", "/", "file:")):
            col.warnings.append(f"{rel}:{lineno}: unreadable requirement {line[:80]!r}")
        for s in specs:
            col.spec(s, rel, lineno, "requirements", f"{os.path.basename(rel)} requires it")
