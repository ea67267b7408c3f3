"""``torch.utils.ffi`` extensions (removed in torch 1.0) -> a ``torch.utils.cpp_extension``
port skeleton, for review: a ``build.py`` calling ``create_extension(name, headers=...,
sources=..., with_cuda=..., extra_objects=...)`` is read statically (never run), the C
functions its headers declare are listed, and two NEW files are proposed beside it:

* ``setup_repro.py``: ``CppExtension``/``CUDAExtension`` over the sources (a ``.cu.o`` in
  ``extra_objects`` becomes its ``.cu`` source when that file exists);
* ``bindings_repro.cpp``: one pybind11 ``m.def`` per C function, declared with ``at::Tensor``
  where the C code took a ``TH*Tensor *`` (``THCState *`` parameters dropped).

The C bodies still use the TH C API: porting them to ATen under the same names is the human
part (the skeleton says so); nothing existing is changed.
"""

import ast
import posixpath
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

SETUP = "setup_repro.py"
BINDINGS = "bindings_repro.cpp"
_TH_TENSOR = re.compile(r"\bTH(C|Cuda)?(Float|Double|Long|Int|Byte|Char|Short|Half|Bool)?Tensor\b")
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_PROTO = re.compile(r"(?:^|[;}\n])\s*((?:(?:extern|static|inline|const|unsigned|signed)\s+)*"
                    r"[A-Za-z_]\w*(?:\s*\*+\s*|\s+))([A-Za-z_]\w*)\s*\(([^();{}]*)\)\s*;")


@dataclass(frozen=True)
class Function:
    """A C function an ffi header declares: ``name``, the C return type, parameters as
    (C type, name), and where (header, line)."""

    name: str
    returns: str
    params: Tuple[Tuple[str, str], ...]
    header: str
    line: int


@dataclass(frozen=True)
class FfiExtension:
    """One ``create_extension(...)`` call of a build script (paths relative to the tree)."""

    build: str
    line: int
    col: int
    end_line: int
    end_col: int
    call: str
    name: str
    headers: Tuple[str, ...]
    sources: Tuple[str, ...]
    cuda_sources: Tuple[str, ...]
    with_cuda: bool
    functions: Tuple[Function, ...]

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.build)

    def files(self) -> Dict[str, str]:
        """The new files: tree-relative path -> text."""
        join = posixpath.join
        return {join(self.folder, SETUP): setup_text(self),
                join(self.folder, BINDINGS): bindings_text(self)}


def _strings(node: ast.AST) -> List[str]:
    """String constants of a list/tuple literal (or a single string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [s for e in node.elts for s in _strings(e)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _strings(node.left) + _strings(node.right)
    return []


def _assigned(tree: ast.AST) -> Dict[str, List[str]]:
    """name -> every string a list literal assigned or ``+=``-ed to it holds (all branches)."""
    out: Dict[str, List[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).extend(_strings(node.value))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).extend(_strings(node.value))
    return out


def _truthy(tree: ast.AST, node: Optional[ast.AST]) -> bool:
    """``with_cuda=True`` or a name some branch sets to True."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return bool(node.value)
    if isinstance(node, ast.Name):
        return any(isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                   and n.value.value is True and any(isinstance(t, ast.Name) and t.id == node.id
                                                      for t in n.targets)
                   for n in ast.walk(tree))
    return True  # an expression (torch.cuda.is_available()): the CUDA path exists


def _values(node: Optional[ast.AST], names: Dict[str, List[str]]) -> List[str]:
    if node is None:
        return []
    if isinstance(node, ast.Name):
        return list(dict.fromkeys(names.get(node.id, [])))
    if isinstance(node, ast.ListComp) and isinstance(node.generators[0].iter, ast.Name):
        return list(dict.fromkeys(names.get(node.generators[0].iter.id, [])))
    return list(dict.fromkeys(_strings(node)))


def _norm(folder: str, path: str) -> Optional[str]:
    """A path the script names, relative to the tree (None when it leaves it)."""
    p = posixpath.normpath(posixpath.join(folder, path.replace("\\", "/")))
    return None if p.startswith("../") or p == ".." or posixpath.isabs(p) else p


def parse_prototypes(text: str, header: str) -> List[Function]:
    """The function declarations of a C header (comments and preprocessor lines ignored)."""
    code = _COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    code = re.sub(r"^[ \t]*#[^\n]*", lambda m: " " * len(m.group(0)), code, flags=re.M)
    out = []
    for m in _PROTO.finditer(code):
        returns, name, params = " ".join(m.group(1).split()), m.group(2), m.group(3)
        if name in ("if", "while", "for", "switch", "return", "sizeof"):
            continue
        ps: List[Tuple[str, str]] = []
        for i, p in enumerate(x.strip() for x in params.split(",")):
            if not p or p == "void":
                continue
            pm = re.match(r"(.*?)([A-Za-z_]\w*)\s*$", p)
            ctype, pname = ((" ".join(pm.group(1).split()), pm.group(2))
                            if pm and pm.group(1).strip() else (p, f"arg{i}"))
            ps.append((ctype, pname))
        line = code.count("\n", 0, m.start(2)) + 1
        out.append(Function(name, returns, tuple(ps), header, line))
    return out


