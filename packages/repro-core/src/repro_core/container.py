"""A Dockerfile for a planned or locked environment, on a published ``nvidia/cuda`` base.

``container_spec(...) -> ContainerSpec`` picks the image (the newest published update of the
torch build's CUDA minor; ``devel`` when extensions are built, ``runtime`` otherwise), an
Ubuntu whose own python3 is the wanted one (else the deadsnakes PPA), the torch pins or the
lock to install with ``--require-hashes``, and ``TORCH_CUDA_ARCH_LIST`` for the target GPU.
``dockerfile(spec)`` renders it; ``write(spec, path)`` writes it and a ``.dockerignore``.
Image tags come from the knowledge base (``kb.cuda_images()``, ``kb/data/cuda_images.json``).
"""

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from packaging.version import Version

from repro_core import compat, kb
from repro_core.errors import ReproError
from repro_core.fsutil import atomic_write_text
from repro_core.kb import CudaImage

FLAVORS = ("runtime", "devel")
VENV = "/opt/venv"
USER = "repro"
DOCKERIGNORE = """\
# written by repro docker: keep the build context small and free of local state
.git
.hg
**/__pycache__
**/*.py[cod]
**/.ipynb_checkpoints
.venv
venv
.nox
.tox
.pytest_cache
.mypy_cache
.ruff_cache
*.egg-info
build/
dist/
"""


@dataclass(frozen=True)
class ImageFacts:
    images: Tuple[CudaImage, ...]
    ubuntu_python: Dict[str, str]
    deadsnakes_ubuntu: Tuple[str, ...]
    deadsnakes_uncertain: str


def images() -> ImageFacts:
    """The image facts of the knowledge base (``kb.cuda_images()`` and friends)."""
    ds = kb.deadsnakes()
    return ImageFacts(kb.cuda_images(), kb.ubuntu_pythons(), ds.ubuntu, ds.uncertain)


def cuda_image(cuda_mm: str) -> CudaImage:
    """The newest published update of a CUDA minor ("11.3" -> 11.3.1) with cuDNN images."""
    mm = compat.cuda_mm(cuda_mm)
    rows = [r for r in images().images if compat.cuda_mm(r.cuda) == mm and r.cudnn_tag]
    if not rows:
        known = sorted({compat.cuda_mm(r.cuda) for r in images().images}, key=Version)
        raise ReproError(f"no nvidia/cuda image with cuDNN is published for CUDA {mm} "
                         f"(known: {', '.join(known)}); older tags were deleted by NVIDIA — "
                         f"choose a torch build for a listed CUDA")
    return max(rows, key=lambda r: Version(r.cuda))


@dataclass(frozen=True)
class ContainerSpec:
    """Everything the Dockerfile says, as values (``to_json``/``from_json``)."""

    base_image: str  # "nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04" or "ubuntu:22.04"
    cuda: Optional[str]  # the image's CUDA ("11.3.1"); None for a CPU build
    ubuntu: str
    flavor: str  # "runtime" | "devel"
    python: str  # "3.8"
    python_source: str  # "ubuntu" (the distribution's python3.X) | "deadsnakes"
    torch: str  # "1.10.0+cu113"
    index_url: Optional[str]  # the PyTorch wheel index of the variant
    pins: Tuple[str, ...]  # installed when there is no lock
    lock: Optional[str]  # the lock file, relative to the build context
    arch_list: str  # TORCH_CUDA_ARCH_LIST ("" for a CPU build)
    notes: Tuple[str, ...] = ()

    def to_json(self) -> Dict[str, Any]:
        d = asdict(self)
        d["pins"], d["notes"] = list(self.pins), list(self.notes)
        return d

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "ContainerSpec":
        return cls(**{**d, "pins": tuple(d["pins"]), "notes": tuple(d["notes"])})


# --- choosing ------------------------------------------------------------------------------


def _pick_ubuntu(options: Sequence[str], python: str, facts: ImageFacts,
                 notes: List[str]) -> Tuple[str, str]:
    """(ubuntu, python source): an Ubuntu whose own python3 is ``python`` if there is one
    (nothing to add), else the newest deadsnakes-served one, else the newest."""
    own = [u for u in options if facts.ubuntu_python.get(u) == python]
    if own:
        return own[-1], "ubuntu"
    served = [u for u in options if u in facts.deadsnakes_ubuntu]
    ubuntu = served[-1] if served else options[-1]
    if not served:
        notes.append(f"Python {python} comes from the deadsnakes PPA on Ubuntu {ubuntu}, which "
                     f"may no longer be served: {facts.deadsnakes_uncertain}")
    return ubuntu, "deadsnakes"


