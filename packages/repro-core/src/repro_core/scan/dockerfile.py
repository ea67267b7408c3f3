"""Dockerfile: ``FROM`` image tags (nvidia/cuda, pytorch/pytorch, NGC nvcr.io/nvidia/pytorch,
python), ARG/ENV version variables and ``pip``/``conda install`` lines."""

import re
from typing import Dict

from repro_core import kb
from repro_core.scan.collector import Collector
from repro_core.scan.reqs import Spec, commands, cuda_spec, install_command, logical_lines

_VARS = {"pytorch": "torch", "torch": "torch", "pytorch_version": "torch",
         "torch_version": "torch", "cuda": "cuda", "cuda_version": "cuda",
         "python_version": "python", "python": "python", "torchvision": "torchvision",
         "torchvision_version": "torchvision"}


def _mm(v: str) -> str:
    return ".".join(v.split(".")[:2])


def _ngc_pytorch(tag: str) -> list:
    """Facts of an NGC PyTorch release tag ("20.12-py3", "24.12-py3-igpu") from the knowledge
    base: torch as its public release line (NVIDIA ships pre-releases such as 1.8.0a0), CUDA
    and Python where known; nothing for a release the table does not hold or another tag."""
    m = re.fullmatch(r"(\d{2}\.\d{2})-py3(?:-[\w.-]+)?", tag)
    row = kb.ngc_pytorch_image(m.group(1)) if m else None
    if row is None:
        return []
    label = f"NGC PyTorch {row.release} image"
    out = [Spec("torch", f"=={row.torch_line}.*", row.reason())]
    if row.cuda:
        out.append(Spec("cuda", cuda_spec(row.cuda), label))
    if row.python:
        out.append(Spec("python", f"=={row.python}.*", label))
    return out


def from_image(image: str) -> list:
    """Version facts implied by a base image reference."""
    name, _, tag = image.partition(":")
    name, tag = name.lower(), tag.lower()
    out = []
    cu = re.search(r"cuda-?(\d+\.\d+)", tag)
    if name.endswith("nvidia/cuda") or name.endswith("/cuda"):
        m = re.match(r"(\d+\.\d+)", tag)
        if m:
            out.append(Spec("cuda", cuda_spec(m.group(1)), "CUDA base image"))
    elif name.endswith("nvidia/pytorch"):  # nvcr.io/nvidia/pytorch: NGC releases, YY.MM tags
        out.extend(_ngc_pytorch(tag))
    elif name.endswith("pytorch/pytorch") or name.endswith("/pytorch") and "nvcr.io" not in name:
        m = re.match(r"(\d+\.\d+(?:\.\d+)?)", tag)
        if m:
            out.append(Spec("torch", f"=={m.group(1)}", "PyTorch base image"))
        if cu:
            out.append(Spec("cuda", cuda_spec(cu.group(1)), "PyTorch base image"))
    elif name.endswith("tensorflow/tensorflow"):
        m = re.match(r"(\d+\.\d+(?:\.\d+)?)", tag)
        if m:
            out.append(Spec("tensorflow", f"=={m.group(1)}", "TensorFlow base image"))
    elif name in ("python", "library/python") or name.endswith("/python"):
        m = re.match(r"(\d+\.\d+)", tag)
        if m:
            out.append(Spec("python", f"=={m.group(1)}.*", "Python base image"))
    return out


def read(col: Collector, rel: str, text: str) -> None:
    variables: Dict[str, str] = {}
    for start, line in logical_lines(text):
        if not col.charge(rel):
            return
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr in ("ARG", "ENV"):
            for m in re.finditer(r"(?<!\w)(\w+)[= ]\"?([\w.\-]+)\"?", rest):  # word starts
                variables[m.group(1)] = m.group(2)
                pkg = _VARS.get(m.group(1).lower())
                ver = re.match(r"^v?(\d+\.\d+(?:\.\d+)?)", m.group(2))
                if pkg and ver:
                    spec = cuda_spec(_mm(ver.group(1))) if pkg == "cuda" else (
                        f"=={ver.group(1)}" if ver.group(1).count(".") == 2 or pkg != "python"
                        else f"=={ver.group(1)}.*")
                    col.spec(Spec(pkg, spec), rel, start, "dockerfile", f"Dockerfile {instr}")
        elif instr == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]  # --platform=...
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), ""),
                           words[0] if words else "")
            for s in from_image(image):
                col.spec(s, rel, start, "dockerfile", f"FROM {image}")
        elif instr == "RUN":
            for toks in commands(rest):
                if not col.charge(rel, len(toks)):
                    return
                for s in install_command(toks) or []:
                    col.spec(s, rel, start, "dockerfile", "Dockerfile install command")
