"""NVIDIA NGC PyTorch images (``nvcr.io/nvidia/pytorch:YY.MM-py3``): the knowledge-base table
``kb/data/ngc_pytorch.json``, what a Dockerfile ``FROM`` or a README naming such an image
states, and that plan admits the stated torch.

The expected rows were read by hand from NVIDIA's "PyTorch Release Notes"
(docs.nvidia.com/deeplearning/frameworks/pytorch-release-notes/):
- rel_20-12: "Ubuntu 20.04 including Python 3.8 environment", "NVIDIA CUDA 11.1.1",
  "PyTorch container image version 20.12 is based on 1.8.0a0+1606899";
- rel_19-10: "Ubuntu 18.04 including Python 3.6 environment", "NVIDIA CUDA 10.1.243"; its
  torch from the "NVIDIA PyTorch Container Versions" table of rel_20-12 ("19.10 | NVIDIA CUDA
  10.1.243 | 1.3.0a0+24ae9b5");
- rel_22-04: CUDA 11.6.2, Python 3.8, torch 1.12.0a0+bd13bc6;
- rel-22-12: CUDA 11.8.0, Python 3.8, based on 1.14.0a0+410ce96 (torch 1.14 never shipped:
  that development line was released as torch 2.0).
Rows filled later (21.02, 24.02-24.10) are checked against the NVIDIA words each source entry
of the file quotes (QUOTED below), so a value and its recorded quote cannot drift apart.
"""

import json
import re
import shutil

import pytest

from repro_core import kb
from repro_core.errors import ReproError
from repro_core.hardware import Hardware
from repro_core.plan import plan
from repro_core.scan import scan
from repro_core.scan.dockerfile import from_image

HAND_READ = {  # release: (torch as NVIDIA states it, release line, CUDA, Python)
    "19.10": ("1.3.0a0+24ae9b5", "1.3", "10.1", "3.6"),
    "20.12": ("1.8.0a0+1606899", "1.8", "11.1", "3.8"),
    "22.04": ("1.12.0a0+bd13bc6", "1.12", "11.6", "3.8"),
    "22.12": ("1.14.0a0+410ce96", "2.0", "11.8", "3.8"),
}


@pytest.mark.parametrize("release", sorted(HAND_READ))
def test_rows_match_the_release_notes(release):
    row = kb.ngc_pytorch_image(release)
    assert row is not None
    assert (row.torch, row.torch_line, row.cuda, row.python) == HAND_READ[release]
    assert row.pre_release  # NVIDIA ships development builds ("a0"), not releases


def test_every_row_is_sourced_and_plannable():
    names = kb.sources("ngc_pytorch")
    torch_minors = {r.version for r in kb.torch_releases()}
    cuda_minors = {t.version for t in kb.cuda_toolkits()}
    rows = kb.ngc_pytorch_images()
    assert [r.release for r in rows] == sorted(r.release for r in rows)
    for r in rows:
        assert r.sources and all(s in names for s in r.sources)
        assert r.torch_line in torch_minors, r  # a line plan knows
        assert r.cuda is None or r.cuda in cuda_minors, r


# Rows whose CUDA/Python/Ubuntu were read from NVIDIA's release notes in verbatim copies: the
# file records the quoted words in its ``sources``; each value must be what those words state.
QUOTED = {
    "21.02": ["rel_21_02_contents"],
    "24.02": ["rel_24_10_table"], "24.03": ["rel_24_10_table"],
    "24.04": ["rel_24_04", "rel_24_10_table"], "24.05": ["rel_24_05", "rel_24_10_table"],
    "24.06": ["rel_24_06", "rel_24_10_table"], "24.07": ["rel_24_10_table"],
    "24.08": ["rel_24_08", "rel_24_10_table"], "24.09": ["rel_24_10_table"],
    "24.10": ["readme_24_10", "rel_24_10_table"],
}


