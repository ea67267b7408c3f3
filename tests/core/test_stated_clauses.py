"""README prose read per clause, and a torch pin a more trusted source outranked kept as a
second exact candidate (issue 9). The texts are lines of real paper repositories (named per
test), the expected specifiers read from them by hand."""

from repro_core.hardware import Hardware
from repro_core.plan import dropped_pins, plan
from repro_core.scan import readme, scan
from repro_core.scan.collector import Collector


def _specs(text):
    col = Collector()
    readme.read(col, "README.md", text)
    return [(e.package, e.specifier) for e in col.evidence]


def test_a_skip_word_drops_only_its_clause():
    # NVIDIA/flownet2-pytorch README: the branch clause is about another branch
    assert _specs("* PyTorch ( == 0.4.1, for <= 0.4.0 see branch [python36-PyTorch0.4]"
                  "(https://github.com/NVIDIA/flownet2-pytorch/tree/python36-PyTorch0.4))\n") == [
        ("torch", "==0.4.1")]
    # jwyang/faster-rcnn.pytorch README: the parenthesis says what does not work
    assert _specs("* Pytorch 0.4.0 (**now it does not support 0.4.1 or higher**)\n") == [
        ("torch", "==0.4.0")]
    # facebookresearch/mae README: a link's URL holds no clause end; the fix clause drops
    assert _specs("* This repo is based on [`timm==0.3.2`](https://github.com/rwightman/pytorch-"
                  "image-models), for which a [fix](https://github.com/rwightman/pytorch-image-"
                  "models/issues/420#issuecomment-776459842) is needed to work with PyTorch "
                  "1.8.1+.\n") == [("timm", "==0.3.2")]
    # facebookresearch/dino README: "since" starts the clause about what fails
    assert _specs("Please verify that you're using pytorch version 1.7.1 since we are not able "
                  "to reproduce the results with most recent pytorch 1.8.1 at the moment.\n") == [
        ("torch", "==1.7.1")]
    # hszhao/semseg README: a line whose subject is another branch says nothing of this one;
    # its own master branch is no other setup
    assert _specs("- 2020.05.15: Branch `master`, use official [nn.SyncBatchNorm](https://"
                  "pytorch.org/docs/master/nn.html#torch.nn.SyncBatchNorm), only multiprocessing "
                  "training is supported, tested with pytorch 1.4.0.\n"
                  "- 2019.05.29: Branch `1.0.0`, both multithreading training and "
                  "multiprocessing training are supported. Use `syncbn` from [EncNet](https://"
                  "github.com/zhanghang1989/PyTorch-Encoding), tested with pytorch 1.0.0.\n") == [
        ("torch", "==1.4.0")]
    # one clause with the skip word: nothing (as before)
    assert _specs("Switch back to pytorch 0.4 with the old branch.\n") == []


def test_alternatives_minimums_and_fillers():
    # jwyang/faster-rcnn.pytorch README: either Python
    assert _specs("* Python 2.7 or 3.6\n") == [("python", ">=2.7,<3.7")]
    # xinntao/ESRGAN README: a CUDA minimum, not a pin
    assert _specs("- [PyTorch >= 1.0](https://pytorch.org/) (CUDA version >= 7.5 if installing "
                  "with CUDA. [More details](https://pytorch.org/get-started/previous-versions/))"
                  "\n") == [("torch", ">=1.0"), ("cuda", ">=7.5")]
    # rwightman/gen-efficientnet-pytorch README: a list of tested versions is a range
    assert _specs("PyTorch versions 1.4, 1.5, 1.6 have been tested with this code.\n") == [
        ("torch", ">=1.4,<1.7")]
    # xingyizhou/CenterNet readme/INSTALL.md, yanx27/Pointnet_Pointnet2_pytorch README: a
    # version glued to the name
    assert _specs("1. Install pytorch0.4.1:\n") == [("torch", "==0.4.1")]
    assert _specs("The latest codes are tested on Ubuntu 16.04, CUDA10.1, PyTorch 1.6 and "
                  "Python 3.7:\n") == [("cuda", "==10.1.*"), ("torch", "==1.6.*"),
                                        ("python", "==3.7.*")]
    # facebookresearch/moco-v3 README: "and" before another package ends the list
    assert _specs("The code has been tested with CUDA 10.2/CuDNN 7.6.5, PyTorch 1.9.0 and timm "
                  "0.4.9.\n") == [("cuda", "==10.2.*"), ("torch", "==1.9.0"), ("timm", "==0.4.9")]
    # kenshohara/3D-ResNets-PyTorch README
    assert _specs("* [PyTorch](http://pytorch.org/) (ver. 0.4+ required)\n") == [
        ("torch", ">=0.4")]
    # a requirements table, and a results table whose cells are scores
    assert _specs("| Package | Version |\n|---|---|\n| Python | 3.8 |\n| PyTorch | 1.7.1 |\n"
                  "| CUDA | 11.0 |\n\n| Model | Pytorch |\n|---|---|\n| Pytorch | 84.3 |\n") == [
        ("python", "==3.8.*"), ("torch", "==1.7.1"), ("cuda", "==11.0.*")]
    # facebookresearch/swav README
    assert _specs("- [PyTorch](http://pytorch.org) install = 1.4.0\n") == [("torch", "==1.4.0")]
    # facebookresearch/maskrcnn-benchmark INSTALL.md: a nightly is that release or later
    # (the releases it will not work with: below)
    assert _specs("- PyTorch 1.0 from a nightly release.\n") == [("torch", ">=1.0")]
    # sail-sg/poolformer README: the prose around an inline install command stands
    assert _specs("torch>=1.7.0; torchvision>=0.8.0; pyyaml; [timm](https://github.com/rwightman"
                  "/pytorch-image-models) (`pip install git+https://github.com/rwightman/pytorch-"
                  "image-models.git@9d6aad44f8fd32e89e5cca503efe3ada5033a4a6`)\n") == [
        ("torch", ">=1.7.0"), ("torchvision", ">=0.8.0")]


