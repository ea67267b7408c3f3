"""repro_core.container: every generated Dockerfile is parsed and checked, tag by tag and
version by version, against the knowledge base (no Docker engine needed)."""

import json
import re
from pathlib import Path

import pytest

from repro_core import compat, container
from repro_core.errors import ReproError
from repro_core.scan import scan

KB = Path(container.__file__).parent / "kb" / "data" / "cuda_images.json"


def parse(text):
    """A small Dockerfile reader, independent of the generator: comments dropped,
    backslash-continued lines joined, -> [(INSTRUCTION, arguments)]."""
    out, buf = [], ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        instr, _, rest = buf.strip().partition(" ")
        out.append((instr.upper(), " ".join(rest.split())))
        buf = ""
    assert not buf, "dangling continuation"
    return out


def facts():
    return json.loads(KB.read_text())


def check(text, torch_spec, python, flavor, arch=None, lock=None):
    """Assert everything in the Dockerfile against the raw kb JSON, not container.py."""
    ins = parse(text)
    kb = facts()
    names = [i for i, _ in ins]
    assert names[0] == "FROM" and names.count("FROM") == 1
    image = ins[0][1]
    build = compat.torch_build(torch_spec)
    m = re.fullmatch(r"nvidia/cuda:(\d+\.\d+\.\d+)-(cudnn\d?)-(runtime|devel)-ubuntu(\d+\.\d+)",
                     image)
    assert m, image
    cuda, cudnn, fl, ubuntu = m.groups()
    row = next(r for r in kb["images"] if r["cuda"] == cuda)
    assert image.split(":")[1] in row["tags"]  # the tag is published
    assert cudnn == row["cudnn_tag"] and fl == flavor
    assert compat.cuda_mm(cuda) == build.cuda  # the wheel's CUDA minor
    newest = max((r["cuda"] for r in kb["images"] if r["cudnn_tag"] and
                  compat.cuda_mm(r["cuda"]) == build.cuda), key=lambda v: [int(x) for x in
                                                                         v.split(".")])
    assert cuda == newest
    run = " ; ".join(a for i, a in ins if i == "RUN")
    assert f"python{python} python{python}-venv" in run
    if "ppa:deadsnakes/ppa" not in run:
        assert kb["ubuntu_python"][ubuntu] == python  # the distribution's own python3
    else:
        assert kb["ubuntu_python"][ubuntu] != python
    assert f"python{python} -m venv /opt/venv" in run
    env = " ".join(a for i, a in ins if i == "ENV")
    if arch is not None:
        assert f'TORCH_CUDA_ARCH_LIST="{arch}"' in env
    pip = [a for i, a in ins if i == "RUN" and a.startswith("pip install")]
    assert len(pip) == 1
    if lock:
        assert pip[0] == "pip install --require-hashes -r /tmp/requirements.lock"
        assert ("COPY", f"{lock} /tmp/requirements.lock") in ins
    else:
        assert f"--extra-index-url https://download.pytorch.org/whl/{build.variant} " in pip[0]
        assert f"torch=={build.version}+{build.variant}" in pip[0].split()
    users = [a for i, a in ins if i == "USER"]
    assert users and users[-1] not in ("root", "0") and "useradd" in run
    assert names.index("USER") > names.index("COPY")
    return ins


def test_torch110_cu113_py38_runtime_for_an_rtx3090():
    spec = container.container_spec("1.10.0+cu113", "3.8", gpu="8.6")
    text = container.dockerfile(spec)
    check(text, "1.10.0+cu113", "3.8", "runtime", arch="8.6")
    # hand-checked against NVIDIA's tag list: the newest 11.3 update, Ubuntu 20.04's python3.8
    assert spec.base_image == "nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04"
    assert spec.python_source == "ubuntu"
    assert spec.pins == ("torch==1.10.0+cu113", "torchvision==0.11.1+cu113")
    assert container.ContainerSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec


def test_devel_for_an_ada_gpu_on_cuda_12_1():
    spec = container.container_spec("2.1.0+cu121", "3.11", gpu="RTX 4090", flavor="devel")
    text = container.dockerfile(spec)
    check(text, "2.1.0+cu121", "3.11", "devel", arch="8.9")
    assert spec.base_image == "nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04"
    assert spec.python_source == "deadsnakes"
    assert "python3.11-dev" in text and "build-essential" in text


@pytest.mark.parametrize("gpu,cuda,want", [
    ("8.9", "1.10.0+cu113", "8.6"),   # nvcc 11.3 stops at 8.6: sm_86 SASS runs on 8.9
    ("7.5", "1.10.0+cu113", "7.5"),
    ("8.9", "1.7.1+cu110", "8.0"),    # nvcc 11.0 stops at 8.0
])
def test_arch_list_is_lowered_to_what_nvcc_targets(gpu, cuda, want):
    assert container.container_spec(cuda, "3.8", gpu=gpu).arch_list == want


