"""Read a traceback or build log and name the fix: ``diagnose(text, hardware) -> Diagnosis``.

Two kinds of knowledge, both data in the knowledge base, never log texts written here:

* the rules' ``errors`` texts (``kb.rules()``): literal texts, matched after normalising both
  sides (ANSI colours dropped, typographic quotes made ASCII, whitespace collapsed,
  a trailing period optional);
* ``kb.diagnostics()`` (``kb/data/diagnostics.json``): regexes with their own typed fix, and
  links that hand what a line names to the rules' patterns -- the dotted name of an
  ``AttributeError``/``ImportError``/``ModuleNotFoundError`` to the rules' name/call patterns
  (the same values scan matches), an nvcc arch to their string patterns, the source excerpt
  under a compiler error to the cpp patterns. So diagnose and scan agree on what a rule is.

A finding's fixes are typed (``Fix.kind``: pin, migrate, env, arch, install, build), the
first preferred: a rule with a codemod -> ``repro migrate . --rules ID --write``, its bound
-> a pin; a diagnostic's own fix with its template filled from the log and the Hardware
(``{arch_list}``: TORCH_CUDA_ARCH_LIST for the given GPUs, else the GPU the log names).
Findings are ranked errors first, then by priority, then by where they appear.
"""

import json
import os
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence, Set, Tuple

from repro_core import compat, kb
from repro_core.errors import ReproError
from repro_core.hardware import Hardware
from repro_core.kb.records import Diagnostic
from repro_core.kb.rules import Rule

MIGRATE = "repro migrate . --rules {ids} --write"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "`": "`"})
_WARNING = re.compile(r"\b\w*Warning\b|\bwarning\b:?")
_ERROR = re.compile(r"\b\w*(Error|Exception)\b|\berror\b:|\bfatal\b")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(:|$)")
_ERROR_LINE = re.compile(r"(^|\s|:)(fatal error|error|nvcc fatal)\s*:", re.IGNORECASE)
_SOURCE = re.compile(r"^\s*\d+\s*\|\s?(?P<code>.*)$")
_PY_FILE = re.compile(r'^\s*File "[^"]*", line \d+')  # a Python traceback's frame line
_ALIASES = {"np": "numpy"}  # import aliases numpy's own messages use ("`np.NaN` was removed")
# diagnostics that only hold when no Python exception comes before their line (a crash at
# interpreter exit after the program's output ended normally)
_AFTER_CLEAN_OUTPUT = ("exit-crash",)


@dataclass(frozen=True)
class LogLine:
    """One line of the log: its 1-based number and its text (ANSI colours removed)."""

    number: int
    text: str


@dataclass(frozen=True)
class Fix:
    """What to change. ``kind``/``value``: pin (a requirement, "numpy<2"), migrate (rule ids,
    comma-joined; ``rules`` and ``command`` say how), env ("NAME=value"), arch (the
    TORCH_CUDA_ARCH_LIST value), install (a distribution to add to the lock), build (the
    extension to rebuild). ``command``: a shell command that applies it, where there is one."""

    kind: str
    value: str
    command: str = ""
    rules: Tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Finding:
    """One recognised failure: ``id`` a rule id (``source`` "rule") or a diagnostic id
    (``source`` "diagnostic"), what broke and why, ``advice`` (the rule's fix text or the
    fix's note), the typed ``fixes`` (first preferred), the log lines it used, and for a
    diagnostic the rules its link reached."""

    id: str
    source: str
    severity: str  # error | warning
    what: str
    why: str
    advice: str
    fixes: Tuple[Fix, ...]
    lines: Tuple[LogLine, ...]
    rules: Tuple[str, ...] = ()
    priority: int = field(default=50, compare=False)

    @property
    def fix(self) -> Optional[Fix]:
        """The preferred fix, or None when none can be applied automatically."""
        return self.fixes[0] if self.fixes else None


