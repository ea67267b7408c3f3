"""README/INSTALL markdown, shell scripts, notebooks' ``!pip`` lines: install commands,
version statements ("tested with PyTorch 1.7.1", "Python 3.6+", "requires PyTorch 1.0" =
``>=1.0``), docker images named (``pytorch/pytorch:1.7.1-cuda11.0-cudnn8-devel``,
``nvcr.io/nvidia/pytorch:20.12-py3``); arXiv ids
for dates."""

import re
from typing import Iterator, List, Tuple

from repro_core.scan.collector import Collector
from repro_core.scan.dockerfile import from_image
from repro_core.scan.reqs import Spec, canon, commands, cuda_spec, install_command

_STATEMENT = re.compile(
    r"\b(PyTorch|torch|Python|CUDA|cudatoolkit|timm|torchvision|numpy|TensorFlow)(?:\b|(?=\d))"
    r"[\s:(|]*(?:(?:versions?|ver\.?|v|install(?:ed)?)\s*)?(?:(>=|≥|==|=|<=|<|>)\s*)?"
    r"(\d+\.\d+(?:\.\d+)?(?:\.?dev\d+)?)(?![\d.]*\w)"
    r"(\s*\+|\s*(?:or|and)\s+(?:higher|above|later|newer)|\s*(?:or|and)\s+(?:lower|below))?",
    re.I)
# "requires PyTorch 1.0", "at least Python 3.6": a minimum, not the tested version
_MINIMUM = re.compile(r"\b(requires?|needs?|at least|minimum)\b(?:(?!\.\s|[;:!?]).)*$", re.I)
# images a README tells to pull or run (the tags a Dockerfile's FROM would carry)
_IMAGE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)?(?:pytorch/pytorch|nvidia/cuda|nvidia/pytorch)):"
                    r"([\w][\w.-]*)", re.I)
_ARXIV = re.compile(r"arxiv(?:\.org/(?:abs|pdf)/|:\s*)(\d{2})(\d{2})\.(\d{4,5})", re.I)
_INSTALL = re.compile(r"\b(pip3?|conda|mamba|uv)\s+(install|create)\b")
# a version named in a clause about a problem or another setup is not a requirement: "a fix
# is needed to work with PyTorch 1.8.1+", "switch back to pytorch 0.4", "CUDA 9.1 will need
# gcc5"; the other clauses of the line stand ("PyTorch ( == 0.4.1, for <= 0.4.0 see branch
# python36-PyTorch0.3)": == 0.4.1)
# a question ("#### Q: Why PyTorch 1.0.0?") names a version without stating it
_QUESTION = re.compile(r"\?[\s*_`]*$|^[\s#*>_-]*Q\s*:", re.I)
_NOT_A_REQUIREMENT = re.compile(
    r"\b(fix|fixes|issue|bug|error|switch(ed)? back|branch|gcc\d*|g\+\+|deprecat\w*|no longer|"
    r"does not|doesn't|won't|will not|not work\w*|not able|unable|cannot|can't|broken|"
    r"incompatible)\b", re.I)
# what ends a clause: a comma, semicolon, parenthesis, a full stop before a blank, or a
# conjunction ("using pytorch 1.7.1 since we are not able to reproduce ... with 1.8.1")
_CLAUSE_END = re.compile(r"[,;()]|\.(?=\s|$)|\b(?:since|because|but|although|though|whereas|"
                         r"unless)\b", re.I)
# "PyTorch 1.0 from a nightly release": a development build of that release or later
_NIGHTLY = re.compile(r"\b(nightly|nightlies|preview)\b", re.I)
_THIS_BRANCH = re.compile(r"\bbranch\W+(master|main)\b", re.I)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*\)")  # a markdown link: its text only

# "It **will not** work with 1.0 nor 1.0.1": versions excluded, of the package the clause
# names or else of the one the line named last before it
_EXCLUDED = re.compile(
    r"\b(?:will|does|do|would|can)\s*(?:not|n't)\s+(?:work|run|build|compile)\s+"
    r"(?:with|on|under)\s+(?:(PyTorch|torch|Python|CUDA|timm|torchvision|numpy)\s*)?"
    r"v?(\d+\.\d+(?:\.\d+)?(?![\d.]*\w)(?:\s*(?:,|or|nor|and)\s*v?\d+\.\d+(?:\.\d+)?"
    r"(?![\d.]*\w))*)", re.I)

def clause(line: str, start: int, end: int) -> str:
    """The clause of ``line`` around ``line[start:end]`` (which may itself hold clause ends,
    as "PyTorch (>= 1.0" does)."""
    left = max((m.end() for m in _CLAUSE_END.finditer(line, 0, start)), default=0)
    m = _CLAUSE_END.search(line, end)
    return line[left:m.start() if m else len(line)]


def _stands(line: str, m: "re.Match") -> bool:
    """Is the statement ``m`` of ``line`` a requirement? Not when its clause is about a problem
    or another setup, nor when the line's first clause is (its subject: "- 2019.05.29: Branch
    `1.0.0`, ..., tested with pytorch 1.0.0"; the repository's own master/main branch is no
    other setup)."""
    first = line[:next((e.start() for e in _CLAUSE_END.finditer(line) if e.start() > 0),
                       len(line))]
    if _NOT_A_REQUIREMENT.search(first) and not _THIS_BRANCH.search(first):
        return False
    return not _NOT_A_REQUIREMENT.search(clause(line, m.start(), m.end()))


