"""The readers, one per source kind, on small inputs with hand-computed expectations."""

from repro_core.scan import conda, dockerfile, metadata, readme, requirements, setup_py
from repro_core.scan.collector import Collector
from repro_core.scan.combine import constraints
from repro_core.scan.reqs import Spec, commands, conda_spec, install_command, parse_requirement


def _ev(col):
    return {(e.package, e.specifier) for e in col.evidence}


def test_requirement_lines():
    assert parse_requirement("torch==1.7.1+cu110") == [
        Spec("torch", "==1.7.1"), Spec("cuda", "==11.0.*", "+cu110 wheel tag")]
    assert parse_requirement("PyYAML>=5.1 ; python_version >= '3'") == [Spec("pyyaml", ">=5.1")]
    assert parse_requirement("torch=1.4")[0] == Spec("torch", "==1.4", "single '=' pin")
    whl = parse_requirement(
        "https://download.pytorch.org/whl/cu101/torch-1.4.0-cp37-cp37m-linux_x86_64.whl")
    assert Spec("torch", "==1.4.0", "wheel URL") in whl
    assert Spec("python", "==3.7.*", "wheel tag cp37") in whl
    assert parse_requirement("git+https://github.com/NVIDIA/apex#egg=apex") == [
        Spec("apex", "", "VCS/URL requirement")]
    assert parse_requirement("this is not ( a requirement") == []


def test_requirements_file_includes_and_links():
    files = {"reqs/base.txt": "numpy<1.24\n-r ../requirements-extra.txt\n",
             "requirements-extra.txt": "timm==0.3.2  # comment\n--hash=sha256:00\n"}
    text = "-f https://download.pytorch.org/whl/cu113/torch_stable.html\n" \
           "torch==1.10.2 \\\n  --hash=sha256:abc\n-r reqs/base.txt\n-r missing.txt\n"
    col = Collector()
    requirements.read(col, ".", "requirements.txt", text, files.get)
    assert _ev(col) >= {("cuda", "==11.3.*"), ("torch", "==1.10.2"), ("numpy", "<1.24"),
                        ("timm", "==0.3.2")}
    assert any(r.source == "requirements-extra.txt:1" for r in col.requirements)
    assert any("missing.txt" in w for w in col.warnings)


def test_requirements_includes_never_leave_the_repository():
    seen = []

    def load(rel):
        seen.append(rel)
        return "torch==0.1\n"

    col = Collector()
    requirements.read(col, ".", "requirements.txt", "-r /etc/passwd\n-r ../../x.txt\n", load)
    assert seen == [] and not col.requirements and len(col.warnings) == 2


def test_requirements_include_cycle_terminates():
    files = {"a.txt": "-r b.txt\ntorch\n", "b.txt": "-r a.txt\nnumpy\n"}
    col = Collector()
    requirements.read(col, ".", "a.txt", files["a.txt"], files.get)
    assert {r.name for r in col.requirements} == {"torch", "numpy"}


def test_pip_and_conda_commands():
    (toks,) = list(commands("pip install torch==1.8.0+cu111 -f https://x/torch_stable.html"))
    assert install_command(toks) == [Spec("torch", "==1.8.0"),
                                     Spec("cuda", "==11.1.*", "+cu111 wheel tag")]
    (toks,) = list(commands("conda install pytorch==1.7.1 cudatoolkit=11.0 -c pytorch"))
    assert install_command(toks) == [Spec("torch", "==1.7.1"), Spec("cuda", "==11.0.*")]
    assert install_command(["ls", "-la", "x"]) is None
    assert conda_spec("pytorch=1.7.1=py3.8_cuda11.0_0") == [Spec("torch", "==1.7.1.*")]
    assert conda_spec("python>=3.7") == [Spec("python", ">=3.7")]


def test_setup_py_is_read_not_run(tmp_path):
    src = ("import os\nos.system('touch PWNED')\nDEPS = ['torch>=1.4', 'numpy']\n"
           "from torch.utils.cpp_extension import CUDAExtension\n"
           "setup(name='x', install_requires=DEPS, python_requires='>=3.6',\n"
           "      ext_modules=[CUDAExtension('x_cuda', ['csrc/a.cpp', 'csrc/b.cu'])])\n")
    col = Collector()
    setup_py.read(col, "setup.py", src)
    assert _ev(col) == {("torch", ">=1.4"), ("numpy", ""), ("python", ">=3.6")}
    assert "CUDAExtension (cuda)" in col.ext_builds[""]
    assert not (tmp_path / "PWNED").exists()


