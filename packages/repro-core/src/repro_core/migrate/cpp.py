"""C++/CUDA rewrites at the spans ``repro_core.match.cpp`` reports: the matcher already
ignores comments; a match inside a string or character literal is skipped here, so only
code tokens change. Each codemod turns the matched text (and, for calls whose arguments
change, the call up to its closing parenthesis) into the ATen / c10 spelling."""

import re
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from repro_core.match.span import Lines, Match
from repro_core.migrate.python import Outcome

_LITERAL = re.compile(r'"(?:\\.|[^"\\\r\n])*"|\'(?:\\.|[^\'\\\r\n])*\'')
_COMMENT = re.compile(r"//[^\r\n]*|/\*.*?\*/", re.S)
_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include\b[^\r\n]*", re.M)

# TH/THC headers -> their ATen successors (unknown ones are left for review)
HEADERS = {"TH/TH.h": "ATen/ATen.h", "THC/THC.h": "ATen/cuda/CUDAContext.h",
           "THC/THCAtomics.cuh": "ATen/cuda/Atomic.cuh",
           "THC/THCDeviceUtils.cuh": "ATen/cuda/DeviceUtils.cuh",
           "THC/THCGeneral.h": "ATen/cuda/CUDAContext.h"}
# codemod -> header the new code needs
NEEDS = {"cpp-thcceildiv": "ATen/ceil_div.h",
         "cpp-thc-malloc": "c10/cuda/CUDACachingAllocator.h"}

Edit = Tuple[int, int, str]  # start, end, replacement


def _literals(text: str) -> List[Tuple[int, int]]:
    """Spans of string/char literals outside comments and ``#include`` lines."""
    out = []
    blank = {m.start(): m.end() for m in _COMMENT.finditer(text)}
    blank.update({m.start(): m.end() for m in _INCLUDE.finditer(text)})
    for m in _LITERAL.finditer(text):
        if not any(s <= m.start() < e for s, e in blank.items()):
            out.append((m.start(), m.end()))
    return out


def _close(text: str, open_at: int) -> Optional[int]:
    """Offset just past the parenthesis closing the one at ``open_at``."""
    depth = 0
    i = open_at
    while i < len(text):
        c = text[i]
        if c in "\"'":
            m = _LITERAL.match(text, i)
            i = m.end() if m else i + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _args(text: str, open_at: int, close: int) -> List[str]:
    """Top-level comma-separated arguments between the parentheses."""
    out, depth, last = [], 0, open_at + 1
    i = open_at + 1
    while i < close - 1:
        c = text[i]
        if c in "\"'":  # a literal: its commas and parentheses are not syntax
            m = _LITERAL.match(text, i)
            i = m.end() if m else i + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(text[last:i].strip())
            last = i + 1
        i += 1
    out.append(text[last:close - 1].strip())
    return out


def _rename(new: str) -> Callable[[str, Match], Optional[Edit]]:
    """The identifier at the start of the match becomes ``new`` (``AT_CHECK(`` ...)."""
    def edit(text: str, m: Match) -> Optional[Edit]:
        word = re.match(r"\w+", m.text)
        return (m.start, m.start + word.end(), new) if word else None
    return edit


def _sub(pattern: str, repl: str) -> Callable[[str, Match], Optional[Edit]]:
    def edit(text: str, m: Match) -> Optional[Edit]:
        new, n = re.subn(pattern, repl, m.text, count=1)
        return (m.start, m.end, new) if n else None
    return edit


def _check_false(text: str, m: Match) -> Optional[Edit]:
    """``AT_ERROR(args)`` -> ``TORCH_CHECK(false, args)`` (arguments and layout kept)."""
    open_at = text.find("(", m.start)
    close = _close(text, open_at) if open_at >= 0 else None
    if close is None:
        return None
    empty = not text[open_at + 1:close - 1].strip()
    return m.start, (close if empty else open_at + 1), (
        "TORCH_CHECK(false)" if empty else "TORCH_CHECK(false, ")