# the highest major version a statement can name (a table cell "| PyTorch | 84.3 |" is a score)
_MAX_MAJOR = {"torch": 3, "torchvision": 1, "python": 3, "cuda": 14, "timm": 2, "numpy": 3}
# more versions of the same package: "Python 2.7 or 3.6", "PyTorch 1.4-1.6", "PyTorch
# versions 1.4, 1.5, 1.6"
_MORE = re.compile(r"(?:\s*(?:,|or|and|/|-|–|~|to)\s*v?\d+\.\d+(?:\.\d+)?(?![\d.]*\w))+", re.I)
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")


def _span(versions: List[str]) -> str:
    """The PEP 440 range from the lowest to the highest of several stated versions (the whole
    series of the highest when it has two parts): "2.7 or 3.6" -> ``>=2.7,<3.7``."""
    key = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    lo, hi = min(versions, key=key), max(versions, key=key)
    parts = hi.split(".")
    if len(parts) == 2:
        return f">={lo},<{parts[0]}.{int(parts[1]) + 1}"
    return f">={lo},<={hi}"


def statements(line: str) -> List[Spec]:
    """The version statements of one line of prose, except those in a clause about a problem
    or another setup."""
    out = []
    line = _LINK.sub(r"\1", line)
    for m in _STATEMENT.finditer(line):
        if not _stands(line, m):
            continue
        pkg, op, ver, tail = canon(m.group(1)), m.group(2) or "", m.group(3), m.group(4) or ""
        if int(ver.split(".")[0]) > _MAX_MAJOR.get(pkg, 99):
            continue
        tail = tail.strip().lower()
        at_least = op in (">=", "≥", ">") or tail.startswith("+") or tail.endswith(
            ("higher", "above", "later", "newer"))
        if pkg == "cuda":
            mm = ".".join(ver.split(".")[:2])
            out.append(Spec("cuda", f">={mm}" if at_least else cuda_spec(mm), "stated"))
            continue
        if at_least or not op and (_MINIMUM.search(line[:m.start()]) or _NIGHTLY.search(
                clause(line, m.start(), m.end()))):
            spec = f">={ver}"
        elif op in ("<=", "<") or tail.endswith(("lower", "below")):
            spec = f"{'<=' if op != '<' else '<'}{ver}"
        elif not op and not tail and _MORE.match(line, m.end()):
            spec = _span([ver] + _VERSION.findall(_MORE.match(line, m.end()).group(0)))
        elif ver.count(".") == 1:
            spec = f"=={ver}.*"
        else:
            spec = f"=={ver}"
        out.append(Spec(pkg, spec, "stated"))
    return out + _exclusions(line.replace("*", ""))


def _exclusions(line: str) -> List[Spec]:
    """``!=`` specifiers of the versions a line says something will not work with."""
    out = []
    for m in _EXCLUDED.finditer(line):
        named = m.group(1) or next((s.group(1) for s in reversed(list(
            _STATEMENT.finditer(line, 0, m.start())))), None)
        if not named:
            continue
        pkg = canon(named)
        versions = [v for v in _VERSION.findall(m.group(2))
                    if int(v.split(".")[0]) <= _MAX_MAJOR.get(pkg, 99)]
        if versions:
            out.append(Spec(pkg, ",".join(f"!={v}.*" if v.count(".") == 1 else f"!={v}"
                                          for v in versions), "stated"))
    return out


def arxiv_dates(text: str) -> List[Tuple[str, str]]:
    out = []
    for m in _ARXIV.finditer(text):
        yy, mm = int(m.group(1)), int(m.group(2))
        if 7 <= yy <= 40 and 1 <= mm <= 12:
            out.append((f"20{yy:02d}-{mm:02d}-01", f"arXiv:{m.group(1)}{m.group(2)}.{m.group(3)}"))
    return out


# a line without any of these (in any ASCII case) states nothing, names no image and holds no
# install command (nor a code fence)
_WORTH_READING = re.compile(r"torch|python|cuda|timm|numpy|tensorflow|install|create|```|~~~")


def _worth_reading(lines: List[str]) -> Iterator[int]:
    """The indexes of the ``lines`` that hold a ``_WORTH_READING`` word in any case (searched
    in their lowercased text: far faster than per line, or ignoring case)."""
    text = "\n".join(lines).lower()
    pos, n = 0, 0  # the start of line n
    while True:
        m = _WORTH_READING.search(text, pos)
        if m is None:
            return
        n += text.count("\n", pos, m.start())
        yield n
        pos = text.find("\n", m.end()) + 1
        if not pos:
            return
        n += 1


def read(col: Collector, rel: str, text: str, kind: str = "readme") -> None:
    in_code = False
    lines = text.splitlines()
    for i in _worth_reading(lines):
        lineno, line = i + 1, lines[i].strip()
        if line.startswith("```") or line.startswith("~~~"):
            in_code = not in_code
            continue
        images = list(_IMAGE.finditer(line))
        if images:
            for im in (im for im in images if in_code or _stands(line, im)):
                for s in from_image(im.group(0)):
                    col.spec(s, rel, lineno, kind, f"README names image {im.group(0)}",
                             requirement=False)
            line = _IMAGE.sub(" ", line)  # not read again as "pytorch:1.7.1" prose
        cmd = re.sub(r"^(\$|>|#|%|!)\s*", "", line.strip("`"))
        if _INSTALL.search(cmd):
            frags = re.findall(r"`([^`]*)`", line)
            for frag in frags or [cmd]:
                for toks in commands(frag):
                    if not col.charge(rel, len(toks)):
                        return
                    for s in install_command(toks) or []:
                        col.spec(s, rel, lineno, kind, "install command")
            if not frags:
                continue
            line = re.sub(r"`[^`]*`", " ", line)  # the prose around inline commands stands
        if kind == "readme" and not in_code and not _QUESTION.search(line):
            for s in statements(line):
                col.spec(s, rel, lineno, kind, f"README states {line[:60].strip()!r}",
                         requirement=False)