def test_setup_cfg_and_pyproject():
    col = Collector()
    metadata.read_setup_cfg(col, "setup.cfg", "[options]\npython_requires = >=3.7\n"
                            "install_requires =\n    torch>=1.8\n    timm\n")
    assert _ev(col) == {("python", ">=3.7"), ("torch", ">=1.8"), ("timm", "")}
    col = Collector()
    metadata.read_pyproject(col, "pyproject.toml", '[project]\nrequires-python = ">=3.9"\n'
                            'dependencies = ["torch>=2.0", "numpy<2"]\n'
                            '[tool.poetry.dependencies]\ntimm = "^0.9"\n')
    assert _ev(col) == {("python", ">=3.9"), ("torch", ">=2.0"), ("numpy", "<2"),
                        ("timm", ">=0.9,<0.10")}


def test_pyproject_fallback_parser_matches_tomllib():
    text = '[project]\nname = "x"\nrequires-python = ">=3.8"\n' \
           'dependencies = [\n  "torch>=1.13",  # c\n  "numpy",\n]\n'
    got = metadata._fallback_toml(text)
    assert got["project"]["dependencies"] == ["torch>=1.13", "numpy"]
    assert got["project"]["requires-python"] == ">=3.8"


def test_environment_yml():
    text = ("name: x\nchannels:\n  - pytorch\ndependencies:\n  - python=3.8\n"
            "  - pytorch=1.7.1=py3.8_cuda11.0.221_cudnn8.0.5_0\n  - cudatoolkit=11.0\n"
            "  - pip\n  - pip:\n    - timm==0.3.2  # pin\n    - -f https://download.pytorch.org/"
            "whl/cu110/torch_stable.html\nprefix: /opt/conda\n")
    col = Collector()
    conda.read(col, "environment.yml", text)
    assert _ev(col) == {("python", "==3.8.*"), ("torch", "==1.7.1.*"), ("cuda", "==11.0.*"),
                        ("timm", "==0.3.2")}


def test_dockerfile_from_tags_args_and_pip():
    text = ('ARG PYTORCH="1.6.0"\nARG CUDA="10.1"\n'
            "FROM --platform=linux/amd64 pytorch/pytorch:${PYTORCH}-cuda${CUDA}-cudnn7-devel\n"
            "RUN pip install mmcv-full==1.3.8 \\\n    timm==0.4.12\n")
    col = Collector()
    dockerfile.read(col, "Dockerfile", text)
    assert _ev(col) >= {("torch", "==1.6.0"), ("cuda", "==10.1.*"), ("mmcv-full", "==1.3.8"),
                        ("timm", "==0.4.12")}
    assert dockerfile.from_image("nvidia/cuda:11.3.1-cudnn8-devel-ubuntu20.04") == [
        Spec("cuda", "==11.3.*", "CUDA base image")]
    assert dockerfile.from_image("python:3.8-slim") == [
        Spec("python", "==3.8.*", "Python base image")]


def test_readme_statements_and_commands():
    assert readme.statements("Tested with PyTorch 1.7.1 and Python 3.6+") == [
        Spec("torch", "==1.7.1", "stated"), Spec("python", ">=3.6", "stated")]
    assert readme.statements("requires pytorch >= 1.4, CUDA 10.2") == [
        Spec("torch", ">=1.4", "stated"), Spec("cuda", "==10.2.*", "stated")]
    col = Collector()
    readme.read(col, "README.md", "Switch back to pytorch 0.4 with the old branch.\n"
                "A fix is needed to work with PyTorch 1.8.1+.\nCUDA 9.1 will need gcc5.\n")
    assert not col.evidence
    col = Collector()
    readme.read(col, "README.md", "Run `pip install timm==0.3.2` first.\n```\n$ conda install "
                "pytorch=1.10 -c pytorch\n```\n")
    assert _ev(col) == {("timm", "==0.3.2"), ("torch", "==1.10.*")}
    assert readme.arxiv_dates("see arXiv:2111.06377 and https://arxiv.org/abs/1706.02677v2") == [
        ("2021-11-01", "arXiv:2111.06377"), ("2017-06-01", "arXiv:1706.02677")]


