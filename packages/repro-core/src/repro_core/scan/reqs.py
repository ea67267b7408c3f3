"""Requirement strings in all their spellings: PEP 508 lines, ``+cu113`` local tags, wheel
URLs, pip and conda command lines. Everything becomes ``Spec(package, specifier, note)``.
"""

import re
import shlex
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

# conda / apt spellings -> the names constraints use
ALIASES = {
    "pytorch": "torch", "pytorch-gpu": "torch", "pytorch-cpu": "torch",
    "cudatoolkit": "cuda", "cuda-toolkit": "cuda", "pytorch-cuda": "cuda", "cuda-version": "cuda",
    "cudatoolkit-dev": "cuda", "opencv-python-headless": "opencv-python",
    "tensorflow-gpu": "tensorflow", "pillow-simd": "pillow",
}
_LOCAL = re.compile(r"\+(cu\d{2,3}|cpu|rocm[\d.]+)\b", re.I)
_CU_URL = re.compile(r"/whl/(?:nightly/)?(cu\d{2,3})\b", re.I)
_WHEEL = re.compile(r"(?:^|/)([A-Za-z0-9_.]+)-(\d[^-/]*?)(?:%2B|\+)?(cu\d{2,3}|cpu)?"
                    r"-(cp\d+|py\d+)[^/]*\.whl$", re.I)


@dataclass(frozen=True)
class Spec:
    package: str
    specifier: str
    note: str = ""  # e.g. "+cu113 wheel", "wheel URL"


def canon(name: str) -> str:
    n = canonicalize_name(name)
    return ALIASES.get(n, n)


def cuda_from_tag(tag: str) -> Optional[str]:
    """"cu113" -> "11.3", "cu92" -> "9.2"; None for cpu/rocm."""
    m = re.match(r"^cu(\d+)(\d)$", tag.lower())
    return f"{int(m.group(1))}.{m.group(2)}" if m else None


def cuda_spec(mm: str) -> str:
    return f"=={mm}.*"


def _cuda_specs(text: str) -> List[Spec]:
    out = []
    for m in _LOCAL.finditer(text):
        cu = cuda_from_tag(m.group(1))
        if cu:
            out.append(Spec("cuda", cuda_spec(cu), f"+{m.group(1)} wheel tag"))
    return out


def parse_requirement(line: str) -> List[Spec]:
    """One requirements-file entry (options already removed). [] when it is not one."""
    line = line.strip()
    if not line:
        return []
    m = _WHEEL.search(line.split("#egg=")[0])
    if m and "://" in line or (m and line.endswith(".whl")):
        name, ver, tag, py = m.group(1), m.group(2), m.group(3), m.group(4)
        out = [Spec(canon(name), f"=={ver}", "wheel URL")]
        if tag and cuda_from_tag(tag):
            out.append(Spec("cuda", cuda_spec(cuda_from_tag(tag) or ""), f"+{tag} wheel"))
        pm = re.match(r"cp(\d)(\d+)", py)
        if pm:
            out.append(Spec("python", f"=={pm.group(1)}.{pm.group(2)}.*", "wheel tag " + py))
        return out
    if "#egg=" in line:
        egg = line.split("#egg=", 1)[1].split("&")[0].strip()
        return [Spec(canon(egg), "", "VCS/URL requirement")] if egg else []
    if "://" in line or line.startswith((".", "/")):
        return []
    cudas = _cuda_specs(line)
    clean = _LOCAL.sub("", line)
    try:
        req = Requirement(clean)
    except InvalidRequirement:
        m2 = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*=\s*(\d[\w.*]*)$", clean)  # torch=1.4
        if not m2:
            return []
        return [Spec(canon(m2.group(1)), f"=={m2.group(2)}", "single '=' pin")] + cudas
    if req.url:
        return [Spec(canon(req.name), "", "URL requirement")]
    return [Spec(canon(req.name), str(req.specifier), "")] + cudas