def _arch_list(build: compat.TorchBuild, gpu: Optional[str], notes: List[str]) -> str:
    """TORCH_CUDA_ARCH_LIST: the GPU's capability lowered to what this CUDA's nvcc targets
    (compat.best_arch), else the torch wheel's own list restricted to nvcc's range."""
    assert build.cuda
    if gpu:
        cc, _ = compat.gpu_cc(gpu)
        verdict = compat.can_run(build.arch_list, cc)
        if not verdict.ok:
            notes.append(f"torch {build.spec} cannot run on {compat.cc_str(cc)}: {verdict.reason}")
        arch, why = compat.best_arch(cc, build.cuda)
        if arch is None:
            raise ReproError(f"cannot compile extensions for GPU {compat.cc_str(cc)} with "
                             f"CUDA {build.cuda}: {why}")
        notes.append(f"TORCH_CUDA_ARCH_LIST={arch}: {why}")
        return arch
    lo, hi = (compat.parse_cc(c) for c in compat.nvcc_arch_range(build.cuda))
    keep = [t for t in compat.parse_arch_list(build.arch_list) if lo <= t.cc <= hi]
    return ";".join(compat.cc_str(t.cc) + ("+PTX" if t.ptx else "") for t in keep)


def _index_url(variant: str) -> str:
    return f"https://download.pytorch.org/whl/{variant}"


def container_spec(torch: str, python: str, gpu: Optional[str] = None, flavor: str = "runtime",
                   lock: Optional[str] = None, lock_text: str = "") -> ContainerSpec:
    """The image for torch build ``torch`` ("1.10.0+cu113"; no variant = the registry's
    default) on Python ``python`` (X.Y); ``lock``: a requirements lock (path relative to the
    build context, its text in ``lock_text``) installed with ``--require-hashes``, else
    torch and torchvision are pinned from the variant's index."""
    if flavor not in FLAVORS:
        raise ReproError(f"image flavour must be one of {', '.join(FLAVORS)}, not {flavor!r}")
    build = compat.torch_build(torch)
    pv = Version(python)
    python = f"{pv.major}.{pv.minor}"
    ok, why = compat.python_ok(build.version, python)
    if not ok:
        raise ReproError(why)
    facts = images()
    notes: List[str] = []
    if build.cuda:
        img = cuda_image(build.cuda)
        options = [u for u in img.ubuntus if img.tag(flavor, u)]
        ubuntu, source = _pick_ubuntu(options, python, facts, notes)
        base = f"nvidia/cuda:{img.tag(flavor, ubuntu)}"
        if img.uncertain:
            notes.append(f"{base}: {img.uncertain}")
        arch = _arch_list(build, gpu, notes)
        cuda: Optional[str] = img.cuda
    else:
        ubuntu, source = _pick_ubuntu(sorted(facts.ubuntu_python, key=Version), python, facts,
                                      notes)
        base, arch, cuda = f"ubuntu:{ubuntu}", "", None
    pins: Tuple[str, ...] = ()
    if lock is None:
        tv = build.torchvision  # "0.11.1", or a "0.11.*" series (no local label then)
        pins = (f"torch=={build.spec}",
                f"torchvision=={tv}" if tv.endswith("*") else f"torchvision=={tv}+{build.variant}")
        notes.append("no lock given: torch is pinned but nothing is hashed; `repro lock` "
                     "makes a lock that `pip install --require-hashes` checks")
    else:
        unhashed = re.search(r"^# unhashed: (.*)$", lock_text, re.M)
        if unhashed:
            raise ReproError(f"{lock}: lines without hashes ({unhashed.group(1).strip()}); "
                             f"pip's --require-hashes would refuse it: lock again where the "
                             f"PyTorch index can be reached")
    return ContainerSpec(
        base_image=base, cuda=cuda, ubuntu=ubuntu, flavor=flavor, python=python,
        python_source=source, torch=build.spec,
        index_url=_index_url(build.variant), pins=pins, lock=lock, arch_list=arch,
        notes=tuple(notes))


