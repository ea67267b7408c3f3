"""Ships the kernel sources (the repository's top-level csrc/) inside the repro_cuda package,
so an installed repro-cuda can run ``repro-cuda build``. Everything else is in pyproject.toml.
The sdist carries csrc/ at its root; a wheel built from it copies that into the package."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def _csrc() -> Path:
    for cand in (HERE / "csrc", HERE.parent.parent / "csrc"):
        if (cand / "ops.cpp").is_file():
            return cand
    raise RuntimeError(f"repro-cuda: kernel sources (csrc/ops.cpp) not found near {HERE}")


def _copy_sources(dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(str(_csrc()), str(dst),
                    ignore=shutil.ignore_patterns("*.o", "*.so", "__pycache__"))


class BuildPyWithSources(build_py):
    def run(self):
        super().run()
        if not self.dry_run:
            _copy_sources(Path(self.build_lib) / "repro_cuda" / "csrc")


class SdistWithSources(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        _copy_sources(Path(base_dir) / "csrc")


setup(cmdclass={"build_py": BuildPyWithSources, "sdist": SdistWithSources})
