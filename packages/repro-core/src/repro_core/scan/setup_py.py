"""setup.py, read with ``ast`` only: it is never executed (it may do anything)."""

import ast
import os
from typing import Dict, List, Optional

from repro_core.scan.collector import Collector
from repro_core.scan.reqs import Spec, parse_requirement

_EXT_CALLS = {"CUDAExtension": "cuda", "CppExtension": "cpp", "Extension": "cpp",
              "create_extension": "cuda"}


def _strings(node: ast.AST, names: Dict[str, ast.AST]) -> Optional[List[str]]:
    """A literal list/tuple of strings (following one level of module-level names)."""
    if isinstance(node, ast.Name) and node.id in names:
        node = names[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        out = [e.value for e in node.elts
               if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return out
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    return None


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def read(col: Collector, rel: str, text: str) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        col.warnings.append(f"{rel}: does not parse as Python 3; its requirements were not read")
        return
    names: Dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
    folder = os.path.dirname(rel)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = _name(node.func)
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        if fn == "setup":
            for key in ("install_requires", "setup_requires"):
                for item in _strings(kw[key], names) or [] if key in kw else []:
                    if not col.charge(rel):
                        return
                    for s in parse_requirement(item):
                        col.spec(s, rel, node.lineno, "setup.py", f"setup.py {key}")
            if "python_requires" in kw:
                for item in _strings(kw["python_requires"], names) or []:
                    col.spec(Spec("python", item.replace(" ", "")), rel, node.lineno, "setup.py",
                             "setup.py python_requires")
        elif fn in _EXT_CALLS:
            srcs = _strings(kw["sources"], names) if "sources" in kw else (
                _strings(node.args[1], names) if len(node.args) > 1 else None)
            kind = _EXT_CALLS[fn]
            if kind == "cpp" and srcs and any(s.endswith((".cu", ".cuh")) for s in srcs):
                kind = "cuda"
            col.ext_builds[folder] = f"{rel}:{node.lineno} {fn} ({kind})"
