"""repro migrate on C++/CUDA extensions: the AT_* / torch.h / .type() rewrites (exact text,
comments and strings untouched, a second run a no-op), calls split over lines, sources a
setup.py builds, a THC-era extension fixture that compiles against this torch's headers after
--write (g++ for .cpp, nvcc for .cu), and the cpp_extension port skeleton of a
torch.utils.ffi extension."""
# ruff: noqa: E501  (before/after snippets stay on one line each)

import ast
import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import List

import pytest

pytest.importorskip("libcst")

from repro_core.match import cpp as match_cpp  # noqa: E402
from repro_core.migrate import migrate  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "migrate"
TARGET = "torch==2.14.1,cuda==13.0,python==3.11"

# codemod -> (before, after): exact texts; a comment and a string naming the old API stay
CASES = {
    "cpp-at-error": (
        '#include <torch/extension.h>\n// AT_ERROR("kept")\nvoid f(int m) {\n'
        '  if (m) AT_ERROR("bad mode ", m, "; see AT_ERROR(");\n  if (!m) AT_ERROR();\n'
        '  AT_ERROR(\n      "split", m);\n}\n',
        '#include <torch/extension.h>\n// AT_ERROR("kept")\nvoid f(int m) {\n'
        '  if (m) TORCH_CHECK(false, "bad mode ", m, "; see AT_ERROR(");\n  if (!m) TORCH_CHECK(false);\n'
        '  TORCH_CHECK(false, \n      "split", m);\n}\n'),
    "cpp-at-assert": (
        "void f(const at::Tensor& x) { AT_ASSERT(x.dim() == 4); AT_ASSERT (x.is_contiguous()); }\n",
        "void f(const at::Tensor& x) { TORCH_INTERNAL_ASSERT(x.dim() == 4); TORCH_INTERNAL_ASSERT (x.is_contiguous()); }\n"),
    "cpp-at-assertm": (
        '#define CHECK_CUDA(x) AT_ASSERTM(x.type().is_cuda(), #x " must be a CUDA tensor")\n',
        '#define CHECK_CUDA(x) TORCH_CHECK(x.is_cuda(), #x " must be a CUDA tensor")\n'),
    "cpp-torch-extension-h": (
        '#include <torch/torch.h>  // the C++ frontend\n#include <vector>\n'
        'PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.doc() = "torch/torch.h"; }\n',
        '#include <torch/extension.h>  // the C++ frontend\n#include <vector>\n'
        'PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.doc() = "torch/torch.h"; }\n'),
    "cpp-type-scalar-type": (
        "bool same(const at::Tensor& a, const at::Tensor& b) { return a.type().scalarType() == b.type() . scalarType(); }\n",
        "bool same(const at::Tensor& a, const at::Tensor& b) { return a.scalar_type() == b.scalar_type(); }\n"),
    "cpp-dispatch-scalar-type": (
        'void f(at::Tensor x) {\n  AT_DISPATCH_FLOATING_TYPES_AND_HALF(\n      x.type(), "f", [&] {\n'
        '        auto p = x.data<scalar_t>(); (void)p; });\n}\n',
        'void f(at::Tensor x) {\n  AT_DISPATCH_FLOATING_TYPES_AND_HALF(\n      x.scalar_type(), "f", [&] {\n'
        '        auto p = x.data_ptr<scalar_t>(); (void)p; });\n}\n'),
}


@pytest.mark.parametrize("codemod", sorted(CASES))
def test_cpp_codemod_before_after(tmp_path: Path, codemod: str) -> None:
    before, after = CASES[codemod]
    src = tmp_path / "ext.cpp"
    src.write_text(before)
    res = migrate(str(tmp_path), target=TARGET, mode="write")
    assert src.read_text() == after
    assert codemod in {c.codemod for c in res.changes}
    assert not res.review
    again = migrate(str(tmp_path), target=TARGET, mode="check")
    assert not again.changes and src.read_text() == after