def _extension_h(text: str, m: Match) -> Optional[Edit]:
    """``#include <torch/torch.h>`` -> ``<torch/extension.h>``; the line goes when the source
    already includes torch/extension.h."""
    lines = Lines(text)
    start = lines.offset(m.line, 0)
    end = start + len(lines.line(m.line))
    if re.search(r"#\s*include\s*[<\"]torch/extension\.h[>\"]", text):
        nl = lines.offset(m.line + 1, 0) if m.line < len(lines.starts) else end
        return start, nl, ""
    return start, end, text[start:end].replace("torch/torch.h", "torch/extension.h")


def _dispatch(text: str, m: Match) -> Optional[Edit]:
    i = m.text.rfind(".type()")
    return None if i < 0 else (m.start + i, m.start + i + len(".type()"), ".scalar_type()")


def _thcstate(text: str, m: Match) -> Optional[Edit]:
    """A line that only declares the THC state (``THCState *state = ...;``) is removed."""
    lines = Lines(text)
    line = lines.line(m.line)
    if not re.fullmatch(r"\s*(extern\s+)?THCState\s*\*\s*\w+\s*(=[^;]*)?;\s*(//.*)?", line):
        return None
    start = lines.offset(m.line, 0)
    end = lines.offset(m.line + 1, 0) if m.line < len(lines.starts) else len(text)
    return start, end, ""


def _call(new: Callable[[List[str]], Optional[str]]) -> Callable[[str, Match], Optional[Edit]]:
    """The whole call from the match to its closing parenthesis, rebuilt from its arguments."""
    def edit(text: str, m: Match) -> Optional[Edit]:
        open_at = text.find("(", m.start)
        close = _close(text, open_at) if open_at >= 0 else None
        if close is None:
            return None
        out = new([a for a in _args(text, open_at, close) if a] + [re.match(
            r"\w+", m.text).group(0)])  # type: ignore[union-attr]
        return None if out is None else (m.start, close, out)
    return edit


def _malloc(args: List[str]) -> Optional[str]:
    name = args.pop()
    if len(args) != 2:
        return None
    fn = "raw_alloc" if name == "THCudaMalloc" else "raw_delete"
    return f"c10::cuda::CUDACachingAllocator::{fn}({args[1]})"


def _stream(args: List[str]) -> Optional[str]:
    args.pop()
    return "at::cuda::getCurrentCUDAStream()" if len(args) <= 1 else None


def _th_check(args: List[str]) -> Optional[str]:
    name = args.pop()
    if name == "THArgCheck":
        return f"TORCH_CHECK({', '.join([args[0]] + args[2:])})" if len(args) >= 2 else None
    if name == "THError":
        return f"TORCH_CHECK({', '.join(['false'] + args)})"
    return f"TORCH_INTERNAL_ASSERT({', '.join(args)})" if args else None


def _include(text: str, m: Match) -> Optional[Edit]:
    header = re.search(r"[<\"](THC?/[\w./]+)[>\"]", Lines(text).line(m.line))
    if not header or header.group(1) not in HEADERS:
        return None
    lines = Lines(text)
    start = lines.offset(m.line, 0)
    end = start + len(lines.line(m.line))
    old = text[start:end]
    return start, end, old.replace(header.group(1), HEADERS[header.group(1)])


# TH/THC BLAS wrapper -> (helper, element type, arguments after THC's ``state``)
BLAS = {"THFloatBlas_gemm": ("repro_th_gemm", "float", 13),
        "THDoubleBlas_gemm": ("repro_th_gemm", "double", 13),
        "THFloatBlas_gemv": ("repro_th_gemv", "float", 11),
        "THDoubleBlas_gemv": ("repro_th_gemv", "double", 11),
        "THCudaBlas_Sgemm": ("repro_thc_gemm", "float", 13),
        "THCudaBlas_Dgemm": ("repro_thc_gemm", "double", 13),
        "THCudaBlas_Sgemv": ("repro_thc_gemv", "float", 11),
        "THCudaBlas_Dgemv": ("repro_thc_gemv", "double", 11),
        "THCudaBlas_SgemmBatched": ("repro_thc_gemm_batched", "float", 14),
        "THCudaBlas_DgemmBatched": ("repro_thc_gemm_batched", "double", 14)}