def lock_facts(text: str, where: str = "lock") -> Tuple[str, Optional[str]]:
    """(torch build, Python X.Y or None) of a requirements lock: the ``torch==`` pin, its
    variant from the local version, the ``# variant:`` header of ``repro lock`` or the
    PyTorch index URL, and the ``# python:`` header."""
    m = re.search(r"^torch==([^\s;\\]+)", text, re.M)
    if not m:
        raise ReproError(f"{where}: no `torch==` pin, so no image to choose")
    version = m.group(1)
    if "+" not in version:
        head = re.search(r"^# variant: (cu\d+|cpu)\s*$", text, re.M)
        url = re.search(r"^--(?:extra-)?index-url\s+\S*/whl/(cu\d+|cpu)/?\s*$", text, re.M)
        variant = (head or url).group(1) if (head or url) else None
        version = f"{version}+{variant}" if variant else version
    py = re.search(r"^# python: (\d+\.\d+)\s*$", text, re.M)
    return version, py.group(1) if py else None


# --- rendering -----------------------------------------------------------------------------


def _run(*cmds: str) -> str:
    return "RUN " + " \\\n && ".join(cmds)


def dockerfile(spec: ContainerSpec, repro_version: str = "") -> str:
    """The Dockerfile text of ``spec``."""
    py = f"python{spec.python}"
    apt = ["ca-certificates", py, f"{py}-venv"]
    if spec.flavor == "devel":
        apt += [f"{py}-dev", "build-essential", "ninja-build", "git"]
    head = [f"# Generated by repro{' ' + repro_version if repro_version else ''} docker: "
            f"torch {spec.torch}, Python {spec.python}, "
            + (f"CUDA {spec.cuda} ({spec.flavor})" if spec.cuda else "CPU only"),
            "# Build: docker build -t IMAGE .   Run: docker run --rm"
            + (" --gpus all" if spec.cuda else "") + " -it IMAGE"]
    head += [f"# note: {n}" for n in spec.notes]
    out = ["\n".join(head), f"FROM {spec.base_image}"]
    env = ["DEBIAN_FRONTEND=noninteractive", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
           "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1"]
    if spec.arch_list:
        env.append(f'TORCH_CUDA_ARCH_LIST="{spec.arch_list}"')
    out.append("ENV " + " \\\n    ".join(env))
    install = "apt-get install -y --no-install-recommends "
    if spec.python_source == "deadsnakes":
        out.append(_run("apt-get update",
                        install + "software-properties-common gpg-agent",
                        "add-apt-repository -y ppa:deadsnakes/ppa",
                        "apt-get update",
                        install + " ".join(apt),
                        "rm -rf /var/lib/apt/lists/*"))
    else:
        out.append(_run("apt-get update", install + " ".join(apt),
                        "rm -rf /var/lib/apt/lists/*"))
    out.append(_run(f"{py} -m venv {VENV}",
                    f"useradd --create-home --uid 1000 --shell /bin/bash {USER}"))
    out.append(f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH")
    if spec.lock:
        out.append(f"COPY {spec.lock} /tmp/requirements.lock")
        out.append("RUN pip install --require-hashes -r /tmp/requirements.lock")
    else:
        out.append(f"RUN pip install --extra-index-url {spec.index_url} "
                   + " ".join(spec.pins))
    tail = [f"WORKDIR /home/{USER}/work", f"COPY --chown={USER}:{USER} . ."]
    if spec.flavor == "devel":
        tail.append("# extensions build as the user, for TORCH_CUDA_ARCH_LIST above, e.g.\n"
                    "# RUN python setup.py build_ext --inplace")
    tail += [f"USER {USER}", 'CMD ["bash"]']
    out += tail
    return "\n\n".join(out) + "\n"


def write(spec: ContainerSpec, path: str, repro_version: str = "") -> Tuple[Path, Path]:
    """Write the Dockerfile to ``path`` and a ``.dockerignore`` beside it (each atomically;
    an existing .dockerignore is kept). Returns both paths."""
    p = Path(path)
    ignore = p.parent / ".dockerignore"
    atomic_write_text(p, dockerfile(spec, repro_version))
    if not ignore.exists():
        atomic_write_text(ignore, DOCKERIGNORE)
    return p, ignore