def _stated(source, release):
    """What the single-quoted NVIDIA words of a source entry state for ``release``: a dict of
    cuda/python/ubuntu (major.minor), torch and torch_minor (from Torch-TensorRT). A quoted table
    row ('24.02 | 22.04 | NVIDIA CUDA 12.3.2 | 2.3.0a0+ebedce2') counts only for its release."""
    said = {}

    def put(field, value):
        assert said.setdefault(field, value) == value, (field, source)  # quotes agree

    for quote in re.findall(r"(?<![A-Za-z])'([^']*)'(?![A-Za-z])", source):  # not NVIDIA's
        cells = [c.strip() for c in quote.split("|")]
        if len(cells) > 1:  # Container | Ubuntu | CUDA Toolkit | PyTorch
            if cells[0] != release:
                continue
            put("ubuntu", cells[1])
            put("torch", cells[3])
        for major, minor in re.findall(r"NVIDIA CUDA (\d+)\.(\d+)", quote):
            put("cuda", f"{major}.{minor}")
        for ubuntu, python in re.findall(r"Ubuntu (\d+\.\d+) including Python (\d+\.\d+)", quote):
            put("ubuntu", ubuntu)
            put("python", python)
        for python in re.findall(r"/python(\d+\.\d+)/(?:site|dist)-packages/torch", quote):
            put("python", python)
        for major, minor in re.findall(r"Torch-TensorRT (\d+)\.(\d+)", quote):
            put("torch_minor", f"{major}.{minor}")  # the copy is of this release's notes
    return said


@pytest.mark.parametrize("release", sorted(QUOTED))
def test_filled_rows_equal_the_quoted_release_notes(release):
    row, texts, seen = kb.ngc_pytorch_image(release), kb.sources("ngc_pytorch"), set()
    for source in QUOTED[release]:
        assert source in row.sources
        said = _stated(texts[source], release)
        assert said, source  # the entry quotes something for this release
        for field, value in said.items():
            assert getattr(row, field) == value, (field, source)
        seen |= set(said)
    for field in ("cuda", "python", "ubuntu"):  # every value filled is backed by a quote
        assert getattr(row, field) is None or field in seen, field


def test_quoted_words_are_read_as_stated():
    assert _stated("'Release 24.06 is based on NVIDIA CUDA 12.5.0.23, which requires'; no "
                   "Python", "24.06") == {"cuda": "12.5"}
    assert _stated("'(/opt/conda/lib/python3.8/site-packages/torch/)', 'Ubuntu 20.04 including "
                   "Python 3.8 environment', 'NVIDIA CUDA 11.2.0 including cuBLAS 11.3.1'",
                   "21.02") == {"cuda": "11.2", "python": "3.8", "ubuntu": "20.04"}
    table = ("NVIDIA's table: '24.02 | 22.04 | NVIDIA CUDA 12.3.2 | 2.3.0a0+ebedce2', "
             "'24.03 | 22.04 | NVIDIA CUDA 12.4.0.41 | 2.3.0a0+40ec155e58'")
    assert _stated(table, "24.02") == {"ubuntu": "22.04", "torch": "2.3.0a0+ebedce2",
                                       "cuda": "12.3"}
    assert _stated(table, "24.11") == {}
    assert _stated("a paraphrase: the container includes Cuda 12.6", "24.08") == {}
    with pytest.raises(AssertionError):
        _stated("'NVIDIA CUDA 12.4.1', 'NVIDIA CUDA 12.5.0'", "24.05")


def test_the_never_released_1_14_says_why_it_is_planned_as_2_0():
    row = kb.ngc_pytorch_image("22.12")
    assert row.reason() == (
        "NGC PyTorch 22.12 image ships torch 1.14.0a0+410ce96 (pre-release of 1.14; torch "
        "1.14 was never released: its development became torch 2.0 (March 2023); planned as "
        "2.0)")


def test_image_facts():
    got = [(s.package, s.specifier) for s in from_image("nvcr.io/nvidia/pytorch:20.12-py3")]
    assert got == [("torch", "==1.8.*"), ("cuda", "==11.1.*"), ("python", "==3.8.*")]
    assert from_image("nvcr.io/nvidia/pytorch:20.12-py3")[0].note == (
        "NGC PyTorch 20.12 image ships torch 1.8.0a0+1606899 (pre-release of 1.8)")
    # a variant suffix is the same release; a row without CUDA/Python gives torch only
    assert from_image("nvcr.io/nvidia/pytorch:20.12-py3-igpu") == from_image(
        "nvcr.io/nvidia/pytorch:20.12-py3")
    assert [s.package for s in from_image("nvcr.io/nvidia/pytorch:24.11-py3")] == ["torch"]
    assert [(s.package, s.specifier) for s in from_image("nvcr.io/nvidia/pytorch:24.06-py3")] == [
        ("torch", "==2.4.*"), ("cuda", "==12.5.*")]  # no quoted source states its Python
    assert [(s.package, s.specifier) for s in from_image("nvcr.io/nvidia/pytorch:24.12-py3")] == [
        ("torch", "==2.6.*"), ("python", "==3.12.*")]  # nor the CUDA of 24.12