_OPTS = "auto opts = at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value);\n"
# The helpers keep the wrappers' column-major BLAS arguments. On the CPU: ATen ops on views of
# the buffers (torch 2.14's at::native::cpublas::gemm is not exported from libtorch_cpu). On
# the GPU: cuBLAS on torch's handle and stream, as THC did (at::cuda::blas::gemm<float> is not
# exported from libtorch_cuda either), with THC's leading-dimension adjustment.
HELPERS = {
    "repro_th_gemm": (
        "ATen/ATen.h",
        "template <typename T>\n"
        "static void repro_th_gemm(char transa, char transb, int64_t m, int64_t n, int64_t k,\n"
        "                          T alpha, const T *a, int64_t lda, const T *b, int64_t ldb,\n"
        "                          T beta, T *c, int64_t ldc) {\n"
        "  " + _OPTS +
        "  bool ta = transa != 'n' && transa != 'N', tb = transb != 'n' && transb != 'N';\n"
        "  auto A = at::from_blob(const_cast<T *>(a), {ta ? k : m, ta ? m : k}, {1, lda}, opts);\n"
        "  auto B = at::from_blob(const_cast<T *>(b), {tb ? n : k, tb ? k : n}, {1, ldb}, opts);\n"
        "  auto C = at::from_blob(c, {m, n}, {1, ldc}, opts);\n"
        "  C.addmm_(ta ? A.t() : A, tb ? B.t() : B, beta, alpha);  // beta == 0: C is not read\n"
        "}\n"),
    "repro_th_gemv": (
        "ATen/ATen.h",
        "template <typename T>\n"
        "static void repro_th_gemv(char trans, int64_t m, int64_t n, T alpha, const T *a,\n"
        "                          int64_t lda, const T *x, int64_t incx, T beta, T *y,\n"
        "                          int64_t incy) {\n"
        "  " + _OPTS +
        "  bool t = trans != 'n' && trans != 'N';\n"
        "  auto A = at::from_blob(const_cast<T *>(a), {m, n}, {1, lda}, opts);\n"
        "  auto X = at::from_blob(const_cast<T *>(x), {t ? m : n}, {incx}, opts);\n"
        "  auto Y = at::from_blob(y, {t ? n : m}, {incy}, opts);\n"
        "  Y.addmv_(t ? A.t() : A, X, beta, alpha);  // beta == 0: y is not read\n"
        "}\n"),
    "repro_cublas": (
        "ATen/cuda/CUDAContext.h",
        "static inline cublasOperation_t repro_cublas_op(char t) {\n"
        "  return (t == 'n' || t == 'N') ? CUBLAS_OP_N : (t == 'c' || t == 'C') ? CUBLAS_OP_C\n"
        "                                                                      : CUBLAS_OP_T;\n"
        "}\n"
        "template <typename T> struct repro_cublas;\n"
        "template <> struct repro_cublas<float> {\n"
        "  template <typename... A> static cublasStatus_t gemm(A... a) {\n"
        "    return cublasSgemm(a...);\n"
        "  }\n"
        "  template <typename... A> static cublasStatus_t gemv(A... a) {\n"
        "    return cublasSgemv(a...);\n"
        "  }\n"
        "  template <typename... A> static cublasStatus_t gemm_batched(A... a) {\n"
        "    return cublasSgemmBatched(a...);\n"
        "  }\n"
        "};\n"
        "template <> struct repro_cublas<double> {\n"
        "  template <typename... A> static cublasStatus_t gemm(A... a) {\n"
        "    return cublasDgemm(a...);\n"
        "  }\n"
        "  template <typename... A> static cublasStatus_t gemv(A... a) {\n"
        "    return cublasDgemv(a...);\n"
        "  }\n"
        "  template <typename... A> static cublasStatus_t gemm_batched(A... a) {\n"
        "    return cublasDgemmBatched(a...);\n"
        "  }\n"
        "};\n"),
    "repro_thc_gemm": (
        "ATen/cuda/CUDAContext.h",
        "template <typename T>\n"
        "static void repro_thc_gemm(char transa, char transb, int64_t m, int64_t n, int64_t k,\n"
        "                           T alpha, const T *a, int64_t lda, const T *b, int64_t ldb,\n"
        "                           T beta, T *c, int64_t ldc) {\n"
        "  bool ta = transa == 't' || transa == 'T', tb = transb == 't' || transb == 'T';\n"
        "  if (n <= 1) ldc = std::max<int64_t>(m, 1);\n"
        "  if (ta ? m <= 1 : k <= 1) lda = std::max<int64_t>(ta ? k : m, 1);\n"
        "  if (tb ? k <= 1 : n <= 1) ldb = std::max<int64_t>(tb ? n : k, 1);\n"
        "  TORCH_CUDABLAS_CHECK(repro_cublas<T>::gemm(at::cuda::getCurrentCUDABlasHandle(),\n"
        "      repro_cublas_op(transa), repro_cublas_op(transb), (int)m, (int)n, (int)k, &alpha,\n"
        "      a, (int)lda, b, (int)ldb, &beta, c, (int)ldc));\n"
        "}\n"),
    "repro_thc_gemv": (
        "ATen/cuda/CUDAContext.h",
        "template <typename T>\n"
        "static void repro_thc_gemv(char trans, int64_t m, int64_t n, T alpha, const T *a,\n"
        "                           int64_t lda, const T *x, int64_t incx, T beta, T *y,\n"
        "                           int64_t incy) {\n"
        "  if (n <= 1) lda = std::max<int64_t>(m, 1);\n"
        "  TORCH_CUDABLAS_CHECK(repro_cublas<T>::gemv(at::cuda::getCurrentCUDABlasHandle(),\n"
        "      repro_cublas_op(trans), (int)m, (int)n, &alpha, a, (int)lda, x, (int)incx,\n"
        "      &beta, y, (int)incy));\n"
        "}\n"),
    "repro_thc_gemm_batched": (
        "ATen/cuda/CUDAContext.h",
        "template <typename T>\n"
        "static void repro_thc_gemm_batched(char transa, char transb, int64_t m, int64_t n,\n"
        "                                   int64_t k, T alpha, const T *const a[], int64_t lda,\n"
        "                                   const T *const b[], int64_t ldb, T beta,\n"
        "                                   T *const c[], int64_t ldc, int64_t batch) {\n"
        "  TORCH_CUDABLAS_CHECK(repro_cublas<T>::gemm_batched(\n"
        "      at::cuda::getCurrentCUDABlasHandle(), repro_cublas_op(transa),\n"
        "      repro_cublas_op(transb), (int)m, (int)n, (int)k, &alpha, a, (int)lda, b, (int)ldb,\n"
        "      &beta, c, (int)ldc, (int)batch));\n"
        "}\n"),
}


