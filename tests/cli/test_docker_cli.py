"""`repro docker` as a user runs it: sources, refusals, --build without an engine."""

import json
import os
from pathlib import Path

from repro_cli.main import main
from repro_core.hardware import Hardware
from repro_core.plan import plan_path

REPOS = Path(__file__).resolve().parents[1] / "data" / "repos"


def test_flags_write_dockerfile_and_dockerignore(tmp_path, capsys):
    out = tmp_path / "Dockerfile"
    assert main(["docker", "--torch", "1.10.0", "--cuda", "11.3", "--python", "3.8",
                 "--gpu", "8.6", "-o", str(out)]) == 0
    text = out.read_text()
    assert "FROM nvidia/cuda:11.3.1-cudnn8-runtime-ubuntu20.04" in text
    assert 'TORCH_CUDA_ARCH_LIST="8.6"' in text
    assert (tmp_path / ".dockerignore").is_file()
    assert "wrote" in capsys.readouterr().out


def test_json_spec(tmp_path, capsys):
    assert main(["docker", "--torch", "2.1.0", "--cuda", "12.1", "--python", "3.10",
                 "-o", str(tmp_path / "Dockerfile"), "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["base_image"] == "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"
    assert spec["python_source"] == "ubuntu"


def test_plan_json_of_a_repository_with_extensions_gives_devel(tmp_path, capsys):
    p = plan_path(str(REPOS / "legacy2018"), Hardware.stated("8.9"))
    pj = tmp_path / "plan.json"
    pj.write_text(p.to_json())
    assert main(["docker", str(pj), "-o", "-"]) == 0
    text = capsys.readouterr().out
    c = p.candidates[0]
    assert c.torch_build == "1.7.1+cu110" and c.python == "3.6"
    assert "FROM nvidia/cuda:11.0.3-cudnn8-devel-ubuntu18.04" in text  # 18.04 ships 3.6
    assert 'TORCH_CUDA_ARCH_LIST="8.0"' in text  # nvcc 11.0 tops out at 8.0; SASS runs on 8.9


def test_lock_inside_the_context(tmp_path, capsys):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# python: 3.8\n# variant: cu113\ntorch==1.10.0+cu113 \\\n"
                    "    --hash=sha256:" + "0" * 64 + "\n")
    assert main(["docker", str(lock), "-o", str(tmp_path / "Dockerfile")]) == 0
    text = (tmp_path / "Dockerfile").read_text()
    assert "COPY requirements.lock /tmp/requirements.lock" in text
    assert "pip install --require-hashes -r /tmp/requirements.lock" in text
    other = tmp_path / "sub"
    other.mkdir()
    assert main(["docker", str(lock), "-o", str(other / "Dockerfile")]) == 2
    assert "inside the build context" in capsys.readouterr().err


def test_a_users_dockerfile_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "Dockerfile"
    out.write_text("FROM python:3.9\n")
    args = ["docker", "--torch", "1.10.0", "--cuda", "11.3", "--python", "3.8", "-o", str(out)]
    assert main(args) == 2
    assert "not written by repro" in capsys.readouterr().err
    assert out.read_text() == "FROM python:3.9\n"
    assert main(args + ["--force"]) == 0
    assert main(args) == 0  # ours now: regenerating is fine


def test_unpublished_cuda_is_one_line(capsys):
    assert main(["docker", "--torch", "1.10.0", "--cuda", "10.2", "--python", "3.8",
                 "-o", "-"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "CUDA 10.2" in err


def test_build_without_an_engine(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker on PATH
    out = tmp_path / "Dockerfile"
    assert main(["docker", "--torch", "1.10.0", "--cuda", "11.3", "--python", "3.8",
                 "-o", str(out), "--build"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no Docker engine" in err
    assert out.is_file()


def test_build_with_a_docker_that_has_no_daemon(tmp_path, capsys, monkeypatch):
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["docker", "--torch", "1.10.0", "--cuda", "11.3", "--python", "3.8",
                 "-o", str(tmp_path / "Dockerfile"), "--build"]) == 2
    assert "no engine answers (Cannot connect" in capsys.readouterr().err


def test_needs_a_stack(capsys):
    assert main(["docker", "-o", "-"]) == 2
    assert "say which stack" in capsys.readouterr().err
