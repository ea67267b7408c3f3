"""README/INSTALL markdown, shell scripts, notebooks' ``!pip`` lines: install commands,
version statements ("tested with PyTorch 1.7.1", "Python 3.6+", "requires PyTorch 1.0" =
``>=1.0``), docker images named (``pytorch/pytorch:1.7.1-cuda11.0-cudnn8-devel``); arXiv ids
for dates."""

import re
from typing import List, Tuple

from repro_core.scan.collector import Collector
from repro_core.scan.dockerfile import from_image
from repro_core.scan.reqs import Spec, canon, commands, cuda_spec, install_command

_STATEMENT = re.compile(
    r"\b(PyTorch|torch|Python|CUDA|cudatoolkit|timm|torchvision|numpy|TensorFlow)\b"
    r"[\s:(]*(?:(?:version|v)\s*)?(?:(>=|≥|==|=|<=|<|>)\s*)?"
    r"(\d+\.\d+(?:\.\d+)?(?:\.?dev\d+)?)(?![\d.]*\w)"
    r"(\s*\+|\s*(?:or|and)\s+(?:higher|above|later|newer)|\s*(?:or|and)\s+(?:lower|below))?",
    re.I)
# "requires PyTorch 1.0", "at least Python 3.6": a minimum, not the tested version
_MINIMUM = re.compile(r"\b(requires?|needs?|at least|minimum)\b(?:(?!\.\s|[;:!?]).)*$", re.I)
# images a README tells to pull or run (the tags a Dockerfile's FROM would carry)
_IMAGE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)?(?:pytorch/pytorch|nvidia/cuda)):([\w][\w.-]*)",
                    re.I)
_ARXIV = re.compile(r"arxiv(?:\.org/(?:abs|pdf)/|:\s*)(\d{2})(\d{2})\.(\d{4,5})", re.I)
_INSTALL = re.compile(r"\b(pip3?|conda|mamba|uv)\s+(install|create)\b")
# a version named in a sentence about a problem or another setup is not a requirement:
# "a fix is needed to work with PyTorch 1.8.1+", "switch back to pytorch 0.4", "CUDA 9.1
# will need gcc5"
# a question ("#### Q: Why PyTorch 1.0.0?") names a version without stating it
_QUESTION = re.compile(r"\?[\s*_`]*$|^[\s#*>_-]*Q\s*:", re.I)
_NOT_A_REQUIREMENT = re.compile(
    r"\b(fix|fixes|issue|bug|error|switch(ed)? back|branch|gcc\d*|g\+\+|deprecat\w*|no longer|"
    r"does not|doesn't|won't|not work\w*|broken|incompatible)\b", re.I)


def statements(line: str) -> List[Spec]:
    out = []
    for m in _STATEMENT.finditer(line):
        pkg, op, ver, tail = canon(m.group(1)), m.group(2) or "", m.group(3), m.group(4) or ""
        tail = tail.strip().lower()
        if pkg == "cuda":
            out.append(Spec("cuda", cuda_spec(".".join(ver.split(".")[:2])), "stated"))
            continue
        if op in (">=", "≥", ">") or tail.startswith("+") or tail.endswith(
                ("higher", "above", "later", "newer")) or not op and _MINIMUM.search(
                line[:m.start()]):
            spec = f">={ver}"
        elif op in ("<=", "<") or tail.endswith(("lower", "below")):
            spec = f"{'<=' if op != '<' else '<'}{ver}"
        elif ver.count(".") == 1:
            spec = f"=={ver}.*"
        else:
            spec = f"=={ver}"
        out.append(Spec(pkg, spec, "stated"))
    return out


def arxiv_dates(text: str) -> List[Tuple[str, str]]:
    out = []
    for m in _ARXIV.finditer(text):
        yy, mm = int(m.group(1)), int(m.group(2))
        if 7 <= yy <= 40 and 1 <= mm <= 12:
            out.append((f"20{yy:02d}-{mm:02d}-01", f"arXiv:{m.group(1)}{m.group(2)}.{m.group(3)}"))
    return out


def read(col: Collector, rel: str, text: str, kind: str = "readme") -> None:
    in_code = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("```") or line.startswith("~~~"):
            in_code = not in_code
            continue
        images = list(_IMAGE.finditer(line))
        if images and (in_code or not _NOT_A_REQUIREMENT.search(line)):
            for im in images:
                for s in from_image(im.group(0)):
                    col.spec(s, rel, lineno, kind, f"README names image {im.group(0)}",
                             requirement=False)
            line = _IMAGE.sub(" ", line)  # not read again as "pytorch:1.7.1" prose
        cmd = re.sub(r"^(\$|>|#|%|!)\s*", "", line.strip("`"))
        if _INSTALL.search(cmd):
            for frag in re.findall(r"`([^`]*)`", line) or [cmd]:
                for toks in commands(frag):
                    if not col.charge(rel, len(toks)):
                        return
                    for s in install_command(toks) or []:
                        col.spec(s, rel, lineno, kind, "install command")
            continue
        if kind == "readme" and not in_code and not _NOT_A_REQUIREMENT.search(line) \
                and not _QUESTION.search(line):
            for s in statements(line):
                col.spec(s, rel, lineno, kind, f"README states {line[:60].strip()!r}",
                         requirement=False)