def find(build: str, text: str, read: Callable[[str], Optional[str]],
         files: Sequence[str] = ()) -> List[FfiExtension]:
    """The ``create_extension(...)`` calls of the build script ``build`` (tree-relative
    path, its ``text``); ``read(rel)`` gives a tree file's text or None; ``files``: the
    tree's files (a ``X.cu.o`` whose ``X.cu`` does not exist, built by a make.sh from
    another name, stands for the ``.cu`` files beside it)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    names = _assigned(tree)
    folder = posixpath.dirname(build)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "create_extension")
                or (isinstance(node.func, ast.Attribute)
                    and node.func.attr == "create_extension"))):
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        name_node = node.args[0] if node.args else kw.get("name")
        name = _strings(name_node)[0] if name_node is not None and _strings(name_node) else \
            (_values(name_node, names) or ["_ext"])[0]
        headers = [p for p in (_norm(folder, h) for h in _values(kw.get("headers"), names)) if p]
        sources = [p for p in (_norm(folder, s) for s in _values(kw.get("sources"), names)) if p]
        cuda = []
        for obj in _values(kw.get("extra_objects"), names):
            src = _norm(folder, obj[:-2]) if obj.endswith(".o") else None
            if not src or not src.endswith(".cu"):
                continue
            if read(src) is not None:
                cuda.append(src)
            else:
                here = posixpath.dirname(src)
                cuda += [f for f in files if f.endswith(".cu") and posixpath.dirname(f) == here
                         and f not in cuda]
        functions: List[Function] = []
        for h in headers:
            htext = read(h)
            if htext is not None:
                functions += parse_prototypes(htext, h)
        seg = ast.get_source_segment(text, node) or "create_extension(...)"
        out.append(FfiExtension(
            build=build, line=node.lineno, col=node.col_offset,
            end_line=getattr(node, "end_lineno", node.lineno) or node.lineno,
            end_col=getattr(node, "end_col_offset", node.col_offset) or node.col_offset,
            call=seg, name=name, headers=tuple(headers), sources=tuple(sources),
            cuda_sources=tuple(cuda),
            with_cuda=_truthy(tree, kw.get("with_cuda")) or bool(cuda),
            functions=tuple(functions)))
    return out


def _cpp_type(ctype: str) -> Optional[str]:
    """The C++ parameter type of a C one; None for ``THCState *`` (dropped)."""
    if re.search(r"\bTHCState\b", ctype):
        return None
    if _TH_TENSOR.search(ctype):
        return "at::Tensor"
    return ctype


def _rel(ext: FfiExtension, path: str) -> str:
    return posixpath.relpath(path, ext.folder or ".")


def bindings_text(ext: FfiExtension) -> str:
    lines = [
        f"// repro migrate: cpp_extension port skeleton of the torch.utils.ffi extension "
        f"'{ext.name}'",
        f"// ({ext.build}:{ext.line}). Review before use. Each function below is declared with",
        "// ATen types where the C code took TH/THC tensors; port its C body (the TH C API:",
        "// THFloatTensor_data(t) -> t.data_ptr<float>(), THCudaTensor_size(state, t, 0) ->",
        "// t.size(0), THCState_getCurrentStream(state) -> at::cuda::getCurrentCUDAStream())",
        "// to C++ under the same name and signature, then build with setup_repro.py.",
        "#include <torch/extension.h>",
        "",
    ]
    for f in ext.functions:
        params = [(t, n) for t, n in ((_cpp_type(t), n) for t, n in f.params) if t]
        was = ", ".join(f"{t} {n}" for t, n in f.params)
        lines.append(f"// was: {f.returns} {f.name}({was});  ({_rel(ext, f.header)}:{f.line})")
        lines.append(f"{f.returns} {f.name}({', '.join(f'{t} {n}' for t, n in params)});")
    lines += ["", "PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {"]
    for f in ext.functions:
        lines.append(f'  m.def("{f.name}", &{f.name}, "{f.name} (ported from torch.utils.ffi)");')
    lines += ["}", ""]
    return "\n".join(lines)


def setup_text(ext: FfiExtension) -> str:
    kind = "CUDAExtension" if ext.with_cuda else "CppExtension"
    sources = [BINDINGS] + [_rel(ext, s) for s in ext.sources + ext.cuda_sources]
    listed = "".join(f"        {s!r},\n" for s in sources)
    return (
        f"# repro migrate: cpp_extension port skeleton of the torch.utils.ffi extension "
        f"{ext.name!r}\n"
        f"# ({ext.build}:{ext.line}). Review before use: the C sources below still use the TH\n"
        "# C API; port each to ATen (as C++: rename .c -> .cpp here and on disk) first.\n"
        "# Build: python setup_repro.py build_ext --inplace\n"
        "from setuptools import setup\n"
        f"from torch.utils.cpp_extension import BuildExtension, {kind}\n\n"
        "setup(\n"
        f"    name={ext.name.split('.')[-1]!r},\n"
        f"    ext_modules=[{kind}({ext.name!r}, [\n{listed}    ])],\n"
        "    cmdclass={'build_ext': BuildExtension},\n"
        ")\n")
