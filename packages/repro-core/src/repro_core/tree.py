"""``repro tree``: an environment's dependency tree, read by pipdeptree (which inspects another
interpreter's environment), with version conflicts marked; text, JSON, dot and mermaid.

    from repro_core.tree import dependency_tree
    t = dependency_tree("/path/to/env/bin/python")   # Tree; t.conflicts, t.text(), t.dot()
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from repro_core.errors import ReproError
from repro_core.snapshot import target_environ


@dataclass(frozen=True)
class Dep:
    name: str
    required: str  # specifier, "" for any version
    installed: Optional[str]  # None: not installed

    @property
    def conflict(self) -> bool:
        """Missing, or installed at a version outside ``required``."""
        if self.installed is None:
            return True
        try:
            return not SpecifierSet(self.required).contains(Version(self.installed),
                                                            prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            return False


@dataclass(frozen=True)
class Node:
    name: str
    version: str
    deps: Tuple[Dep, ...]


@dataclass(frozen=True)
class Tree:
    python: str  # the interpreter inspected
    nodes: Tuple[Node, ...]

    @property
    def conflicts(self) -> Tuple[Tuple[str, Dep], ...]:
        return tuple((n.name, d) for n in self.nodes for d in n.deps if d.conflict)

    def roots(self) -> List[Node]:
        """Nodes nothing else requires (all nodes when every one is in a cycle)."""
        needed = {canonicalize_name(d.name) for n in self.nodes for d in n.deps}
        return [n for n in self.nodes if canonicalize_name(n.name) not in needed] or list(
            self.nodes)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for n, row in zip(self.nodes, d["nodes"]):
            for dep, drow in zip(n.deps, row["deps"]):
                drow["conflict"] = dep.conflict
        d["conflicts"] = [{"package": p, "requires": dep.name, "required": dep.required,
                           "installed": dep.installed} for p, dep in self.conflicts]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Tree":
        d = json.loads(text)
        return cls(python=d["python"], nodes=tuple(
            Node(n["name"], n["version"], tuple(Dep(x["name"], x["required"], x["installed"])
                                                for x in n["deps"])) for n in d["nodes"]))

    # --- renderers ---

    def text(self) -> str:
        """pipdeptree's layout; a conflict ends with ``<- CONFLICT``."""
        by = {canonicalize_name(n.name): n for n in self.nodes}
        out: List[str] = []

        def walk(node: Node, indent: str, seen: Set[str]) -> None:
            for i, d in enumerate(node.deps):
                last = i == len(node.deps) - 1
                mark = "  <- CONFLICT" if d.conflict else ""
                out.append(f"{indent}{'└── ' if last else '├── '}{d.name} [required: "
                           f"{d.required or 'Any'}, installed: {d.installed or 'missing'}]{mark}")
                child = by.get(canonicalize_name(d.name))
                key = canonicalize_name(d.name)
                if child and key not in seen:
                    walk(child, indent + ("    " if last else "│   "), seen | {key})

        for n in self.roots():
            out.append(f"{n.name}=={n.version}")
            walk(n, "", {canonicalize_name(n.name)})
        if self.conflicts:
            out += ["", f"{len(self.conflicts)} conflict(s):"]
            out += [f"  {p} requires {d.name}{d.required or ''}, installed: "
                    f"{d.installed or 'missing'}" for p, d in self.conflicts]
        return "\n".join(out)

    def _edges(self) -> List[Tuple[str, str, Dep]]:
        return [(n.name, d.name, d) for n in self.nodes for d in n.deps]

    def dot(self) -> str:
        """Graphviz source: conflicting edges (and missing packages) in red."""
        out = ["digraph dependencies {", "  node [shape=box];"]
        known = {canonicalize_name(n.name) for n in self.nodes}
        for n in self.nodes:
            out.append(f'  "{canonicalize_name(n.name)}" [label="{n.name}\\n{n.version}"];')
        for a, b, d in self._edges():
            if canonicalize_name(b) not in known:
                out.append(f'  "{canonicalize_name(b)}" [label="{b}\\nmissing", color=red];')
            style = ', color=red, fontcolor=red' if d.conflict else ""
            out.append(f'  "{canonicalize_name(a)}" -> "{canonicalize_name(b)}" '
                       f'[label="{d.required or "any"}"{style}];')
        return "\n".join(out + ["}"])

    def mermaid(self) -> str:
        """A mermaid flowchart: conflicting edges dotted and labelled CONFLICT."""
        def ident(name: str) -> str:
            return canonicalize_name(name).replace("-", "_").replace(".", "_")

        out = ["flowchart TD"]
        known = {canonicalize_name(n.name) for n in self.nodes}
        for n in self.nodes:
            out.append(f'    {ident(n.name)}["{n.name}\\n{n.version}"]')
        for a, b, d in self._edges():
            if canonicalize_name(b) not in known:
                out.append(f'    {ident(b)}["{b}\\n(missing)"]')
            label = (d.required or "any").replace('"', "'")
            arrow = f'-. "{label} CONFLICT" .->' if d.conflict else f'-- "{label}" -->'
            out.append(f"    {ident(a)} {arrow} {ident(b)}")
        return "\n".join(out)


def _pipdeptree() -> List[str]:
    """The pipdeptree command next to this interpreter, else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "pipdeptree")
    if os.access(here, os.X_OK):
        return [here]
    found = shutil.which("pipdeptree")
    if found:
        return [found]
    raise ReproError("pipdeptree is not installed (pip install pipdeptree): repro tree uses it")


def tree_from_pipdeptree(rows: List[Dict[str, Any]], python: str) -> Tree:
    """A Tree from pipdeptree's flat JSON (``--json``)."""
    nodes = []
    for r in rows:
        p = r["package"]
        deps = []
        for d in r.get("dependencies", ()):
            req = d.get("required_version") or ""
            inst = d.get("installed_version")
            deps.append(Dep(d.get("package_name") or d["key"], "" if req == "Any" else req,
                            None if inst in (None, "?") else inst))
        nodes.append(Node(p.get("package_name") or p["key"], p["installed_version"],
                          tuple(deps)))
    return Tree(python=python, nodes=tuple(sorted(nodes, key=lambda n: n.name.lower())))


def dependency_tree(python: Optional[str] = None, timeout: float = 300) -> Tree:
    """The dependency tree of ``python``'s environment (default: this interpreter's)."""
    exe = python or sys.executable
    if os.path.isdir(exe):
        exe = os.path.join(exe, "bin", "python")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise ReproError(f"{exe}: not an executable Python interpreter")
    cmd = _pipdeptree() + ["--python", exe, "--json", "--warn", "silence"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=target_environ())
    except subprocess.TimeoutExpired:
        raise ReproError(f"{exe}: pipdeptree did not finish in {timeout:.0f} s") from None
    try:
        rows = json.loads(r.stdout)
    except ValueError:
        err = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReproError(f"{exe}: pipdeptree failed (exit {r.returncode}): {err}") from None
    return tree_from_pipdeptree(rows, exe)


__all__ = ["Tree", "Node", "Dep", "dependency_tree", "tree_from_pipdeptree"]