def conda_spec(item: str) -> List[Spec]:
    """A conda match spec: ``pytorch=1.7.1=py3.8_cuda11.0...``, ``cudatoolkit=10.2``,
    ``python>=3.7``, ``pytorch::pytorch==1.10``. [] when unreadable."""
    item = item.strip().strip("'\"")
    if "::" in item:
        item = item.split("::", 1)[1]
    m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", item)
    if not m:
        return []
    name, rest = canon(m.group(1)), m.group(2).replace(" ", "")
    if not rest:
        return [Spec(name, "")]
    if rest.startswith("=="):
        spec = "==" + rest[2:].split("=")[0]
    elif rest.startswith("="):
        spec = "==" + rest[1:].split("=")[0].rstrip("*").rstrip(".") + ".*"
    elif rest[0].isdigit():
        spec = "==" + rest.split("=")[0].rstrip("*").rstrip(".") + ".*"
    else:
        spec = rest
    try:
        return [Spec(name, str(SpecifierSet(spec)))]
    except InvalidSpecifier:
        return []


_OPT_WITH_ARG = {"-f", "--find-links", "-i", "--index-url", "--extra-index-url", "-c",
                 "--constraint", "-r", "--requirement", "--target", "-t", "--prefix", "--root",
                 "--platform", "--python-version", "--implementation", "--abi", "--trusted-host",
                 "--src", "--cache-dir", "--progress-bar", "-e", "--editable", "--config-settings"}
_CONDA_OPT_WITH_ARG = {"-c", "--channel", "-n", "--name", "-p", "--prefix", "--file"}


def _tokens(text: str) -> List[str]:
    try:
        return shlex.split(text, comments=True, posix=True)
    except ValueError:
        return text.split()


def commands(text: str) -> Iterator[List[str]]:
    """Split a shell text into simple commands (``&&``, ``;``, ``|``, newlines)."""
    for piece in re.split(r"&&|\|\||;|\||\n", text):
        toks = _tokens(piece)
        if toks:
            yield toks


def install_command(toks: List[str]) -> Optional[List[Spec]]:
    """Specs from a ``pip install ...`` / ``conda install ...`` command; None if it is not one."""
    i = 0
    while i < len(toks) and (toks[i] in ("sudo", "RUN", "!", "%") or "=" in toks[i]
                             and not toks[i].startswith("-") and i == 0):
        i += 1
    toks = [t.lstrip("!%") for t in toks[i:]]
    if len(toks) < 3:
        return None
    head = [t.rsplit("/", 1)[-1] for t in toks[:4]]
    if head[0] in ("pip", "pip3", "uv", "pipx") and "install" in head[1:3]:
        start, conda = head.index("install") + 1, False
    elif head[0].startswith("python") and head[1:3] == ["-m", "pip"] and "install" in head[3:4]:
        start, conda = 4, False
    elif head[0] in ("conda", "mamba", "micromamba") and head[1] in ("install", "create"):
        start, conda = 2, True
    else:
        return None
    out: List[Spec] = []
    skip = False
    opts = _CONDA_OPT_WITH_ARG if conda else _OPT_WITH_ARG
    for t in toks[start:]:
        if skip:
            skip = False
            out.extend(url_cuda(t))
            continue
        if t.startswith("-"):
            if t in opts:
                skip = True
            elif "=" in t:
                out.extend(url_cuda(t))
            continue
        if t in ("\\",):
            continue
        out.extend(conda_spec(t) if conda else parse_requirement(t))
    return out


def url_cuda(url: str) -> List[Spec]:
    """``-f https://download.pytorch.org/whl/cu113/torch_stable.html`` -> cuda ==11.3.*."""
    m = _CU_URL.search(url)
    cu = cuda_from_tag(m.group(1)) if m else None
    return [Spec("cuda", cuda_spec(cu), f"{m.group(1)} index URL")] if cu and m else []


def logical_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(first line number, line) with backslash continuations joined, as pip and Docker
    read requirements files and Dockerfiles."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        # the pieces of one logical line, joined once (linear in the text); trailing
        # whitespace-only pieces count as the joined line's trailing whitespace
        start, parts = i + 1, [lines[i]]
        while i + 1 < len(lines):
            j = len(parts) - 1
            while j >= 0 and not parts[j].strip():
                j -= 1
            if j < 0 or not parts[j].rstrip().endswith("\\"):
                break
            del parts[j + 1:]
            parts[j] = parts[j].rstrip()[:-1]
            i += 1
            parts.append(lines[i])
        i += 1
        yield start, " ".join(parts)