def test_gpu_that_nvcc_cannot_reach_is_an_error():
    with pytest.raises(ReproError, match="no target of major 9"):
        container.container_spec("1.10.0+cu113", "3.8", gpu="9.0")


def test_no_gpu_keeps_the_wheels_arch_list_within_nvcc():
    spec = container.container_spec("1.10.0+cu113", "3.8")
    assert spec.arch_list == "3.7;5.0;6.0;7.0;7.5;8.0;8.6"  # builder release/1.10 cu113


def test_every_kb_torch_build_gives_a_checked_dockerfile_or_a_clear_error():
    """All torch releases x CUDA variants x supported Pythons in the kb."""
    from repro_core import kb
    minors = {compat.cuda_mm(r["cuda"]) for r in facts()["images"] if r["cudnn_tag"]}
    made = refused = 0
    for rel in kb.load("torch_releases")["releases"]:  # the raw rows: an independent reading
        version = rel["version"] + ".0"
        lo_minor = int(rel["python"]["min"].split(".")[1])
        hi_minor = int(rel["python"]["max"].split(".")[1])
        for variant in rel["arch_lists"]:
            for minor in range(lo_minor, hi_minor + 1):
                py = f"3.{minor}"
                spec_s = f"{version}+{variant}"
                if compat.variant_cuda(variant) not in minors:
                    with pytest.raises(ReproError, match="no nvidia/cuda image"):
                        container.container_spec(spec_s, py)
                    refused += 1
                    continue
                spec = container.container_spec(spec_s, py)
                check(container.dockerfile(spec), spec_s, py, "runtime")
                made += 1
    assert made > 100 and refused > 0


def test_cpu_build_uses_plain_ubuntu():
    spec = container.container_spec("2.4.0+cpu", "3.12")
    ins = parse(container.dockerfile(spec))
    assert ins[0] == ("FROM", "ubuntu:24.04") and facts()["ubuntu_python"]["24.04"] == "3.12"
    assert spec.arch_list == "" and "TORCH_CUDA_ARCH_LIST" not in container.dockerfile(spec)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu torch==2.4.0+cpu" in \
        container.dockerfile(spec)


def test_lock_input(tmp_path):
    lock = ("# repro lock (repro 0.1.0)\n# date cutoff: 2021-11-11\n# python: 3.9\n"
            "# platform: linux\n# variant: cu113\n# source: plan 1\n"
            "--extra-index-url https://download.pytorch.org/whl/cu113\n"
            "torch==1.10.0+cu113 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    torch, py = container.lock_facts(lock)
    assert (torch, py) == ("1.10.0+cu113", "3.9")
    spec = container.container_spec(torch, py, lock="requirements.lock", lock_text=lock)
    check(container.dockerfile(spec), torch, py, "runtime", lock="requirements.lock")
    assert spec.pins == ()
    bare = "--extra-index-url https://download.pytorch.org/whl/cu111\ntorch==1.9.0 --hash=x\n"
    assert container.lock_facts(bare) == ("1.9.0+cu111", None)
    with pytest.raises(ReproError, match="--require-hashes would refuse"):
        container.container_spec(torch, py, lock="r.lock",
                                 lock_text=lock + "# unhashed: torch\n")
    with pytest.raises(ReproError, match="no `torch==` pin"):
        container.lock_facts("numpy==1.21.0\n")


def test_python_the_torch_build_lacks_is_refused():
    with pytest.raises(ReproError, match="3.6-3.9 only, not 3.10"):
        container.container_spec("1.10.0+cu113", "3.10")


def test_write_adds_dockerignore_and_scan_reads_the_stack_back(tmp_path):
    spec = container.container_spec("1.10.0+cu113", "3.8")
    df, ignore = container.write(spec, str(tmp_path / "Dockerfile"))
    assert ".git" in ignore.read_text().split()
    # repro's own Dockerfile reader (scan) finds the same stack in it
    c = scan(str(tmp_path)).constraints
    assert c["cuda"] == "==11.3.*" and c["torch"] == "==1.10.0" and c["torchvision"] == "==0.11.1"
    ignore.write_text("data/\n")
    container.write(spec, str(tmp_path / "Dockerfile"))
    assert ignore.read_text() == "data/\n"  # a user's .dockerignore is kept


def test_kb_file_is_consistent():
    kb = facts()
    for r in kb["images"]:
        assert all(t.startswith(r["cuda"] + "-") for t in r["tags"])
        if r["cudnn_tag"]:
            assert any(f"-{r['cudnn_tag']}-runtime-" in t for t in r["tags"])
    assert [i.cuda for i in container.images().images] == [r["cuda"] for r in kb["images"]]