def _blas(text: str, m: Match) -> Optional[Edit]:
    """``THFloatBlas_gemm(args)`` -> ``repro_th_gemm<float>(args)``; THC's calls lose their
    leading ``state`` argument. Only a call with the wrapper's argument count is rewritten."""
    name = re.match(r"\w+", m.text).group(0)  # type: ignore[union-attr]
    if name not in BLAS:
        return None
    helper, dtype, count = BLAS[name]
    open_at = text.find("(", m.start)
    close = _close(text, open_at) if open_at >= 0 else None
    if close is None:
        return None
    args = _args(text, open_at, close)
    thc = name.startswith("THCuda")
    if len(args) != count + thc:
        return None
    end = open_at + 1
    if thc:  # drop ``state,`` and the blanks after it; the rest keeps its layout
        end = text.find(",", open_at) + 1
        while end < close and text[end] in " \t\r\n":
            end += 1
        if text[open_at + 1:end].strip().rstrip(",").strip() != args[0]:
            return None
    return m.start, end, f"{helper}<{dtype}>("


def _helpers(text: str) -> List[str]:
    """The helpers the rewritten text calls and does not define yet, in definition order."""
    used = [h for h in HELPERS if h != "repro_cublas" and re.search(rf"\b{h}<", text)]
    out = [h for h in used if not re.search(rf"\bstatic\b[^;{{(]*\b{h}\s*\(", text)]
    if any(h.startswith("repro_thc_") for h in out) and "struct repro_cublas;" not in text:
        out.insert(0, "repro_cublas")
    return out