def test_torch_h_left_alone_outside_extensions(tmp_path: Path) -> None:
    # a libtorch program (no pybind11, no setup.py building it) keeps torch/torch.h
    text = "#include <torch/torch.h>\nint main() { auto t = torch::ones({2}); return 0; }\n"
    (tmp_path / "main.cpp").write_text(text)
    assert not migrate(str(tmp_path), target=TARGET, mode="write").changes
    assert (tmp_path / "main.cpp").read_text() == text
    # the same text in a folder whose setup.py builds a CppExtension: an extension source
    (tmp_path / "setup.py").write_text(
        "from torch.utils.cpp_extension import CppExtension\nCppExtension('x', ['main.cpp'])\n")
    res = migrate(str(tmp_path), target=TARGET, mode="write")
    assert [c.rule for c in res.changes] == ["cpp-torch-h-extension"]
    assert (tmp_path / "main.cpp").read_text().startswith("#include <torch/extension.h>\n")


def test_torch_h_line_dropped_when_extension_h_is_there(tmp_path: Path) -> None:
    (tmp_path / "a.cpp").write_text("#include <torch/extension.h>\n#include <torch/torch.h>\nint x;\n")
    migrate(str(tmp_path), target=TARGET, mode="write")
    assert (tmp_path / "a.cpp").read_text() == "#include <torch/extension.h>\nint x;\n"


def test_th_types_in_prototypes_are_found() -> None:
    text = ("int roi_pool(THCudaTensor* x, THCudaIntTensor *argmax, THFloatTensor* f,\n"
            "             THCudaLongTensor* idx, THCState *state);\n"
            "float* p = THCudaLongTensor_data(state, idx);  // THCudaTensor in a comment\n")
    got = [(m.rule.id, m.line, m.text) for m in match_cpp.find("k.h", text)]
    assert got == [
        ("cpp-th-tensor-type", 1, "THCudaTensor"), ("cpp-th-tensor-type", 1, "THCudaIntTensor"),
        ("cpp-th-tensor-type", 1, "THFloatTensor"), ("cpp-th-tensor-type", 2, "THCudaLongTensor"),
        ("cpp-thcstate", 2, "THCState"), ("cpp-ffi-c-api", 3, "THCudaLongTensor_data(")]


# --- the THC-era extension fixture, compiled -------------------------------------------------


def _compilers() -> List[str]:
    site = Path(sysconfig.get_paths()["purelib"])
    inc = site / "torch" / "include"
    nvcc = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "nvcc"
    if not (inc / "torch" / "extension.h").is_file() or shutil.which("g++") is None \
            or not nvcc.is_file():
        pytest.skip("needs torch's C++ headers, g++ and nvcc")
    from importlib.metadata import version

    installed = version("torch")
    if not installed.startswith(TARGET.split(",")[0].split("==")[1].rsplit(".", 1)[0] + "."):
        pytest.skip(f"the fixture is migrated for {TARGET.split(',')[0]}; the headers here are "
                    f"torch {installed}'s")
    return [f"-I{inc}", f"-I{inc / 'torch/csrc/api/include'}",
            f"-I{sysconfig.get_paths()['include']}",
            *[f"-I{d}" for d in sorted(site.glob("nvidia/cu*/include"))], str(nvcc)]