@pytest.mark.parametrize("image", [
    "nvcr.io/nvidia/pytorch:19.01-py3",   # a release the table does not hold
    "nvcr.io/nvidia/pytorch:99.99-py3",
    "nvcr.io/nvidia/pytorch:latest",      # malformed tags
    "nvcr.io/nvidia/pytorch:20.12",
    "nvcr.io/nvidia/pytorch:2012-py3",
    "nvcr.io/nvidia/pytorch:20.12-py3x",
    "nvcr.io/nvidia/pytorch",
    "nvidia/pytorch:20.12-py3x",          # never read as torch==20.12
])
def test_unknown_or_malformed_ngc_tags_give_no_fact(image):
    assert from_image(image) == []


def _facts(report, path):
    return sorted((e.package, e.specifier) for e in report.evidence
                  if e.path == path and e.package in ("torch", "cuda", "python"))


def test_dockerfile_and_readme_give_the_same_facts_and_plan_admits_them(tmp_path):
    docker, prose = tmp_path / "docker", tmp_path / "prose"
    docker.mkdir()
    prose.mkdir()
    (docker / "Dockerfile").write_text("FROM nvcr.io/nvidia/pytorch:20.12-py3\n"
                                       "RUN pip install scipy\n")
    (prose / "README.md").write_text("# paper\n\nWe trained in the NGC container "
                                     "`nvcr.io/nvidia/pytorch:20.12-py3` on V100s.\n")
    for repo, path in ((docker, "Dockerfile"), (prose, "README.md")):
        r = scan(repo)
        assert _facts(r, path) == [("cuda", "==11.1.*"), ("python", "==3.8.*"),
                                   ("torch", "==1.8.*")]
        torch = next(e for e in r.evidence if e.package == "torch")
        assert "NGC PyTorch 20.12 image ships torch 1.8.0a0+1606899 (pre-release of 1.8)" in \
            torch.reason
        assert (r.constraints["torch"], r.constraints["cuda"], r.constraints["python"]) == (
            "==1.8.*", "==11.1.*", "==3.8.*")
        top = plan(r, Hardware.stated("8.6")).candidates[0]
        assert (top.strategy, top.torch[:4], top.python, top.cuda) == (
            "exact", "1.8.", "3.8", "11.1")
    assert [q.specifier for q in scan(prose).requirements] == []  # prose names, no install


def test_the_22_12_image_plans_on_torch_2_0(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM nvcr.io/nvidia/pytorch:22.12-py3 AS base\n")
    r = scan(tmp_path)
    assert r.constraints["torch"] == "==2.0.*"
    top = plan(r, Hardware.stated("8.6")).candidates[0]
    assert (top.strategy, top.torch[:4], top.cuda) == ("exact", "2.0.", "11.8")


def test_an_unknown_ngc_release_states_nothing(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM nvcr.io/nvidia/pytorch:19.01-py3\n")
    (tmp_path / "README.md").write_text("docker pull nvcr.io/nvidia/pytorch:latest\n")
    r = scan(tmp_path)
    assert not {"torch", "cuda", "python"} & set(r.constraints)


def _broken(tmp_path, change):
    shutil.copy(kb.DATA / "ngc_pytorch.json", tmp_path / "ngc_pytorch.json")
    data = json.loads((tmp_path / "ngc_pytorch.json").read_text())
    change(data)
    (tmp_path / "ngc_pytorch.json").write_text(json.dumps(data))
    with pytest.raises(ReproError) as e:
        kb.ngc_pytorch_images(tmp_path)
    return str(e.value)


def test_a_copy_loads_like_the_packaged_file(tmp_path):
    shutil.copy(kb.DATA / "ngc_pytorch.json", tmp_path / "ngc_pytorch.json")
    assert kb.ngc_pytorch_images(tmp_path) == kb.ngc_pytorch_images()


def test_bad_rows_name_file_row_and_field(tmp_path):
    def unsourced(d):
        d["images"][0]["sources"] = ["my_memory"]

    def unexplained(d):
        del d["images"][[r["release"] for r in d["images"]].index("22.12")]["why"]

    def duplicate(d):
        d["images"].append(dict(d["images"][0]))

    path = tmp_path / "ngc_pytorch.json"
    assert _broken(tmp_path, unsourced) == (
        f"{path}: images[0] (19.10): field sources: 'my_memory' is not in 'sources'")
    assert "(22.12): field torch_line: 2.0 is not the minor of 1.14.0a0+410ce96" in \
        _broken(tmp_path, unexplained)
    assert "duplicate release" in _broken(tmp_path, duplicate)