FLOWNET2_DOCKERFILE = """FROM nvidia/cuda:9.0-cudnn7-devel-ubuntu16.04
RUN pip3 install https://download.pytorch.org/whl/cu90/torch-1.0.0-cp35-cp35m-linux_x86_64.whl
"""


def test_versions_a_line_says_will_not_work_are_excluded():
    # facebookresearch/maskrcnn-benchmark INSTALL.md: the nightly is 1.0 or later; "it" (the
    # code) will not work with the 1.0 releases, of the package the line named before
    assert _specs("- PyTorch 1.0 from a nightly release. It **will not** work with 1.0 nor "
                  "1.0.1. Installation instructions can be found in https://pytorch.org/get-"
                  "started/locally/\n") == [("torch", ">=1.0"), ("torch", "!=1.0.*,!=1.0.1")]
    assert _specs("This code does not work with PyTorch 1.5, use 1.4.\n") == [
        ("torch", "!=1.5.*")]
    assert _specs("It will not run on Python 3.9 or 3.10\n") == [("python", "!=3.9.*,!=3.10.*")]
    # no package named, no version, or not about working: nothing
    assert _specs("It will not work with 1.0.\n") == []
    assert _specs("It will not work with 2 GPUs on PyTorch\n") == []
    assert _specs("* Pytorch 0.4.0 (**now it does not support 0.4.1 or higher**)\n") == [
        ("torch", "==0.4.0")]


def test_no_candidate_takes_a_version_the_repository_excludes(tmp_path):
    # maskrcnn-benchmark's INSTALL.md line: 1.0.x is out for the exact and forward-port
    # candidates alike (a forward-port keeps lower bounds and exclusions)
    (tmp_path / "INSTALL.md").write_text("- PyTorch 1.0 from a nightly release. It **will not"
                                         "** work with 1.0 nor 1.0.1.\n")
    (tmp_path / "main.py").write_text("import torch\nfrom torch.autograd import Variable\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == "!=1.0.*,!=1.0.1,>=1.0"
    p = plan(r, Hardware.stated(None))
    assert {c.strategy for c in p.candidates} >= {"exact", "forward-port"}
    assert [c.torch for c in p.candidates if c.torch.startswith("1.0")] == []
    forward = [c for c in p.candidates if c.strategy == "forward-port"][0]
    assert "lower bounds and exclusions !=1.0.*,!=1.0.1,>=1" in forward.reasons[0]


def test_an_outranked_torch_pin_is_a_second_exact_candidate(tmp_path):
    # flownet2-pytorch: the Dockerfile's wheel (rank 2) outranks the README's pin (rank 4)
    (tmp_path / "Dockerfile").write_text(FLOWNET2_DOCKERFILE)
    (tmp_path / "README.md").write_text("## Installation\n* PyTorch ( == 0.4.1, for <= 0.4.0 "
                                        "see branch python36-PyTorch0.4)\n")
    (tmp_path / "main.py").write_text("import torch\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == "==1.0.0"
    assert [(c.kept.path, c.dropped.specifier) for c in r.conflicts
            if c.package == "torch"] == [("Dockerfile", "==0.4.1")]
    alt = dropped_pins(r)
    assert [a.spec for a in alt] == ["==0.4.1"]
    assert alt[0].by.startswith("README.md:2 torch==0.4.1 (readme)")
    p = plan(r, Hardware.stated(None))
    exact = [(c.torch, c.python) for c in p.candidates if c.strategy == "exact"]
    assert exact == [("1.0.0", "3.5"), ("0.4.1", "3.5")]
    second = [c for c in p.candidates if c.torch == "0.4.1"][0]
    assert "decided by README.md:2 torch==0.4.1 (readme)" in second.reasons[0]
    assert "Dockerfile:2 torch==1.0.0 (dockerfile) outranks it" in second.reasons[0]
    assert p.decided_by["torch"].startswith("Dockerfile:2 torch==1.0.0")


def test_two_readme_lines_that_disagree_give_no_second_candidate(tmp_path):
    # hszhao/semseg: a changelog line of another branch is not a second stated stack
    (tmp_path / "README.md").write_text("- 2020.05.15: tested with pytorch 1.4.0.\n"
                                        "- 2019.05.29: tested with pytorch 1.0.0.\n")
    (tmp_path / "main.py").write_text("import torch\n")
    r = scan(tmp_path)
    assert [c.dropped.specifier for c in r.conflicts] == ["==1.0.0"]
    assert dropped_pins(r) == ()