def _compile_all(jobs: List[List[str]], cwd: Path) -> List["subprocess.CompletedProcess[str]"]:
    """Run the compiler commands side by side (they take most of this test's time)."""
    procs = [subprocess.Popen(j, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for j in jobs]
    out = []
    for j, p in zip(jobs, procs):
        text, _ = p.communicate(timeout=900)
        out.append(subprocess.CompletedProcess(j, p.returncode, text, ""))
    return out


def test_thc_extension_fixture_compiles_after_write(tmp_path: Path) -> None:
    *inc, nvcc = _compilers()
    repo = tmp_path / "roialign"
    shutil.copytree(DATA / "roialign2019", repo)
    shutil.copytree(DATA / "roipool2018", tmp_path / "roipool")
    res = migrate(str(repo), target=TARGET, mode="write")
    assert not res.failed and not res.review, res.review
    rules = {c.rule for c in res.changes}
    assert rules >= {"cpp-thc-include", "cpp-thcstate", "cpp-thcudacheck", "cpp-thcceildiv",
                     "cpp-thc-malloc", "cpp-thc-stream", "cpp-at-error", "cpp-at-assert",
                     "cpp-at-assertm", "cpp-torch-h-extension", "cpp-type-is-cuda",
                     "cpp-type-scalar-type", "cpp-data-template", "cpp-dispatch-type",
                     "cpp-std-cxx14", "cuda-arch-pre-turing"}, rules
    cu = (repo / "csrc/cuda/ROIAlign_cuda.cu").read_text()
    assert "// THCudaCheck, THC's stream and allocator. Comments that name THCudaCheck( are left alone." in cu
    assert "void* scratch = c10::cuda::CUDACachingAllocator::raw_alloc(output_size * sizeof(float));" in cu
    assert "cudaStream_t stream = at::cuda::getCurrentCUDAStream();" in cu
    assert "dim3 grid(std::min(at::ceil_div((long)output_size, 512L), 4096L));" in cu
    assert "extern THCState" not in cu and "#include <ATen/ceil_div.h>" in cu
    setup = (repo / "setup.py").read_text()
    assert '"-std=c++20"' in setup and "compute_52" not in setup and "compute_60" not in setup
    assert "-gencode=arch=compute_75,code=sm_75" in setup
    assert (repo / "csrc/roi_align.h").read_text().count("#include <torch/extension.h>") == 1
    assert not migrate(str(repo), target=TARGET, mode="check").changes  # a second run: no-op

    ffi = migrate(str(tmp_path / "roipool"), target=TARGET, mode="write", rules=["torch-utils-ffi"])
    assert [c.codemod for c in ffi.changes] == ["torch-ffi-port"]

    flags = ["-std=c++20", "-DTORCH_API_INCLUDE_EXTENSION_H", "-DTORCH_EXTENSION_NAME=_C", *inc]
    jobs = [["g++", *flags, "-fPIC", "-c", "csrc/cpu/ROIAlign_cpu.cpp", "-o", str(tmp_path / "a.o")],
            [nvcc, *flags, "-arch=sm_89", "-c", "csrc/cuda/ROIAlign_cuda.cu", "-o", str(tmp_path / "b.o")],
            ["g++", *flags, "-fsyntax-only", "csrc/vision.cpp"],
            ["g++", *flags, "-fsyntax-only", str(tmp_path / "roipool" / "bindings_repro.cpp")]]
    for p in _compile_all(jobs, repo):
        assert p.returncode == 0, (p.args, p.stdout[-3000:])
    assert (tmp_path / "a.o").stat().st_size > 0 and (tmp_path / "b.o").stat().st_size > 0


# --- torch.utils.ffi -> cpp_extension skeleton ------------------------------------------------


def test_ffi_port_skeleton_is_reviewed_then_written(tmp_path: Path) -> None:
    repo = tmp_path / "roipool"
    shutil.copytree(DATA / "roipool2018", repo)
    res = migrate(str(repo), target=TARGET, mode="check")
    port = [c for c in res.review if c.codemod == "torch-ffi-port"]
    assert len(port) == 1 and port[0].path == "build.py" and port[0].line == 24
    assert port[0].after.startswith("new files setup_repro.py, bindings_repro.cpp (3 C functions")
    res = migrate(str(repo), target=TARGET, mode="write")  # not named: never written silently
    assert not (repo / "setup_repro.py").exists() and not (repo / "bindings_repro.cpp").exists()

    res = migrate(str(repo), target=TARGET, mode="diff", rules=["torch-utils-ffi"])
    assert "+++ b/setup_repro.py" in res.diff and not (repo / "setup_repro.py").exists()
    res = migrate(str(repo), target=TARGET, mode="write", rules=["torch-utils-ffi"])
    assert set(res.files_changed) == {"setup_repro.py", "bindings_repro.cpp"}
    tree = ast.parse((repo / "setup_repro.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "CUDAExtension")
    assert ast.literal_eval(call.args[0]) == "_ext.roi_pooling"
    assert ast.literal_eval(call.args[1]) == [
        "bindings_repro.cpp", "src/roi_pooling.c", "src/roi_pooling_cuda.c",
        "src/cuda/roi_pooling_kernel.cu"]  # the .cu.o of extra_objects -> its source
    cpp = (repo / "bindings_repro.cpp").read_text()
    assert ("int roi_pooling_forward_cuda(int pooled_height, int pooled_width, float spatial_scale, "
            "at::Tensor features, at::Tensor rois, at::Tensor output, at::Tensor argmax);") in cpp
    assert cpp.count("m.def(") == 3 and "THCState" not in cpp.split("#include")[1]
    # a second run: nothing to do; an existing different file is never overwritten
    again = migrate(str(repo), target=TARGET, mode="check", rules=["torch-utils-ffi"])
    assert not again.changes and not [c for c in again.review if c.codemod == "torch-ffi-port"]
    (repo / "bindings_repro.cpp").write_text("// mine\n")
    res = migrate(str(repo), target=TARGET, mode="write", rules=["torch-utils-ffi"])
    assert (repo / "bindings_repro.cpp").read_text() == "// mine\n"
    assert [f.path for f in res.failed] == ["bindings_repro.cpp"]


def test_ffi_build_script_is_never_run(tmp_path: Path) -> None:
    (tmp_path / "build.py").write_text(
        "open('ran', 'w').close()\nfrom torch.utils.ffi import create_extension\n"
        "ffi = create_extension('_ext.k', headers=['../../etc/passwd'], sources=['k.c'])\n")
    res = migrate(str(tmp_path), target=TARGET, mode="write", rules=["torch-utils-ffi"])
    assert "bindings_repro.cpp" in res.files_changed  # header outside the tree: not read
    assert "m.def(" not in (tmp_path / "bindings_repro.cpp").read_text()
    assert not (tmp_path / "ran").exists()


def test_matcher_needles_never_skip_a_match() -> None:
    from repro_core import kb
    from repro_core.match.cpp import needles

    assert needles(r"\bTHCudaMalloc\s*\(|\bTHCudaFree\s*\(") == ("THCudaMalloc", "THCudaFree")
    assert needles(r"\bAT_ASSERTM\s*\(") == ("AT_ASSERTM",)
    assert needles(r"AT_DISPATCH_\w+\s*\(") == ("AT_DISPATCH_",)
    assert needles(r"THCudaCheckX?\(") == ("THCudaCheck",)  # the optional letter left out
    assert needles(r"(AT_CHECK|TORCH_CHECK)\(") == ("AT_CHECK(", "TORCH_CHECK(")
    assert needles(r"AT_ERRORS+") == ("AT_ERROR",)
    assert needles(r"#\s*include") == ("include",)
    # each alternative gives its own (a comparison either way round of ``.type()``)
    assert needles(r"\.type\(\)\s*[!=]=|[!=]=\s*[\w.>-]+\.type\(\)(?!\s*\.)") == (".type()",)
    assert needles(r"TH(?<!\wTH)(Float|Double)Blas_gemv\s*\(|\bTHCudaBlas_[SD]gemv\s*\(") == (
        "Blas_gemv", "THCudaBlas_")
    assert needles(r"\w+|AT_ERROR") == ()  # an alternative without a literal: none
    # every match of a rule's own trigger example holds one of its needles
    for rule in kb.rules(kind="cpp"):
        for p in rule.patterns:
            words = needles(p.value)
            for example in rule.examples["trigger"]:
                for m in re.finditer(p.value, example, re.M):
                    assert not words or any(w in m.group(0) for w in words), (rule.id, example)


def test_ffi_object_built_from_another_name_stands_for_the_cu_beside_it(tmp_path: Path) -> None:
    # faster-rcnn.pytorch's make.sh: nvcc -c -o roi_pooling.cu.o roi_pooling_kernel.cu
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "roi_pooling_kernel.cu").write_text("__global__ void k() {}\n")
    (tmp_path / "src" / "p.h").write_text("int p_forward(THCudaTensor *x, THCState *state);\n")
    (tmp_path / "build.py").write_text(
        "from torch.utils.ffi import create_extension\n"
        "ffi = create_extension('_ext.p', headers=['src/p.h'], sources=['src/p.c'],\n"
        "                       extra_objects=['src/roi_pooling.cu.o'], with_cuda=True)\n")
    migrate(str(tmp_path), target=TARGET, mode="write", rules=["torch-utils-ffi"])
    setup = (tmp_path / "setup_repro.py").read_text()
    assert "CUDAExtension('_ext.p', [\n        'bindings_repro.cpp',\n        'src/p.c',\n" \
           "        'src/roi_pooling_kernel.cu',\n    ])" in setup
    assert "int p_forward(at::Tensor x);" in (tmp_path / "bindings_repro.cpp").read_text()


# --- TH/THC BLAS wrappers -> helpers over exported ATen ops / cuBLAS ---------------------------


def test_th_blas_calls_become_helpers_and_a_second_run_is_a_noop(tmp_path: Path) -> None:
    repo = tmp_path / "thblas"
    shutil.copytree(DATA / "thblas2019", repo)
    (repo / "src/cuda/odd.cu").write_text(
        "#include <THC/THC.h>\nvoid f(float *a) {\n  THCudaBlas_Sgemm(state, 'n', 'n', 1, 1);\n}\n")
    res = migrate(str(repo), target=TARGET, mode="write")
    blas = [c for c in res.changes if c.codemod == "cpp-th-blas"]
    assert [(c.path, c.line, c.rule, c.after) for c in blas] == [
        ("src/cpu/blas_cpu.cpp", 8, "cpp-th-blas", "repro_th_gemm<float>("),
        ("src/cpu/blas_cpu.cpp", 9, "cpp-th-blas-gemv", "repro_th_gemv<float>("),
        ("src/cpu/blas_cpu.cpp", 12, "cpp-th-blas", "repro_th_gemm<double>("),
        ("src/cuda/blas_cuda.cu", 10, "cpp-thc-blas", "repro_thc_gemm<float>("),
        ("src/cuda/blas_cuda.cu", 14, "cpp-th-blas-gemv", "repro_thc_gemv<float>("),
        ("src/cuda/blas_cuda.cu", 20, "cpp-thc-blas", "repro_thc_gemm_batched<float>(")]
    # THC's gemm takes state + 13 arguments: another count is left for review
    assert [(c.path, c.line) for c in res.review if c.codemod == "cpp-th-blas"] == [("src/cuda/odd.cu", 3)]
    cpu = (repo / "src/cpu/blas_cpu.cpp").read_text()
    assert "  repro_th_gemv<float>('t', m, n, 2.0f, c, m,\n                   x, 1, 0.0f,\n" in cpu
    assert "// THFloatBlas_gemm('n', 'n', m, n, k) in a comment stays" in cpu
    assert "\"THFloatBlas_gemm('n', ...) in a string stays\"" in cpu
    assert cpu.count("static void repro_th_gemm(") == 1 and cpu.count("static void repro_th_gemv(") == 1
    assert "repro_thc" not in cpu and "#include <ATen/ATen.h>\n// repro migrate (cpp-th-blas)" in cpu
    cu = (repo / "src/cuda/blas_cuda.cu").read_text()
    assert "  repro_thc_gemv<float>('t',\n                   m, n, 1.0f,\n" in cu  # state, dropped
    assert "state" not in cu.split("void thblas_cuda")[1]
    assert cu.index("static inline cublasOperation_t repro_cublas_op(") < cu.index("repro_thc_gemm(")
    assert cu.count("template <> struct repro_cublas<float> {") == 1 and "if constexpr" not in cu
    assert "repro_th_gemm" not in cu.replace("repro_th_gemm_", "").replace("repro_thc_", "")
    assert not migrate(str(repo), target=TARGET, mode="check").changes  # a second run: no-op


def test_th_blas_helpers_compile_link_and_compute_blas(tmp_path: Path) -> None:
    """After --write, the CPU source links against torch's libraries and computes what column-
    major BLAS does (numpy as the reference); the CUDA source compiles with nvcc and every
    torch/cuBLAS symbol it needs is exported by the libraries it loads with (torch 2.14's
    at::cuda::blas::gemm<float> and at::native::cpublas::gemm are not)."""
    import ctypes

    np = pytest.importorskip("numpy")
    *inc, nvcc = _compilers()
    repo = tmp_path / "thblas"
    shutil.copytree(DATA / "thblas2019", repo)
    migrate(str(repo), target=TARGET, mode="write")
    site = Path(sysconfig.get_paths()["purelib"])
    lib = site / "torch" / "lib"
    flags = ["-std=c++20", "-DTORCH_API_INCLUDE_EXTENSION_H", "-DTORCH_EXTENSION_NAME=_C", *inc]
    so = tmp_path / "libthblas.so"
    jobs = [["g++", *flags, "-fPIC", "-shared", "src/cpu/blas_cpu.cpp", "-o", str(so), f"-L{lib}",
             "-lc10", "-ltorch_cpu", f"-Wl,-rpath,{lib}", "-Wl,--no-undefined"],
            [nvcc, *flags, "-arch=sm_89", "-Xcompiler", "-fPIC", "-c", "src/cuda/blas_cuda.cu",
             "-o", str(tmp_path / "b.o")]]
    for p in _compile_all(jobs, repo):
        assert p.returncode == 0, (p.args, p.stdout[-3000:])

    f32, f64 = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_double)
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((3, 2)), dtype=np.float32)   # m x k
    b = np.asfortranarray(rng.standard_normal((2, 4)), dtype=np.float32)   # k x n
    x = rng.standard_normal(3).astype(np.float32)
    c = np.full((3, 4), np.nan, dtype=np.float32, order="F")  # beta == 0: never read
    y = np.full(4, np.nan, dtype=np.float32)
    ad = np.asfortranarray(rng.standard_normal((2, 3)))  # stored k x m, used transposed
    bd = np.asfortranarray(rng.standard_normal((2, 4)))
    cd = np.full((3, 4), np.nan, order="F")
    fn = ctypes.CDLL(str(so)).thblas_fixture
    fn(*[v.ctypes.data_as(f32) for v in (a, b, x, c, y)], *[v.ctypes.data_as(f64) for v in (ad, bd, cd)])
    np.testing.assert_allclose(c, a @ b, rtol=1e-5)
    np.testing.assert_allclose(y, 2.0 * (a @ b).T @ x, rtol=1e-5)
    np.testing.assert_allclose(cd, ad.T @ bd, rtol=1e-12)

    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("needs nm")
    undefined = set(subprocess.run([nm, "-u", str(tmp_path / "b.o")], capture_output=True,
                                   text=True, check=True).stdout.split()) - {"U", "w"}
    wanted = {s for s in undefined if s.startswith(("_ZN2at", "_ZN3c10", "cublas"))}
    assert any(s.startswith("cublasSgemmBatched") for s in wanted), wanted
    exported = set()
    for so_file in [*lib.glob("lib*.so"), *site.glob("nvidia/cu*/lib/libcublas.so*")]:
        out = subprocess.run([nm, "-D", "--defined-only", str(so_file)], capture_output=True,
                             text=True).stdout
        exported |= {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    assert wanted <= exported, sorted(wanted - exported)


def test_torch_h_beside_the_binding_source_is_rewritten(tmp_path: Path) -> None:
    """migrate reads a source beside the one holding PYBIND11_MODULE as the extension's, like
    scan (semseg's psamask.cpp + operator.cpp); a standalone libtorch program is left alone."""
    (tmp_path / "cpu").mkdir()
    (tmp_path / "tool").mkdir()
    kernel = "#include <torch/torch.h>\nvoid f(const at::Tensor& x) {}\n"
    (tmp_path / "cpu" / "psamask.cpp").write_text(kernel)
    (tmp_path / "cpu" / "operator.cpp").write_text("PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {}\n")
    demo = "#include <torch/torch.h>\nint main() { return 0; }\n"
    (tmp_path / "tool" / "demo.cpp").write_text(demo)
    res = migrate(str(tmp_path), mode="write", target="torch==2.14.1")
    assert [(c.path, c.rule) for c in res.changes] == [("cpu/psamask.cpp", "cpp-torch-h-extension")]
    assert (tmp_path / "cpu" / "psamask.cpp").read_text() == kernel.replace(
        "torch/torch.h", "torch/extension.h")
    assert (tmp_path / "tool" / "demo.cpp").read_text() == demo
