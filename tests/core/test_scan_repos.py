"""scan() on the fixture repositories under tests/data/repos (written for these tests)."""

import json
import shutil

import pytest

from repro_core.errors import ReproError
from repro_core.scan import ScanReport, scan

REPOS = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "repos"


def rules_of(report):
    return {f.rule for f in report.findings}


def test_legacy_2018_repo():
    r = scan(REPOS / "legacy2018")
    assert r.constraints["torch"].split(",") and "==0.4.1" in r.constraints["torch"]
    assert "<1.0" in r.constraints["torch"]  # torch.utils.ffi, loss.data[0]
    assert r.constraints["cuda"] == "==9.0.*"
    assert "==3.6.*" in r.constraints["python"] and "<3.10" in r.constraints["python"]
    assert rules_of(r) >= {"torch-variable-volatile", "torch-data-index", "torch-utils-ffi",
                           "torch-upsample", "torch-size-average", "scipy-misc-imread",
                           "py-collections-abc", "cpp-thc-include", "cpp-thcstate",
                           "cpp-thcudacheck", "cpp-thcceildiv", "cpp-ffi-c-api"}
    (ext,) = r.extensions
    assert ext.path == "lib" and ext.kind == "cuda" and "lib/build.py" in ext.build
    apis = {(a.path, a.line, a.rule) for a in ext.legacy_apis}
    assert ("lib/src/roi_pooling_cuda.c", 1, "cpp-thc-include") in apis
    assert ("lib/src/roi_pooling_kernel.cu", 11, "cpp-thcceildiv") in apis
    assert ("lib/build.py", 3, "torch-utils-ffi") in apis
    assert not any(a.rule == "cpp-at-check" for a in ext.legacy_apis)  # only in a comment
    f = next(f for f in r.findings if f.rule == "torch-data-index")
    assert (f.path, f.line, f.fix) == ("train.py", 18, "use loss.item()")
    assert r.reference_date == "2018-05-01"
    assert {u.distribution for u in r.imports} >= {"torch", "scipy"}
    assert "lib" not in {u.module for u in r.imports}  # a local package is not a dependency


def test_style_2021_repo():
    r = scan(REPOS / "style2021")
    c = r.constraints
    assert "==1.7.1" in c["torch"] and "<1.9" in c["torch"]
    assert c["cuda"] == "==11.0.*"
    assert "==0.3.2" in c["timm"] and "<0.4.12" in c["timm"]
    assert "<1.21" in c["numpy"] and "<1.24" in c["numpy"]
    assert rules_of(r) >= {"timm-032-torch-six", "timm-block-qk-scale", "np-builtin-aliases",
                           "torch-six-container-abcs", "timm-layers-submodules"}
    dists = {u.distribution: u.stated for u in r.imports}
    assert dists["opencv-python"] and dists["PyYAML"] and dists["torch"]
    assert dists["scikit-learn"] is False  # imported but never stated
    assert "utils" not in {u.module.split(".")[0] for u in r.imports}
    sources = {q.source for q in r.requirements if q.name == "numpy"}
    assert sources == {"requirements-extra.txt:1"}  # followed the -r include
    assert not r.conflicts


def test_style_2023_repo():
    r = scan(REPOS / "style2023")
    assert ">=2.0" in r.constraints["torch"] and ">=0.9" in r.constraints["timm"]
    assert rules_of(r) >= {"torch-compile", "torch-sdpa", "torch-amp-autocast", "timm-layers",
                           "torch-load-weights-only-kw"}
    assert "torch-load-weights-only" not in rules_of(r)
    assert {u.distribution for u in r.imports} >= {"einops"}  # from the notebook


def test_conflicting_sources_are_kept_and_reported():
    r = scan(REPOS / "conflict")
    (c,) = r.conflicts
    assert c.package == "torch"
    assert {c.kept.specifier, c.dropped.specifier} == {"==1.0.0", "==0.4.1"}
    assert c.kept.path == "Dockerfile"  # the Dockerfile installs, the README only tells
    specs = {e.specifier for e in r.evidence if e.package == "torch"}
    assert specs == {"==1.0.0", "==0.4.1"}
    assert any(f.rule == "source-conflict" and f.path == "README.md" for f in r.findings)


def test_setup_py_is_never_executed(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "setup_exec", repo)
    r = scan(repo)
    assert not list(repo.glob("EXECUTED_MARKER*"))
    assert r.constraints["torch"] == "==1.4.0"
    assert r.constraints["python"] == "<3.9,>=3.6"