def test_combiner_merges_and_reports_conflicts():
    from repro_core.scan.report import Evidence

    evs = [Evidence("torch", "==0.4.1", "README.md", 3, "r", "readme"),
           Evidence("torch", "==1.0.0", "Dockerfile", 2, "d", "dockerfile"),
           Evidence("torch", "<2.0", "a.py", 1, "rule", "api"),
           Evidence("numpy", ">=1.19", "requirements.txt", 1, "", "requirements"),
           Evidence("numpy", "<1.24", "b.py", 4, "rule", "api")]
    cons, conflicts, _ = constraints(evs)
    assert cons == {"torch": "<2.0,==1.0.0", "numpy": "<1.24,>=1.19"}
    (c,) = conflicts
    assert (c.kept.specifier, c.dropped.specifier) == ("==1.0.0", "==0.4.1")
    assert "Dockerfile:2" in c.message and "README.md:3" in c.message


def test_imports_of_the_repositorys_own_modules_are_no_requirements(tmp_path):
    from repro_core.scan import scan

    files = {
        # PyTorch-GAN: each script imports its sibling models.py / datasets.py by bare name
        "implementations/acgan/acgan.py": "import torch\nfrom models import *\n"
                                          "from datasets import ImageDataset\n",
        "implementations/acgan/models.py": "import torch.nn as nn\n",
        "implementations/pixelda/mnistm.py": "import numpy\n",
        "implementations/pixelda/pixelda.py": "import mnistm\n",
        "implementations/cyclegan/datasets.py": "from PIL import Image\n",
        # pytorch_resnet_cifar10: hubconf.py imports entry points that are not modules at all
        "hubconf.py": "dependencies = ['torch']\nimport resnet20\nimport resnet1202\n"
                      "import torch\nimport timm\n",
        # gen-efficientnet-pytorch: caffe2 shipped inside torch 1.x
        "caffe2_benchmark.py": "from caffe2.python import core, workspace\n",
    }
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    r = scan(str(tmp_path))
    assert sorted({i.distribution.lower() for i in r.imports}) == ["numpy", "pillow", "timm",
                                                                    "torch"]
    assert {i.module: i.distribution for i in r.imports}.get("caffe2.python") in (None, "torch")
    assert not {"models", "datasets", "mnistm", "resnet20", "resnet1202", "caffe2"} & set(
        r.constraints)


README_MIXED = """# Model
Tested with PYTORCH 1.7.1 and Cuda 10.2.

```
# a fence line holds no package name: code is still skipped
pytorch 0.4 inside a code block is no statement
```

~~~
Python 2.7 inside another block
~~~
Requires python 3.6+.
docker run nvcr.io/nvidia/PyTorch:20.12-py3
$ PIP install numpy==1.19  (not a command: pip is lower case)
$ pip install timm==0.3.2
It will not work with 1.0 nor 1.0.1 of TorchVision 0.8.
"""


def test_readme_lines_without_a_package_word_change_nothing(monkeypatch):
    """The reference reads every line of the file: over this repository's markdown files and
    a README mixing cases and code blocks, reading only the lines holding a package name,
    ``install``/``create`` or a fence records the same."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    texts = [p.read_text(encoding="utf-8") for p in sorted(root.glob("tests/data/**/*.md"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted(root.glob("docs/*.md"))]
    texts.append(README_MIXED)

    def record(text):
        col = Collector()
        readme.read(col, "README.md", text)
        return [(e.package, e.specifier, e.line, e.reason) for e in col.evidence] + [
            (str(r), "", 0, "") for r in col.requirements] + [(w, "", 0, "") for w in col.warnings]

    got = [record(t) for t in texts]
    monkeypatch.setattr(readme, "_WORTH_READING", re.compile(""))  # every line
    assert got == [record(t) for t in texts]
    assert sum(map(len, got)) > 20
    mixed = {(n, s) for n, s, _, _ in got[-1]}
    assert ("torch", "==1.7.1") in mixed and ("timm", "==0.3.2") in mixed
    assert not any(s in ("==0.4.*", "==2.7.*") for _, s in mixed)  # inside code blocks
