"""`repro scan examples/legacy-vit --json`: the embedded 2021-style example is read as written.

Line numbers are the example's own (grep them): the pins of requirements.txt, and the
legacy uses that examples/legacy-vit really exercised on torch 1.8.1 and that fail on
torch 2.14.1 / timm 1.0 / numpy 2 (tests/data/logs/README.md lists the real failures).
"""

import json
from pathlib import Path

import pytest

from repro_cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy-vit"


@pytest.fixture(scope="module")
def report():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scan", str(EXAMPLE), "--json"]) == 0
    return json.loads(out.getvalue())


def test_pins(report):
    reqs = {(r["name"], r["specifier"], r["source"]) for r in report["requirements"]}
    assert {("torch", "==1.8.1", "requirements.txt:1"),
            ("torchvision", "==0.9.1", "requirements.txt:2"),
            ("timm", "==0.3.2", "requirements.txt:3"),
            ("numpy", "==1.20.3", "requirements.txt:4")} <= reqs
    c = report["constraints"]
    assert "==1.8.1" in c["torch"] and "==0.3.2" in c["timm"] and "==1.20.3" in c["numpy"]
    assert c["python"] == "==3.8.*" and c["cuda"] == "==11.1.*"  # README.md:12's sentence


def test_legacy_uses_found(report):
    found = {(f["rule"], f["path"], f["line"]) for f in report["findings"]}
    assert {
        ("torch-six", "vit/utils.py", 4),               # from torch._six import container_abcs
        ("np-builtin-aliases", "vit/data.py", 19),      # np.int(
        ("np-builtin-aliases", "vit/data.py", 20),      # .astype(np.float)
        ("np-builtin-aliases", "vit/data.py", 24),
        ("timm-models-layers", "vit/model.py", 4),      # from timm.models.layers import
        ("timm-block-qk-scale", "vit/model.py", 30),    # Block(..., qk_scale=qk_scale, ...)
        ("timm-block-drop", "vit/model.py", 30),        # Block(..., drop=drop_rate, ...)
        ("torch-distributed-local-rank", "train.py", 32),
        ("torch-load-weights-only", "train.py", 59),    # checkpoint holds an argparse.Namespace
        ("torch-variable", "train.py", 75),
        ("cuda-arch-pre-turing", "setup.py", 19),       # compute_60
        ("cuda-arch-pre-turing", "setup.py", 20),       # compute_70
        ("cpp-type-is-cuda", "csrc/smooth_onehot.cpp", 30),
        ("cpp-dispatch-type", "csrc/smooth_onehot.cpp", 38),
        ("cpp-data-template", "csrc/smooth_onehot.cpp", 39),
        ("cpp-thc-include", "csrc/smooth_onehot_cuda.cu", 3),
        ("cpp-thc-shim-include", "csrc/smooth_onehot_cuda.cu", 4),  # a shim torch 2.x ships
        ("cpp-thcceildiv", "csrc/smooth_onehot_cuda.cu", 20),
        ("cpp-dispatch-type", "csrc/smooth_onehot_cuda.cu", 23),
        ("cpp-thcudacheck", "csrc/smooth_onehot_cuda.cu", 29),
    } <= found
    [ext] = report["extensions"]
    assert (ext["path"], ext["kind"], ext["build"]) == (".", "cuda", "setup.py")
    assert ext["sources"] == ["csrc/smooth_onehot.cpp", "csrc/smooth_onehot_cuda.cu"]


def test_pins_agree_with_the_code(report):
    assert report["conflicts"] == []


def test_th_header_found(report):
    found = {(f["rule"], f["path"], f["line"]) for f in report["findings"]}
    assert any(p == "csrc/smooth_onehot.cpp" and line == 3 for _r, p, line in found)
