"""environment.yml: the YAML subset conda writes (no PyYAML): ``dependencies:`` items,
including the nested ``- pip:`` list."""

import re

from repro_core.scan.collector import Collector
from repro_core.scan.reqs import conda_spec, parse_requirement, url_cuda


def read(col: Collector, rel: str, text: str) -> None:
    in_deps = False
    deps_indent = -1
    pip_indent = -1
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(?<!\s)\s+#.*$", "", raw.rstrip())  # a run's first space: linear
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0 and not body.startswith("-"):
            in_deps = body.startswith("dependencies:")
            pip_indent = -1
            continue
        if not in_deps or not body.startswith("-"):
            continue
        item = body[1:].strip().strip("'\"")
        if not col.charge(rel):
            return
        if deps_indent < 0:
            deps_indent = indent
        if pip_indent >= 0 and indent > pip_indent:
            if item.startswith("-"):  # "--extra-index-url URL", "-f URL"
                for s in url_cuda(item):
                    col.spec(s, rel, lineno, "environment.yml", "conda env pip index")
                continue
            for s in parse_requirement(item):
                col.spec(s, rel, lineno, "environment.yml", "conda env pip dependency")
            continue
        pip_indent = -1
        if item.rstrip(":") == "pip" and item.endswith(":"):
            pip_indent = indent
            continue
        for s in conda_spec(item):
            if s.package not in ("pip", "setuptools", "wheel"):
                col.spec(s, rel, lineno, "environment.yml", "conda env dependency")
