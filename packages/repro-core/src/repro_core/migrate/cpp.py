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
    "cpp-thc-include": _include, "cpp-th-check": _call(_th_check),
}
PROVEN = {"cpp-thc-include"}  # a known header mapping: safe although the rule needs review


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
    needed -= set(re.findall(r"#\s*include\s*[<\"]([^>\"]+)[>\"]", new_text))
    if needed:
        new_text = _add_includes(new_text, sorted(needed))
    return new_text, outcomes


def _add_includes(text: str, headers: List[str]) -> str:
    """``#include <H>`` after the last ``#include`` line (else at the top)."""
    last = None
    for m in _INCLUDE.finditer(text):
        last = m
    block = "".join(f"#include <{h}>\n" for h in headers)
    if last is None:
        return block + text
    nl = text.find("\n", last.end())
    at = len(text) if nl < 0 else nl + 1
    return text[:at] + ("" if nl >= 0 else "\n") + block + text[at:]