@dataclass(frozen=True)
class Diagnosis:
    """The ranked findings, and the lines diagnose looked at (the traceback's exception lines,
    a build log's first error lines); ``recognised`` is False when nothing was."""

    findings: Tuple[Finding, ...]
    examined: Tuple[LogLine, ...]

    @property
    def recognised(self) -> bool:
        return bool(self.findings)

    @property
    def summary(self) -> str:
        if not self.findings:
            return (f"no known error recognised in the {len(self.examined)} line(s) examined"
                    if self.examined else "no error lines found in the log")
        errors = sum(f.severity == "error" for f in self.findings)
        return (f"{len(self.findings)} finding(s), {errors} error(s); "
                f"first: {self.findings[0].id}")

    def fixes(self, kinds: Optional[Sequence[str]] = None) -> Tuple[Fix, ...]:
        """For a retry loop: each error finding's first fix of one of ``kinds`` (any kind when
        None), in rank order, without repeats (``kinds=("pin",)`` for an exact rebuild)."""
        out: List[Fix] = []
        for f in self.findings:
            fix = next((x for x in f.fixes if kinds is None or x.kind in kinds), None)
            if f.severity == "error" and fix is not None and fix not in out:
                out.append(fix)
        return tuple(out)

    def to_dict(self) -> Dict[str, Any]:
        return {"recognised": self.recognised, "summary": self.summary,
                "findings": [asdict(f) for f in self.findings],
                "examined": [asdict(line) for line in self.examined]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Diagnosis":
        try:
            d = json.loads(text)
            lines = lambda rows: tuple(LogLine(**r) for r in rows)  # noqa: E731
            findings = tuple(
                Finding(**{**f, "fixes": tuple(Fix(**{**x, "rules": tuple(x["rules"])})
                                               for x in f["fixes"]),
                           "lines": lines(f["lines"]), "rules": tuple(f["rules"])})
                for f in d["findings"])
            return cls(findings=findings, examined=lines(d["examined"]))
        except (ValueError, KeyError, TypeError) as e:
            raise ReproError(f"not a Diagnosis JSON: {e}") from None


def normalize(line: str) -> str:
    """A log line as it is matched: no ANSI colours, ASCII quotes, single spaces."""
    return " ".join(_ANSI.sub("", line).translate(_QUOTES).split())


@lru_cache(maxsize=None)
def _rule_texts() -> Tuple[Tuple[Rule, str], ...]:
    """Each rule's error texts as matched: normalised, without a trailing period. Digits stay
    literal: 'compute_35' must not match 'compute_70' (the links cover variable parts)."""
    return tuple((r, normalize(e).rstrip(".")) for r in kb.rules() for e in r.errors)


@lru_cache(maxsize=None)
def _diagnostic_regexes() -> Tuple[Tuple[Diagnostic, Tuple[Pattern[str], ...]], ...]:
    return tuple((d, tuple(re.compile(x) for x in d.regex)) for d in kb.diagnostics())


def _tails(rule: Rule) -> List[str]:
    """The words a traceback shows when this rule's usage failed: the last component of each
    dotted name/call/method/requirement its patterns list."""
    out = []
    for p in rule.patterns:
        if p.kind in ("name", "call", "method", "requirement"):
            out += [v.rstrip(".").rsplit(".", 1)[-1] for v in p.values]
    return [t for t in out if t]


# --- links from what a line names to the rules' patterns --------------------------------------


def _by_name(dotted: str) -> List[Rule]:
    """Python rules whose name/call patterns cover ``dotted`` (the longest such value wins:
    ``torch._six.container_abcs`` -> torch-six-container-abcs, not torch-six)."""
    head, _, rest = dotted.partition(".")
    dotted = ".".join(x for x in (_ALIASES.get(head, head), rest) if x)
    best: Dict[str, int] = {}
    for r in kb.rules(kind="python"):
        for p in r.patterns:
            if p.kind not in ("name", "call"):
                continue
            for v in p.values:
                hit = (dotted.startswith(v) if p.prefix and v.endswith(".")
                       else dotted == v or dotted.startswith(v + "."))
                if hit:
                    best[r.id] = max(best.get(r.id, 0), len(v))
    top = max(best.values(), default=0)
    return [kb.rule(i) for i, n in best.items() if n == top]


def _by_keyword(subject: str) -> List[Rule]:
    """Python rules with a call pattern taking ``keyword`` on a callee named like ``callee``."""
    callee, _, keyword = subject.partition(":")
    name = callee.rsplit(".", 1)[-1]
    return [r for r in kb.rules(kind="python")
            if any(p.kind == "call" and keyword in p.keyword
                   and any(v.rsplit(".", 1)[-1] == name for v in p.values) for p in r.patterns)]


def _by_string(subject: str) -> List[Rule]:
    """Python rules whose string patterns (setup.py flags) match ``subject`` ("compute_35")."""
    return [r for r in kb.rules(kind="python")
            if any(p.kind == "string" and re.search(p.value, subject) for p in r.patterns)]


def _by_reserved(code: str) -> List[Rule]:
    """Python rules whose reserved word the source line Python quoted uses as a keyword
    argument or parameter (``x.cuda(async=True)``)."""
    return [r for r in kb.rules(kind="python")
            if any(p.kind == "reserved" and any(
                re.search(rf"(?<![\w.]){w}\s*=(?!=)", code) for w in p.values)
                for p in r.patterns)]


def _by_source(code: str) -> List[Rule]:
    """C++/CUDA rules whose regex matches the source line a compiler quoted."""
    return [r for r in kb.rules(kind="cpp")
            if any(re.search(p.value, code) for p in r.patterns)]


# --- fixes -----------------------------------------------------------------------------------


def rule_fixes(rule: Rule) -> Tuple[Fix, ...]:
    """A rule's fixes: its codemod as ``repro migrate`` (when it has one), then its bound as a
    pin (the version the old code needs)."""
    out = []
    if rule.codemod:
        out.append(Fix("migrate", rule.id, command=MIGRATE.format(ids=rule.id), rules=(rule.id,),
                       note="review the change" if rule.safety == "needs-review" else ""))
    if rule.bound:
        out.append(Fix("pin", rule.bound))
    return tuple(out)


def arch_list(hardware: Optional[Hardware], text: str = "") -> Optional[str]:
    """TORCH_CUDA_ARCH_LIST for the hardware's GPUs (each mapped through its nvcc, when known,
    by ``compat.best_arch``), else for the GPU a torch warning in the log names; None if
    neither says."""
    ccs = [g.cc for g in hardware.gpus] if hardware else []
    if not ccs:
        ccs = [f"{m[0]}.{m[1]}" for m in
               re.findall(r"with CUDA capability sm_(\d)(\d+)\w* is not compatible", text)]
    if hardware and hardware.nvcc:
        ccs = [compat.best_arch(c, hardware.nvcc)[0] or c for c in ccs]
    return ";".join(sorted(set(ccs), key=compat.parse_cc)) or None


def distribution(module: str) -> Optional[str]:
    """The distribution that provides a missing module: the import map's entry for it, or for
    a parent that is itself a dotted entry (``torch.utils.tensorboard.writer`` ->
    tensorboard); a plain parent (``torch``) is installed already, so it does not count. A
    top-level name the map lacks is its own distribution (the map's convention), unless it
    is a standard-library module; None when nothing can be said."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if n < len(parts) and "." not in name:
            return None
        dist = kb.distribution_for_import(name)
        if dist:
            return dist
    if len(parts) == 1 and module not in kb.import_map().stdlib:
        return module
    return None


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _fill(template: str, fields: Dict[str, Optional[str]]) -> Optional[str]:
    try:
        return template.format_map(_Fields({k: v for k, v in fields.items() if v is not None}))
    except (KeyError, IndexError):
        return None


# --- the scan of the log ---------------------------------------------------------------------


class _Collector:
    """Findings by id: the first one's texts and fixes (the higher priority's), all lines."""

    def __init__(self) -> None:
        self.found: Dict[str, Finding] = {}
        self.lines: Dict[str, set] = {}
        self.errors: set = set()

    def add(self, f: Finding) -> None:
        old = self.found.get(f.id)
        if old is None or f.priority > old.priority:
            self.found[f.id] = f
        self.lines.setdefault(f.id, set()).update(f.lines)
        if f.severity == "error":
            self.errors.add(f.id)

    def findings(self) -> List[Finding]:
        out = []
        for fid, f in self.found.items():
            rules = tuple(dict.fromkeys(f.rules))
            out.append(Finding(f.id, f.source, "error" if fid in self.errors else "warning",
                               f.what, f.why, f.advice, f.fixes,
                               tuple(sorted(self.lines[fid], key=lambda x: x.number)), rules,
                               f.priority))
        return out


def _severity(line: str) -> str:
    return "warning" if _WARNING.search(line) and not _ERROR.search(line) else "error"


def _rule_finding(rule: Rule, lines: Iterable[LogLine], severity: str, priority: int,
                  evidence: str) -> Finding:
    when = ", ".join(f"{k} in {v}" for k, v in (("deprecated", rule.deprecated),
                                                  ("removed", rule.removed),
                                                  ("introduced", rule.introduced)) if v)
    why = f"rule {rule.id} ({rule.library}{', ' + when if when else ''}), matched by {evidence}"
    return Finding(rule.id, "rule", severity, rule.message, why, rule.fix, rule_fixes(rule),
                   tuple(lines), priority=priority + (0 if severity == "error" else -50))


def _context(norm: List[str], i: int) -> str:
    """The traceback around line ``i`` (from its 'Traceback' header) and the 3 lines after."""
    start = max(0, i - 5)
    for j in range(i, max(-1, i - 300), -1):
        if norm[j].startswith("Traceback (most recent call last)"):
            start = j
            break
    return "\n".join(norm[start:i + 4])


def _innermost_frame(norm: List[str], i: int) -> str:
    """The last ``File "...", line N`` line of the traceback above line ``i`` ("" if none)."""
    for j in range(i - 1, max(-1, i - 40), -1):
        if norm[j].startswith('File "'):
            return norm[j]
    return ""


def _narrow(rules: List[Rule], context: str) -> List[Rule]:
    """Rules sharing one error text: keep those whose names the traceback shows, if any."""
    if len(rules) < 2:
        return rules
    seen = [r for r in rules
            if any(re.search(rf"(?<![\w]){re.escape(t)}(?![\w])", context) for t in _tails(r))]
    return seen or rules


def _excerpt(logl: List[LogLine], i: int) -> Optional[Tuple[int, str]]:
    """The source line a compiler quotes under its message on line ``i`` (``  12 | code``):
    its index and the code, or None."""
    for j in range(i + 1, min(i + 4, len(logl))):
        m = _SOURCE.match(logl[j].text)
        if m:
            return j, m.group("code")
    return None


def _python_excerpt(logl: List[LogLine], i: int) -> Optional[Tuple[int, str]]:
    """The source line Python quotes above a ``SyntaxError`` on line ``i`` (under its
    ``File "...", line N``, then the carets): its index and the code, or None."""
    for j in range(i - 1, max(-1, i - 4), -1):
        if _PY_FILE.match(logl[j].text) and j + 1 < i:
            return j + 1, logl[j + 1].text.strip()
    return None


def _examined(lines: List[LogLine]) -> Tuple[LogLine, ...]:
    """The lines a reader would look at: the last exception lines of tracebacks, then the
    first error lines of a build log; else the last non-empty lines."""
    exc = [x for x in lines if _EXCEPTION.match(x.text)][-3:]
    err = [x for x in lines if _ERROR_LINE.search(x.text) and x not in exc][:5]
    picked = sorted(set(exc + err), key=lambda x: x.number)
    return tuple(picked or [x for x in lines if x.text.strip()][-5:])


def diagnose(text: str, hardware: Optional[Hardware] = None,
             repo: Optional[str] = None) -> Diagnosis:
    """The ranked findings for a traceback or build log (see the module docstring). With
    ``repo`` (the repository the log ran from), a missing module that is one of its own
    modules is not proposed for installation."""
    raw = text.splitlines()
    norm = [normalize(x) for x in raw]
    logl = [LogLine(i + 1, _ANSI.sub("", x).rstrip()) for i, x in enumerate(raw)]
    fields = {"arch_list": arch_list(hardware, "\n".join(norm))}
    out = _Collector()
    first_exception = next((i for i, x in enumerate(norm) if _EXCEPTION.match(x)), len(norm))
    for i, line in enumerate(norm):
        if not line:
            continue
        sev = _severity(line)
        hits = list(dict.fromkeys(r for r, t in _rule_texts() if t in line))
        if sev != "error" and any(r.source == "cpp" for r in hits):
            # a C++ rule whose pattern misses the source line the compiler quoted (a generic
            # deprecation warning on other code) is not what this line is about; an error
            # text is specific, and may be quoted inside a torch macro (AT_DISPATCH in 2.14)
            code = _excerpt(logl, i)
            hits = [r for r in hits if r.source != "cpp" or code is None
                    or any(re.search(p.value, code[1]) for p in r.patterns)]
        if any(r.source == "python" for r in hits):
            # likewise a Python rule whose names the traceback never shows (a generic CUDA
            # error raised by other code than the rule's call) is not what this line is about
            ctx = _context(norm, i)
            if ctx.startswith("Traceback (most recent call last)"):
                hits = [r for r in hits if r.source != "python" or not _tails(r)
                        or any(re.search(rf"(?<![\w]){re.escape(t)}(?![\w])", ctx)
                               for t in _tails(r))]
        frame = _innermost_frame(norm, i) if len(hits) > 1 else ""
        for r in _narrow(hits, _context(norm, i)) if len(hits) > 1 else hits:
            # of rules sharing the text, the one whose name the failing frame shows leads
            # (timm 0.3.2's torch._six import fails inside site-packages/timm/)
            lead = any(re.search(rf"\b{re.escape(t)}\b", frame) for t in _tails(r))
            out.add(_rule_finding(r, [logl[i]], sev, 70 + lead, "its error text"))
        for d, regexes in _diagnostic_regexes():
            if d.id in _AFTER_CLEAN_OUTPUT and first_exception < i:
                continue
            for rx in regexes:
                m = rx.search(line)
                if m:
                    _apply(d, m, i, norm, logl, fields, out, sev, repo)
                    break
    ranked = sorted(out.findings(),
                    key=lambda f: (f.severity != "error", -f.priority, f.lines[0].number))
    return Diagnosis(findings=tuple(ranked), examined=_examined(logl))


def _apply(d: Diagnostic, m: "re.Match[str]", i: int, norm: List[str], logl: List[LogLine],
           fields: Dict[str, Optional[str]], out: _Collector, line_severity: str = "error",
           repo: Optional[str] = None) -> None:
    """Record what diagnostic ``d`` (matched as ``m`` on line ``i``) finds: the rules its link
    reaches, and its own finding when it has one. Matched on a warning line (torch's
    ``UserWarning: CUDA initialization: Found no NVIDIA driver``), it is a warning."""
    severity = d.severity if line_severity == "error" else "warning"
    groups: Dict[str, Optional[str]] = {**fields, **m.groupdict()}
    if groups.get("name"):
        groups["distribution"] = distribution(groups["name"] or "")
    lines = [logl[i]]
    linked: List[Rule] = []
    if d.link in ("source", "syntax"):
        code = _excerpt(logl, i) if d.link == "source" else _python_excerpt(logl, i)
        if code:
            lines.append(logl[code[0]])
            linked = (_by_source if d.link == "source" else _by_reserved)(code[1])
    elif d.link:
        subject = _fill(d.subject or "", groups)
        if subject:
            finder = {"name": _by_name, "keyword": _by_keyword, "arch": _by_string}[d.link]
            linked = finder(subject)
            if len(linked) > 1:
                linked = _narrow(linked, _context(norm, i))
    evidence = {"name": "the name it reports", "keyword": "the keyword it reports",
                "arch": "the architecture it reports", "source": "the source line quoted",
                "syntax": "the source line quoted"}
    # a rule the link reaches explains the line better than the diagnostic, unless the
    # diagnostic has a fix of its own (an arch list): then it leads and the rule follows. A
    # name a rule knows is that rule's breakage (a removed API), not a missing distribution.
    alone = bool(linked) and (d.fix is None or d.link == "name")
    for r in linked:
        out.add(_rule_finding(r, lines, severity, d.priority + (5 if alone else -1),
                              evidence.get(d.link or "", "")))
    if alone or d.link in ("source", "syntax"):
        return
    fix = None
    if d.fix:
        value = _fill(d.fix.value, groups)
        if value:
            note = _fill(d.fix.note or "", groups) or ""
            if d.fix.kind == "install" and not kb.distribution_for_import(groups["name"] or ""):
                note = (f"{groups['name']} is not in the import map, so taken as its own "
                        "distribution; if it is the repository's own module, run from its root")
            fix = Fix(d.fix.kind, value, command=_command(d.fix.kind, value), note=note)
            name = groups.get("name") or ""
            if d.fix.kind == "install" and repo and _own_file(repo, name):
                fix = None
                groups["own"] = (f"{name} is the repository's own module (in "
                                 f"{_own_file(repo, name)}), not a distribution: run the code "
                                 "from the folder that holds it, or put that folder on PYTHONPATH")
            elif d.fix.kind == "install" and repo and own_extension(repo, name):
                fix = None
                where = own_extension(repo, name)
                groups["own"] = (f"{name} is the repository's own extension, declared in "
                                 f"{where}/setup.py and not built: build it there (python "
                                 "setup.py build_ext --inplace); the build log says why it "
                                 "failed")
    if d.link and not linked and d.fix is None:
        return  # a link that reached no rule, and nothing of its own to say
    what = _fill(d.what, groups) or d.what
    why = _fill(d.why, groups) or d.why
    advice = fix.note if fix else (groups.get("own") or _advice(d, groups))
    rules = tuple(r.id for r in linked)
    fixes = (fix,) if fix else ()
    fixes += tuple(x for r in linked for x in rule_fixes(r) if x.kind == "migrate")
    out.add(Finding(d.id, "diagnostic", severity, what, why, advice, fixes, tuple(lines),
                    rules, priority=d.priority))


def own_module(repo: str, name: str) -> str:
    """Where ``name`` (a top-level module name) is a module or package of the repository at
    ``repo`` -- at its top level or beside any of its Python files, or an extension a setup.py
    of it declares (built or not, `own_extension`): the folder, relative ("." for the top); ""
    when it is not."""
    return _own_file(repo, name) or own_extension(repo, name)


def _own_file(repo: str, name: str) -> str:
    top = name.split(".")[0]
    if not top.isidentifier():
        return ""
    for dirpath, dirnames, files in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if f"{top}.py" in files or any(f.startswith(top + ".") and f.endswith((".so", ".pyd"))
                                       for f in files) or (
                top in dirnames and any(f.endswith(".py")
                                        for f in os.listdir(os.path.join(dirpath, top)))):
            return os.path.relpath(dirpath, repo).replace(os.sep, "/")
    return ""


def own_extension(repo: str, name: str) -> str:
    """The folder (relative) of the first setup.py in ``repo`` that declares an extension whose
    top-level module is ``name``'s (DCNv2's ``_ext``, ``model._C``), read, never run; ""."""
    top = name.split(".")[0]
    if not top.isidentifier():
        return ""
    for dirpath, dirnames, files in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = os.path.relpath(dirpath, repo)
        if "setup.py" in files and top in _extension_names(repo, os.path.join(rel, "setup.py")):
            return rel.replace(os.sep, "/")
    return ""


# Extension("name", ...), CUDAExtension(name="pkg._C", ...), DCNv2's `extension("_ext", ...)`
# (CppExtension or CUDAExtension chosen at run time), ffi's create_extension("_ext.nms", ...)
_EXT_NAME = re.compile(
    r"""\b\w*[Ee]xtension\s*\(\s*(?:name\s*=\s*)?["']([\w.]+)["']""")


def _extension_names(repo: str, setup: str) -> Set[str]:
    """The top-level module names of the extensions a setup.py declares (read inside ``repo``
    only, never run)."""
    from repro_core.fsutil import SkippedFile, read_text_inside

    try:
        text = read_text_inside(repo, os.path.normpath(setup), 1 << 20)
    except (OSError, ReproError, SkippedFile):
        return set()
    return {m.split(".")[0] for m in _EXT_NAME.findall(text)}


def _advice(d: Diagnostic, groups: Dict[str, Optional[str]]) -> str:
    if d.advice:
        return _fill(d.advice, groups) or d.advice
    if d.fix and d.fix.kind == "arch":
        return ("pass the hardware (repro diagnose --gpu CC) to get the TORCH_CUDA_ARCH_LIST "
                "value")
    if d.fix and d.fix.kind == "install":
        return (f"{groups.get('name')} is in the standard library or a submodule of an "
                "installed package: check the Python version and the package's version")
    return d.fix.note if d.fix and d.fix.note else ""


def _command(kind: str, value: str) -> str:
    if kind == "env":
        name, _, val = value.partition("=")
        return f"export {name}={val}"
    if kind == "arch":
        return f"export TORCH_CUDA_ARCH_LIST='{value}'"
    if kind == "install":
        return f"pip install {value}"
    return ""


__all__ = ["Diagnosis", "Finding", "Fix", "LogLine", "arch_list", "diagnose", "distribution",
           "normalize", "own_extension", "own_module", "rule_fixes"]