def test_mae_layout():
    r = scan(REPOS / "mae_layout")
    c = r.constraints
    assert "==0.3.2" in c["timm"]  # the assert in main_pretrain.py and the README agree
    assert rules_of(r) >= {"timm-032-torch-six", "timm-block-qk-scale", "timm-add-weight-decay",
                           "torch-six", "np-builtin-aliases", "torch-cuda-amp-autocast",
                           "torch-cuda-amp-gradscaler", "torch-load-weights-only",
                           "torch-distributed-local-rank"}
    kept = {(x.package, x.kept.specifier, x.dropped.specifier) for x in r.conflicts}
    assert ("timm", "==0.3.2", "==0.4.5") in kept  # the Colab notebook installs 0.4.5
    assert r.reference_date == "2021-11-01"  # newest arXiv id, not the cited 1706 paper
    assert {u.distribution for u in r.imports} >= {"torch", "timm", "numpy", "torchvision"}


def test_report_json_round_trip_and_keys():
    r = scan(REPOS / "legacy2018")
    d = json.loads(r.to_json())
    assert set(d) >= {"path", "reference_date", "date_sources", "requirements", "constraints",
                      "evidence", "extensions", "findings"}
    assert set(d["requirements"][0]) >= {"name", "specifier", "source"}
    assert set(d["evidence"][0]) >= {"package", "specifier", "path", "line", "reason"}
    assert set(d["extensions"][0]) >= {"path", "kind", "sources", "legacy_apis"}
    assert set(d["extensions"][0]["legacy_apis"][0]) >= {"path", "line", "api"}
    assert set(d["findings"][0]) >= {"rule", "path", "line", "message", "fix"}
    assert ScanReport.from_json(r.to_json()) == r


def test_git_metadata_read_without_git(tmp_path):
    import zlib

    repo = tmp_path / "r"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    sha = "ab" + "c" * 38
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{sha} refs/heads/main\n")
    body = (b"tree " + b"0" * 40 + b"\nauthor A <a@b> 1528000000 +0000\n"
            b"committer A <a@b> 1528070400 -0700\n\nmsg\n")
    obj = repo / ".git" / "objects" / sha[:2] / sha[2:]
    obj.parent.mkdir(parents=True)
    obj.write_bytes(zlib.compress(b"commit %d\0" % len(body) + body))
    r = scan(repo)
    assert r.reference_date == "2018-06-03"  # 1528070400 = 2018-06-04 00:00 UTC, at -07:00
    assert r.date_sources == (f"git HEAD commit {sha[:10]} (2018-06-03)",)


def test_skips_venvs_build_dirs_and_git(tmp_path):
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "venv" / "mod.py").write_text("from torch._six import inf\n")
    (tmp_path / "build" / "lib").mkdir(parents=True)
    (tmp_path / "build" / "lib" / "x.py").write_text("import torch.utils.ffi\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "requirements.txt").write_text("torch==0.1\n")
    (tmp_path / "main.py").write_text("import numpy\n")
    r = scan(tmp_path)
    assert not r.findings and set(r.constraints) == {"numpy"}
    assert r.files_scanned == 1


def test_missing_path_is_a_one_line_error(tmp_path):
    with pytest.raises(ReproError, match="not a directory"):
        scan(tmp_path / "nope")


@pytest.mark.parametrize("name", ["legacy2018", "style2021", "style2023", "mae_layout"])
def test_text_prefilter_loses_no_finding(name, monkeypatch):
    """Files are pre-filtered by text before the ast pass; forcing the ast pass on every
    file must give the same findings and imports."""
    from repro_core.match.python import Matcher

    fast = scan(REPOS / name)
    monkeypatch.setattr(Matcher, "prefilter", lambda self, text, skip=(): None)
    slow = scan(REPOS / name)
    assert fast.findings == slow.findings
    assert fast.imports == slow.imports and fast.constraints == slow.constraints


def test_torch_h_in_an_extension_bound_in_another_source(tmp_path):
    """cpp-torch-h-extension needs an extension's source: one whose own text binds the module,
    one beside a source that binds it (semseg's lib/psa/src/cpu: psamask.cpp + operator.cpp),
    or one under a setup.py that builds a CppExtension; a standalone libtorch program is not."""
    def write(rel, text):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    kernel = "#include <torch/torch.h>\nvoid forward_cpu(const at::Tensor& x) {}\n"
    write("psa/cpu/psamask.cpp", kernel)
    write("psa/cpu/operator.cpp", '#include "operator.h"\n'
          "PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {\n  m.def(\"f\", &forward_cpu);\n}\n")
    write("tool/demo.cpp", "#include <torch/torch.h>\nint main() { auto t = torch::ones({2}); }\n")
    write("ext/setup.py", "from setuptools import setup\n"
          "from torch.utils.cpp_extension import CppExtension\n"
          "setup(ext_modules=[CppExtension('roi', ['src/roi.cpp'])])\n")
    write("ext/src/roi.cpp", kernel)
    rep = scan(str(tmp_path))
    hits = sorted(f.path for f in rep.findings if f.rule == "cpp-torch-h-extension")
    assert hits == ["ext/src/roi.cpp", "psa/cpu/psamask.cpp"]
    ext = {e.path: [a.rule for a in e.legacy_apis] for e in rep.extensions}
    assert ext["psa/cpu"] == ["cpp-torch-h-extension"]
