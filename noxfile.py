"""The version matrix: `nox -l` lists the sessions, `nox -s tests-torch110` runs one.

Each `tests-<row>` session builds its own venv from one row of MATRIX, installs the four
packages (not editable: as users get them) and runs pytest over tests/. Interpreters come
from pyenv (the newest patch of each X.Y), so plain `nox` works without PYENV_VERSION.

Disk: a torch venv is 2-6 GB, so every session keeps its caches (pip: none; uv and
pytest's temp dirs: inside the venv) and removes its venv when it ends, and the whole
matrix peaks at about one session's size. `REPRO_NOX_KEEP_VENVS=1 nox -r` keeps them.
"""

import functools
import glob
import os
import re
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = ["repro-core", "repro-cuda", "repro-mae", "repro-cli"]
TEST_DEPS = ["pytest>=6", "hypothesis"]

# One row per supported stack. "pins" go to pip as-is, in one resolve.
MATRIX = {
    "torch110": {
        "python": "3.9",
        "pins": ["torch==1.10.2", "torchvision==0.11.3", "timm==0.4.12", "numpy==1.21.6",
                 "setuptools<60"],
    },
    "torch113": {
        "python": "3.10",
        "pins": ["torch==1.13.1", "torchvision==0.14.1", "timm==0.6.13", "numpy<1.24"],
    },
    "latest": {
        "python": "3.11",
        # Local CUDA 13 builds that also run on CPU; the local 2.13.0 CPU wheel cannot be
        # paired with the registry's torchvision, and timm imports torchvision.
        "pins": ["torch==2.14.1", "torchvision==0.29.1", "timm", "numpy>=2"],
    },
}
CUDA_HOME = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
KEEP_VENVS = os.environ.get("REPRO_NOX_KEEP_VENVS") == "1"

nox.options.sessions = ["lint", "tests-core", "tests-latest", "tests-torch110", "tests-torch113",
                        "e2e", "build", "build-cuda"]
nox.options.error_on_missing_interpreters = True
# venv (with ensurepip) works for every pyenv Python incl. 3.8, and pip reads this
# machine's pip.conf (local torch wheels); uv and new virtualenv do neither.
nox.options.default_venv_backend = "venv"


def _python(version: str) -> str:
    """The pyenv interpreter for ``version`` ("3.9") if pyenv has one, else the bare version."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(glob.glob(str(root / "versions" / f"{version}.*" / "bin" / f"python{version}")),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", Path(p).parents[1].name)])
    return found[-1] if found else version


def _frugal(func):
    """Run a session with its caches inside its venv, and remove the venv when it ends."""
    @functools.wraps(func)
    def run(session: nox.Session) -> None:
        venv = Path(session.virtualenv.location)
        session.env["PIP_NO_CACHE_DIR"] = "1"
        session.env["UV_CACHE_DIR"] = str(venv / "uv-cache")
        try:
            func(session)
        finally:
            if not KEEP_VENVS:
                shutil.rmtree(venv, ignore_errors=True)
    return run


def _install_packages(session: nox.Session, names=PACKAGES) -> None:
    session.install(*[str(ROOT / "packages" / n) for n in names])


def _pytest(session: nox.Session, *paths: str) -> None:
    basetemp = Path(session.virtualenv.location) / "pytest-tmp"  # removed with the venv
    session.run("pytest", f"--basetemp={basetemp}", *(session.posargs or paths),
                env={"CUDA_HOME": CUDA_HOME})


def _make_tests_session(row_name: str, row: dict) -> None:
    @nox.session(name=f"tests-{row_name}", python=_python(row["python"]))
    @_frugal
    def tests(session: nox.Session) -> None:
        session.install(*row["pins"], *TEST_DEPS, "ninja")
        _install_packages(session)
        _pytest(session, "tests", "--ignore=tests/e2e")

    tests.__doc__ = f"pytest on Python {row['python']} with " + ", ".join(row["pins"])


for _name, _row in MATRIX.items():
    _make_tests_session(_name, _row)


@nox.session(name="tests-core", python=_python("3.8"))
@_frugal
def tests_core(session: nox.Session) -> None:
    """repro-core and repro-cli alone on the oldest Python, no torch installed."""
    session.install(*TEST_DEPS)
    _install_packages(session, ["repro-core", "repro-cli"])
    session.run("python", "-c", "import sys, repro_core; assert 'torch' not in sys.modules")
    _pytest(session, "tests/core", "tests/cli")


@nox.session(python=_python("3.11"))
@_frugal
def e2e(session: nox.Session) -> None:
    """README's first command as a test: `repro reproduce` on examples/legacy-vit (and a
    repository only diagnose can fix), every stage real; needs PyPI, uv and pyenv Pythons."""
    session.install(*TEST_DEPS)
    _install_packages(session, ["repro-core", "repro-cli"])
    _pytest(session, "tests/e2e")


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff over the packages, tests, benchmarks and this file."""
    paths = ("packages", "tests", "bench", "scripts", "noxfile.py")
    paths = [p for p in paths if (ROOT / p).exists()]
    session.run("ruff", "check", *paths, external=True)


@nox.session(python=_python("3.11"))
@_frugal
def build(session: nox.Session) -> None:
    """Wheels and sdists of the four packages into dist/, then install from dist/ only."""
    dist = ROOT / "dist"
    session.install("build")
    for old in glob.glob(str(dist / "repro_*")):
        os.remove(old)
    for name in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT / "packages" / name))
    # Installing from dist/ must work exactly as from an index (torch etc. come from it).
    # repro-cli goes by file: PyPI has an unrelated project named "repro-cli".
    cli_wheel = glob.glob(str(dist / "repro_cli-*.whl"))[0]
    session.install("--find-links", str(dist), "repro-mae", cli_wheel)
    session.run("python", "-c", "import repro_core, repro_cuda, repro_mae, repro_cli")
    session.run("repro", "--version")


@nox.session(name="build-cuda", python=_python("3.11"))
@_frugal
def build_cuda(session: nox.Session) -> None:
    """Compile-only CUDA build for sm_89 against torch 2.14.1+cu130 and nvcc 13, checked
    with cuobjdump (the library must hold sm_89 SASS)."""
    session.install("torch==2.14.1", "nvidia-cuda-cuobjdump", "ninja", "setuptools")
    _install_packages(session, ["repro-core", "repro-cuda"])
    env = {"CUDA_HOME": CUDA_HOME}
    session.run("repro-cuda", "build", "--arch", "8.9", env=env)  # compiles, shows progress
    # Again, captured: a cache hit (nothing recompiled) that names the libraries.
    out = session.run("repro-cuda", "build", "--arch", "8.9", env=env, silent=True) or ""
    print(out)
    lib = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                if line.startswith("cuda library:")), "")
    if not lib.endswith(".so"):
        session.error(f"repro-cuda build --arch 8.9 reported no CUDA library:\n{out}")
    cuobjdump = session.run(
        "python", "-c", "import glob, nvidia; print(sorted(glob.glob(nvidia.__path__[0] + "
        "'/*/bin/cuobjdump'))[0])", silent=True).strip()
    elf = session.run(cuobjdump, "--list-elf", lib, external=True, silent=True) or ""
    print(elf)
    if "sm_89" not in elf:
        session.error(f"no sm_89 SASS in {lib}")