CODEMODS: Dict[str, Callable[[str, Match], Optional[Edit]]] = {
    "cpp-thcudacheck": _rename("C10_CUDA_CHECK"), "cpp-thcceildiv": _rename("at::ceil_div"),
    "cpp-at-check": _rename("TORCH_CHECK"), "cpp-at-error": _check_false,
    "cpp-at-assert": _rename("TORCH_INTERNAL_ASSERT"), "cpp-at-assertm": _rename("TORCH_CHECK"),
    "cpp-torch-extension-h": _extension_h,
    "cpp-type-scalar-type": _sub(r"\.type\(\)\s*\.\s*scalarType\s*\(\s*\)", ".scalar_type()"),
    "cpp-type-is-cuda": _sub(r"\.type\(\)\s*\.\s*is_cuda\s*\(", ".is_cuda("),
    "cpp-data-ptr": _sub(r"\.data<", ".data_ptr<"),
    "cpp-dispatch-scalar-type": _dispatch, "cpp-thcstate": _thcstate,
    "cpp-thc-malloc": _call(_malloc), "cpp-thc-stream": _call(_stream),
    "cpp-thc-include": _include, "cpp-th-check": _call(_th_check), "cpp-th-blas": _blas,
}
# safe although the rule needs review: a known header mapping; a BLAS wrapper call with its
# own argument count (the helper takes the same arguments)
PROVEN = {"cpp-thc-include", "cpp-th-blas"}


def migrate_cpp(text: str, matches: Sequence[Match],
                decide: Callable[[Match, Optional[bool]], bool]) -> Tuple[str, List[Outcome]]:
    """The new text of one C++/CUDA source and the outcome of every match."""
    lits = _literals(text)
    edits: List[Tuple[Edit, Match]] = []
    outcomes: List[Outcome] = []
    listed: Set[Tuple[str, int]] = set()
    for m in matches:
        if any(s <= m.start < e for s, e in lits):
            continue  # inside a string literal: not code
        fn = CODEMODS.get(m.rule.codemod or "")
        e = fn(text, m) if fn else None
        if e is None:
            if (m.rule.id, m.line) not in listed:  # one review item per rule and line
                listed.add((m.rule.id, m.line))
                outcomes.append(Outcome(m, m.text, "", False, True, note="no automatic rewrite"))
            continue
        apply = decide(m, True if m.rule.codemod in PROVEN else None)
        outcomes.append(Outcome(m, text[e[0]:e[1]], e[2], apply, not apply))
        if apply:
            edits.append((e, m))
    out, last = [], len(text)
    taken: List[Tuple[int, int]] = []
    for (s, e, _new), _m in sorted(edits, key=lambda x: (x[0][0], x[0][1])):
        if any(s < te and ts < e for ts, te in taken):
            continue  # overlaps an earlier edit: the next run picks it up
        taken.append((s, e))
    applied = [edit for edit, _ in edits if (edit[0], edit[1]) in taken]
    for s, e, new in sorted(set(applied), reverse=True):
        out.append(text[e:last])
        out.append(new)
        last = s
    out.append(text[:last])
    new_text = "".join(reversed(out))
    needed = {NEEDS[m.rule.codemod] for _, m in edits if m.rule.codemod in NEEDS}
    helpers = _helpers(new_text) if any(m.rule.codemod == "cpp-th-blas" for _, m in edits) else []
    needed |= {HELPERS[h][0] for h in helpers}
    needed -= set(re.findall(r"#\s*include\s*[<\"]([^>\"]+)[>\"]", new_text))
    if needed:
        new_text = _add_includes(new_text, sorted(needed))
    if helpers:
        new_text = _add_after_includes(new_text, "".join(
            ["// repro migrate (cpp-th-blas): the TH/THC BLAS wrappers were removed in torch 1.11;"
             "\n// these take the same column-major BLAS arguments.\n"]
            + [HELPERS[h][1] for h in helpers]))
    return new_text, outcomes


def _add_includes(text: str, headers: List[str]) -> str:
    """``#include <H>`` after the last ``#include`` line (else at the top)."""
    return _add_after_includes(text, "".join(f"#include <{h}>\n" for h in headers))


def _add_after_includes(text: str, block: str) -> str:
    """``block`` after the last ``#include`` line (else at the top)."""
    last = None
    for m in _INCLUDE.finditer(text):
        last = m
    if last is None:
        return block + text
    nl = text.find("\n", last.end())
    at = len(text) if nl < 0 else nl + 1
    return text[:at] + ("" if nl >= 0 else "\n") + block + text[at:]
