"""``repro plan``: ranked environments (python, torch, torchvision, CUDA, timm, numpy) that can
run a scanned repository on given hardware.

``plan(report, hardware)`` is pure: a scan report and a ``Hardware`` (probed or stated) in, a
``Plan`` out. ``plan_path`` reads or makes the report and probes the hardware when not given.

"exact" candidates keep the stated versions: they satisfy every constraint of the scan (stated
pins and API bounds) on a torch build the GPU can run, and a torch that is not pinned is kept
within the releases published by the repository's reference date (``exact_torch``, see
docs/plan.md).
"forward-port" candidates take the oldest torch on PyPI the hardware supports at or above the
repository's lower bounds and the exact range's, on the oldest Python it allows, and list the
rule ids whose code must be migrated. A build the GPU cannot run (an H100 with a cu113 wheel)
is never proposed; a build the knowledge base only assumes exists is never ranked first.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from repro_core import compat, kb
from repro_core.errors import ReproError
from repro_core.hardware import Hardware
from repro_core.scan.collector import PRIORITY
from repro_core.scan.combine import satisfiable
from repro_core.scan.report import Evidence, ScanReport

MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Candidate:
    python: str
    torch: str
    torchvision: str
    cuda: Optional[str]
    timm: Optional[str]
    numpy: Optional[str]
    strategy: str  # "exact" | "forward-port"
    migrations: Tuple[str, ...]
    reasons: Tuple[str, ...]
    torch_build: str = ""  # e.g. "1.10.2+cu113"
    assumed: str = ""  # why the kb only assumes this build exists; "" when it was seen


@dataclass(frozen=True)
class Plan:
    path: str
    gpu: Optional[str]  # compute capability, None = no GPU
    gpu_name: str
    driver: Optional[str]
    candidates: Tuple[Candidate, ...]
    notes: Tuple[str, ...] = field(default_factory=tuple)
    # package -> the statement that decided its constraint ("requirements.txt:1 torch==1.8.1
    # (requirements)"): the most trusted pin, else upper bound, else lower bound
    decided_by: Dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        d = json.loads(text)
        cands = tuple(Candidate(**{**c, "migrations": tuple(c["migrations"]),
                                   "reasons": tuple(c["reasons"])}) for c in d["candidates"])
        return cls(path=d["path"], gpu=d.get("gpu"), gpu_name=d.get("gpu_name", ""),
                   driver=d.get("driver"), candidates=cands, notes=tuple(d.get("notes", ())),
                   decided_by=dict(d.get("decided_by", {})))


# --- specifier helpers ---------------------------------------------------------------------


def _spec(s: str) -> SpecifierSet:
    try:
        return SpecifierSet(s or "")
    except InvalidSpecifier:
        return SpecifierSet("")


def _ok(spec: SpecifierSet, version: Optional[str]) -> bool:
    if version is None:
        return True
    try:
        return spec.contains(Version(version.replace(".*", ".0").split("+")[0]), prereleases=True)
    except InvalidVersion:
        return False


def _floors(spec: SpecifierSet) -> SpecifierSet:
    """Only the lower bounds (``==X`` becomes ``>=X``) and the exclusions (``!=X``, versions
    the repository says do not work): what a forward-port must keep."""
    keep = []
    for s in spec:
        if s.operator in (">=", ">", "!="):
            keep.append(str(s))
        elif s.operator in ("==", "~=", "==="):
            keep.append(">=" + s.version.replace(".*", ""))
    return _spec(",".join(keep))


def _pin(spec: SpecifierSet) -> Optional[str]:
    """The pinned version: ``==1.19.2``, or a conda patch pin ``==1.19.2.*`` (``numpy=1.19.2``);
    ``==1.19.*`` pins a series, not a version."""
    for s in spec:
        if s.operator not in ("==", "==="):
            continue
        if not s.version.endswith(".*"):
            return s.version
        if s.version.count(".") >= 3:
            return s.version[:-2]
    return None


def _series_ok(spec: SpecifierSet, series: str) -> bool:
    """Does ``spec`` admit some release of ``series``? The kb knows Python and CUDA by minor
    ("3.8", "11.0"); repositories state patches (``python=3.8.5``, ``cudatoolkit=11.0.221``,
    "Python 3.8.5"), which a minor satisfies when one of its patches does."""
    if not str(spec):
        return True
    try:
        return satisfiable("", spec & SpecifierSet(f"=={series}.*"), [series])
    except InvalidSpecifier:
        return False


# --- knowledge-base choices ----------------------------------------------------------------


def _torch_versions(row: kb.TorchRelease, spec: SpecifierSet) -> List[str]:
    """Known versions of one torch minor release satisfying ``spec``: those on PyPI newest
    first, then those only on a separate index (1.8.2 LTS), which a stated 1.8.1 never
    yields to."""
    vs = set(row.patch_versions())
    pin = _pin(spec)
    if pin and Version(pin).release[:2] == Version(row.version).release[:2] and not any(
            Version(v) == Version(pin) for v in vs):  # "1.5" is 1.5.0: keep the kb's spelling
        vs.add(pin)
    return sorted((v for v in vs if _ok(spec, v)),
                  key=lambda v: (row.on_pypi(v), Version(v)), reverse=True)


OLDEST_LOCKABLE = Version("3.6")  # `uv pip compile --python-version 3.5`: "Python <3.6 is not
# supported" (uv 0.13): a forward-port, which is meant to run, tries older Pythons last


def _pythons(torch_version: str, oldest: bool = False) -> List[str]:
    """Python minors with official wheels for this torch, newest first; ``oldest``: oldest
    first, those uv cannot lock for (< 3.6) last."""
    pys = [p for p in kb.python_versions() if compat.python_ok(torch_version, p)[0]]
    if not oldest:
        return pys[::-1]
    return sorted(pys, key=lambda p: (Version(p) < OLDEST_LOCKABLE, Version(p)))


def _soft(spec: SpecifierSet) -> SpecifierSet:
    """The bounds of a specifier without its pins (what a forward-port tries to keep)."""
    return _spec(",".join(str(s) for s in spec if s.operator not in ("==", "===")))


def _timm_choice(spec: SpecifierSet, soft: SpecifierSet, torch_version: str,
                 python: str, oldest: bool = False) -> Tuple[Optional[str], str]:
    good = []
    for r in kb.timm_releases():
        v = r.version
        ok, why = compat.timm_torch_ok(v, torch_version)
        if ok is False or Version(python) < Version(r.python_min):
            continue
        good.append((v, why))
    pin = _pin(spec)
    if pin:
        ok, why = compat.timm_torch_ok(pin, torch_version)
        return (pin, why) if ok is not False else (None, why)
    for candidates in ([g for g in good if _ok(spec, g[0]) and _ok(soft, g[0])],
                       [g for g in good if _ok(spec, g[0])]):
        if candidates:
            return candidates[0] if oldest else candidates[-1]
    return None, f"no known timm release satisfies {spec} with torch {torch_version}"


def _numpy_choice(spec: SpecifierSet, soft: SpecifierSet, torch_version: str,
                  python: str) -> Tuple[Optional[str], str]:
    def fits(v: str) -> bool:
        rng = compat.numpy_python_range(v)
        py_ok = rng is None or Version(rng[0]) <= Version(python) <= Version(rng[1])
        return py_ok and compat.numpy_abi_ok(torch_version, v)[0]

    pin = _pin(spec)
    if pin:
        return (pin, compat.numpy_abi_ok(torch_version, pin)[1]) if fits(pin) else (
            None, f"numpy {pin} does not fit torch {torch_version} / Python {python}")
    rows = [r.version for r in kb.numpy_releases()]
    for cands in ([v for v in rows if _ok(spec, v) and _ok(soft, v) and fits(v)],
                  [v for v in rows if _ok(spec, v) and fits(v)]):
        if cands:
            return cands[-1], compat.numpy_abi_ok(torch_version, cands[-1])[1]
    return None, f"no numpy release satisfies {spec} with torch {torch_version} on Python {python}"


# --- planning ------------------------------------------------------------------------------


@dataclass
class _Ctx:
    report: ScanReport
    cons: Dict[str, SpecifierSet]
    gpu: Optional[Tuple[int, int]]
    driver: Optional[str]
    cuda_ext: bool
    uses_timm: bool
    uses_numpy: bool
    rejections: List[str]
    exact_torch: SpecifierSet = field(default_factory=SpecifierSet)  # what exact keeps
    decided_by: Dict[str, str] = field(default_factory=dict)


def _pick_variant(ctx: _Ctx, row: kb.TorchRelease, version: str,
                  want_cuda: SpecifierSet) -> Tuple[Optional[str], List[str], str]:
    """(variant, reasons, why-not): the CUDA build of this torch to use on the hardware."""
    if ctx.gpu is None:
        why = ["no GPU: the CPU build"]
        if ctx.cuda_ext:
            why.append("the repository has CUDA extensions, which need a GPU to run")
        return "cpu", why, ""
    ok: List[Tuple[Tuple[int, Version], str, List[str]]] = []
    fails = []
    for variant, arch in row.arch_lists_at(version).items():
        cu = compat.variant_cuda(variant)
        runs = compat.can_run(arch, ctx.gpu)
        if not runs.ok:
            fails.append(f"{version}+{variant}: {runs.reason}")
            continue
        if runs.via == "ptx":  # PTX JIT only: bundled cuBLAS/cuDNN may lack kernels
            fails.append(f"{version}+{variant}: no SASS for the GPU, only PTX to JIT (not "
                         f"proposed: slow first launch, its CUDA libraries may lack kernels)")
            continue
        reasons = [f"{variant}: {runs.reason}"]
        if ctx.driver:
            dok, dwhy = compat.driver_ok(ctx.driver, cu)
            if not dok:
                fails.append(f"{version}+{variant}: {dwhy}")
                continue
            reasons.append(dwhy)
        if ctx.cuda_ext:
            try:
                arch_cc, awhy = compat.best_arch(ctx.gpu, cu)
            except ReproError as e:
                arch_cc, awhy = None, str(e)
            if arch_cc is None:
                fails.append(f"{version}+{variant}: extensions cannot be compiled: {awhy}")
                continue
            reasons.append(f"extensions: {awhy}")
        assumed = variant in row.assumed_variants
        if assumed:
            reasons.append(f"{variant}: assumed, not seen ({row.uncertain or 'inferred'})")
        # the stated CUDA first, then a build the kb has seen, then the lowest CUDA
        ok.append(((not _series_ok(want_cuda, cu), assumed, Version(cu)), variant, reasons))
    if not ok:
        return None, [], "; ".join(fails[:2]) or f"torch {version}: no CUDA build known"
    ok.sort(key=lambda t: t[0])
    return ok[0][1], ok[0][2], ""


def _candidate(ctx: _Ctx, row: kb.TorchRelease, strategy: str) -> Optional[Candidate]:
    cons = ctx.cons
    exact = strategy == "exact"
    tspec = ctx.exact_torch if exact else _forward_floors(ctx)
    versions = _torch_versions(row, tspec)
    if not exact:  # a forward-port is meant to be locked and run: PyPI wheels only
        versions = [v for v in versions if row.on_pypi(v)]
    if not versions:
        return None
    version = versions[0]
    want_cuda = cons["cuda"] if exact else SpecifierSet("")
    variant, hw_reasons, why_not = _pick_variant(ctx, row, version, want_cuda)
    if variant is None:
        ctx.rejections.append(why_not)
        return None
    cuda = compat.variant_cuda(variant) if variant != "cpu" else None
    reasons = [_torch_reason(ctx, version, exact)] + hw_reasons
    if exact and cuda and str(cons["cuda"]) and not _series_ok(cons["cuda"], cuda):
        reasons.append(f"CUDA {cuda} instead of the stated {cons['cuda']} (that build cannot run "
                       f"here or does not exist)")
    pyspec = cons["python"] if exact else _floors(cons["python"])
    soft_py = cons["python"]
    chosen = None
    for py in _pythons(version, oldest=not exact):  # a forward-port: the oldest Python allowed
        if not _series_ok(pyspec, py):
            continue
        timm = timm_why = numpy = np_why = None
        if ctx.uses_timm:
            timm, timm_why = _timm_choice(cons["timm"] if exact else _floors(cons["timm"]),
                                          cons["timm"] if exact else _soft(cons["timm"]),
                                          version, py, oldest=not exact)
            if timm is None:
                continue
        if ctx.uses_numpy:
            numpy, np_why = _numpy_choice(cons["numpy"] if exact else _floors(cons["numpy"]),
                                          cons["numpy"] if exact else _soft(cons["numpy"]),
                                          version, py)
            if numpy is None:
                continue
        score = (_series_ok(soft_py, py), timm is None or _ok(_soft(cons["timm"]), timm),
                 numpy is None or _ok(_soft(cons["numpy"]), numpy))
        if chosen is None or score > chosen[0]:
            chosen = (score, py, timm, timm_why, numpy, np_why)
        if all(score):
            break
    if chosen is None:
        ctx.rejections.append(f"torch {version}: no Python/timm/numpy combination satisfies "
                              f"python{cons['python']} timm{cons['timm']} numpy{cons['numpy']}")
        return None
    _, py, timm, timm_why, numpy, np_why = chosen
    reasons.append(f"Python {py}: " + compat.python_ok(version, py)[1])
    reasons += [w for w in (timm_why, np_why) if w]
    tv = compat.torchvision_for(version)
    if exact and str(cons["torchvision"]) and not _ok(cons["torchvision"], tv):
        ctx.rejections.append(f"torch {version} pairs with torchvision {tv}, not "
                              f"{cons['torchvision']}")
        return None
    chosen_versions = {"torch": version, "torchvision": tv, "python": py, "cuda": cuda,
                       "timm": timm, "numpy": numpy}
    migrations = _migrations(ctx.report, chosen_versions)
    if exact and any(_hard(ctx.report, m) for m in migrations):
        return None
    if migrations:
        reasons.append("migrate: " + ", ".join(migrations))
    assumed = (row.uncertain or "assumed") if variant in row.assumed_variants else ""
    return Candidate(python=py, torch=version, torchvision=tv, cuda=cuda, timm=timm, numpy=numpy,
                     strategy=strategy, migrations=tuple(migrations), reasons=tuple(reasons),
                     torch_build=f"{version}+{variant}", assumed=assumed)


def _forward_floors(ctx: _Ctx) -> SpecifierSet:
    """What a forward-port keeps: the lower bounds of the scan's torch and of the exact range
    (a forward-port is newer than the code, never older than the torch it was written for)."""
    return _floors(ctx.cons["torch"]) & _floors(ctx.exact_torch)


def _hard(report: ScanReport, rule_id: str) -> bool:
    from repro_core.rules import by_id

    try:
        return by_id(rule_id).hard
    except ReproError:
        return False


def _torch_reason(ctx: _Ctx, version: str, exact: bool) -> str:
    spec = ctx.cons["torch"]
    if exact:
        by = ctx.decided_by.get("torch")
        return (f"torch {version} satisfies the scan's torch{spec or ' (any)'}"
                + (f" (decided by {by})" if by else ""))
    floors = _forward_floors(ctx)
    kept = "lower bounds and exclusions" if "!=" in str(floors) else "lower bounds"
    return (f"torch {version}: forward-port (keeps only the {kept} "
            f"{floors or '(none)'} of the scan's torch{spec or ' (any)'}"
            f"{' and of the exact range' if str(ctx.exact_torch) != str(spec) else ''})")


def _migrations(report: ScanReport, versions: Dict[str, Optional[str]]) -> List[str]:
    """Rule ids detected in the repository whose bound excludes the chosen versions."""
    out: List[str] = []
    for f in report.findings:
        if not f.bound or f.rule in out:
            continue
        req = Requirement(f.bound)
        v = versions.get(req.name.lower())
        if v is not None and not _ok(req.specifier, v):
            out.append(f.rule)
    return out


def _hardware_notes(hardware: Hardware) -> List[str]:
    """What the plan should say about probed hardware: no GPU found, or which GPU of several."""
    g = hardware.gpu
    if not hardware.probed:
        return []
    if g is None:
        return [f"--gpu auto found no GPU ({hardware.reason or 'none'}): planning CPU builds; "
                f"give --gpu CC or NAME to plan for another machine"]
    if len(hardware.gpus) > 1:
        return [f"planning for GPU 0 ({g.name}) of {len(hardware.gpus)}"]
    return []


def plan(report: ScanReport, hardware: Hardware, limit: int = MAX_CANDIDATES) -> Plan:
    """Ranked candidates for ``report`` on ``hardware`` (its first GPU, none: CPU builds, and
    its driver when known). Pure: no probing, no scanning."""
    report.check(report.path)
    notes = _hardware_notes(hardware)
    g = hardware.gpu
    cc = compat.parse_cc(g.cc) if g else None
    gpu_name = g.name if g else ""
    driver = hardware.driver
    cons = {k: _spec(report.constraints.get(k, "")) for k in
            ("torch", "torchvision", "cuda", "python", "timm", "numpy")}
    imported = {i.distribution.lower() for i in report.imports} | {
        r.name for r in report.requirements}
    rng = exact_torch(report)
    decided = decided_by(report)
    if rng.by:
        decided["torch"] = "; ".join(x for x in (decided.get("torch"), rng.by) if x)
    ctx = _Ctx(report, cons, cc, driver,
               cuda_ext=any(e.kind == "cuda" for e in report.extensions),
               uses_timm="timm" in imported or bool(str(cons["timm"])),
               uses_numpy="numpy" in imported or bool(str(cons["numpy"])), rejections=[],
               exact_torch=_spec(rng.spec), decided_by=decided)
    rows = sorted(kb.torch_releases(), key=lambda r: Version(r.version))
    oldest = rows[0].version
    pin = _pin(cons["torch"])
    if pin and Version(pin) < Version(oldest):
        notes.append(f"torch {pin} is older than the knowledge base's oldest release ({oldest}): "
                     f"no exact candidate; forward-port only")
    elif rng.note:
        notes.append(rng.note)
    exact = [c for c in (_candidate(ctx, r, "exact") for r in reversed(rows)) if c]
    # a torch pin a more trusted source outranked is still what the repository states: its
    # newest exact candidate comes second
    dropped: List[Candidate] = []
    for alt in dropped_pins(report):
        actx = replace(ctx, cons={**cons, "torch": _spec(alt.spec)}, exact_torch=_spec(alt.spec),
                       decided_by={**decided, "torch": alt.by}, rejections=[])
        dropped += [c for c in (_candidate(actx, r, "exact") for r in reversed(rows))
                    if c and not any(c.torch_build == e.torch_build for e in exact + dropped)][:1]
    forward: List[Candidate] = []
    for r in rows:
        c = _candidate(ctx, r, "forward-port")
        if c and not any(c.torch_build == e.torch_build for e in exact + dropped):  # nothing new
            forward.append(c)
    picked = exact[:max(1, 2 - len(dropped))] + dropped + forward[:2]
    # the newest release, for the fewest surprises later: a build the kb has seen if any
    newest = ([c for c in forward if not c.assumed] or forward)[-1:]
    if newest and not any(_same(newest[0], p) for p in picked):
        picked.append(newest[0])
    # a build the kb only assumes exists is never ranked first (stable: the rest keep order)
    picked.sort(key=lambda c: bool(c.assumed))
    if not picked:
        blame = _driver_blame(report, hardware, limit)
        raise ReproError("no candidate environment: " + (f"{blame}; " if blame else "")
                         + _why_none(ctx, cc))
    if not exact:
        notes.append(("no exact candidate for the deciding torch statement: " if dropped else
                      "no exact candidate: ") + _why_none(ctx, cc))
    return Plan(path=report.path, gpu=compat.cc_str(cc) if cc else None, gpu_name=gpu_name,
                driver=driver, candidates=tuple(picked[:limit]), notes=tuple(notes),
                decided_by=decided)


_CAPS = ("==", "===", "~=", "<", "<=")  # operators that state a version or an upper bound


def _stated(report: ScanReport, package: str) -> List[Evidence]:
    """The repository's own statements about ``package`` (not API fingerprints; a bound a
    stated pin implies, ``timm==0.3.2`` => ``torch<1.9``, counts at its pin's rank), minus
    those a conflict dropped, most decisive first: pins, then upper bounds, then lower
    bounds, each most trusted first."""
    dropped = {c.dropped for c in report.conflicts}
    out = []
    for e in report.evidence:
        if e.package != package or not e.specifier or e.kind == "api" or e in dropped:
            continue
        spec = _spec(e.specifier)
        ops = {s.operator for s in spec}
        what = 0 if ops & {"==", "==="} else 1 if ops & set(_CAPS) else 2
        out.append(((what, PRIORITY.get(e.kind, 9), e.path, e.line), e))
    return [e for _, e in sorted(out, key=lambda t: t[0])]


def decided_by(report: ScanReport) -> Dict[str, str]:
    """package -> the statement that decided its planned constraint, as "path:line
    package<spec> (kind)": of the repository's statements (a pin outranks a bound, a more
    trusted source a less trusted one: a requirements pin outranks README prose)."""
    out = {}
    for pkg in ("torch", "torchvision", "cuda", "python", "timm", "numpy"):
        stated = _stated(report, pkg)
        if stated:
            e = stated[0]
            out[pkg] = f"{e.path}:{e.line} {pkg}{e.specifier} ({e.kind})"
    return out


@dataclass(frozen=True)
class TorchRange:
    """The torch versions exact candidates keep (``spec``, a PEP 440 specifier), what decided
    it beyond the repository's statements (``by``: "" or the reference date), and a note for
    the plan ("" when it is the scan's constraint as is)."""

    spec: str
    by: str = ""
    note: str = ""


def _date_label(report: ScanReport) -> str:
    """"2021-02-25 (git HEAD commit 1a2b3c4d5e)": the reference date and where it comes from."""
    date = report.reference_date or ""
    src = [s for s in report.date_sources if s.endswith(f"({date})")]
    src.sort(key=lambda s: not s.startswith("git"))
    return f"{date} ({src[0].rsplit(' (', 1)[0]})" if src else date


def exact_torch(report: ScanReport) -> TorchRange:
    """The torch range exact candidates keep. A torch pin (``==1.7.1``, conda ``pytorch=1.4``)
    is kept as stated. Otherwise the repository's reference date bounds it: releases published
    after the code was written are forward-ports, not stated versions. The range ends with the
    newest minor release published by that date that the scan's constraint admits (all its
    patches; the oldest one it admits when every admitted release is newer than the date); it
    starts at the stated lower bound, or, with none stated (``torch<1.9`` only, or nothing),
    at that same minor: the torch current when the code was written. Without a reference date
    a torch stated only by lower bounds is read as a caret range of the highest (``>=1.7``:
    1.x; ``>=0.4.1``: 0.4.x)."""
    spec = _spec(report.constraints.get("torch", ""))
    stated = _stated(report, "torch")
    ops = {s.operator for e in stated for s in _spec(e.specifier)}
    if ops & {"==", "==="}:
        return TorchRange(str(spec))
    floors = [(Version(s.version), e) for e in stated for s in _spec(e.specifier)
              if s.operator in (">=", ">")]
    if not report.reference_date:
        if not floors or ops & set(_CAPS):
            return TorchRange(str(spec))
        floor, e = max(floors, key=lambda t: t[0])
        series = f"{floor.major}.{floor.minor}" if floor.major == 0 else str(floor.major)
        return TorchRange(str(spec & SpecifierSet(f"=={series}.*")), "", (
            f"torch is stated only as a lower bound ({e.path}:{e.line} torch{e.specifier}) and "
            f"the repository has no reference date: exact keeps it within {series}.x; later "
            f"releases are forward-ports"))
    rows = sorted(kb.torch_releases(), key=lambda r: Version(r.version))
    admitted = [i for i, r in enumerate(rows) if any(_ok(spec, v) for v in r.patch_versions())]
    if not admitted:
        return TorchRange(str(spec))
    date = report.reference_date
    by_date = [i for i in admitted if rows[i].date and rows[i].date <= date]
    top = by_date[-1] if by_date else admitted[0]
    bound = [] if floors else [f">={rows[top].version}"]
    if top + 1 < len(rows):
        bound.append(f"<{rows[top + 1].version}")
    narrowed = spec & SpecifierSet(",".join(bound)) if bound else spec
    if not bound or str(narrowed) == str(spec):
        return TorchRange(str(spec))
    when = _date_label(report)
    what = ("the torch release current then" if not floors else "releases published by then")
    by = f"reference date {when}: torch{','.join(bound)} ({what})"
    if floors:
        floor, e = max(floors, key=lambda t: t[0])
        note = (f"torch is stated only as a lower bound ({e.path}:{e.line} torch{e.specifier}): "
                f"exact keeps the releases published by the reference date {when}, "
                f"torch{narrowed}; later releases are forward-ports")
    else:
        note = (f"torch is not pinned or bounded below by the repository: exact keeps the "
                f"release current at the reference date {when}, torch{narrowed}; later "
                f"releases are forward-ports")
    return TorchRange(str(narrowed), by, note)


def dropped_pins(report: ScanReport) -> Tuple[TorchRange, ...]:
    """One torch range per torch pin the scan dropped in a conflict with a more trusted kind of
    source (flownet2-pytorch: its README's ``== 0.4.1`` against its Dockerfile's torch-1.0.0
    wheel; two README lines that disagree are one source, a changelog more often than not):
    the pin with every other torch statement that agrees with it (most trusted first, API
    bounds included). ``by`` names the pin and what outranked it."""
    from repro_core.scan.combine import sort_key

    out: List[TorchRange] = []
    seen = set()
    torch_ev = sorted((e for e in report.evidence if e.package == "torch" and e.specifier),
                      key=sort_key)
    for c in report.conflicts:
        e = c.dropped
        if c.package != "torch" or c.kept.kind == e.kind or _pin(_spec(e.specifier)) is None \
                or e.specifier in seen:
            continue
        seen.add(e.specifier)
        spec = _spec(e.specifier)
        for o in torch_ev:
            s = _spec(o.specifier)
            if o != e and satisfiable("torch", spec & s, [e.specifier, o.specifier]):
                spec &= s
        k = c.kept
        out.append(TorchRange(str(spec), (
            f"{e.path}:{e.line} torch{e.specifier} ({e.kind}), the pin a conflict dropped: "
            f"{k.path}:{k.line} torch{k.specifier} ({k.kind}) outranks it")))
    return tuple(out)


def _same(a: Candidate, b: Candidate) -> bool:
    return (a.torch, a.cuda, a.python, a.timm, a.numpy) == (b.torch, b.cuda, b.python, b.timm,
                                                             b.numpy)


def _driver_blame(report: ScanReport, hardware: Hardware, limit: int) -> Optional[str]:
    """When the driver alone rules out every candidate: what it lacks, else None. (A driver
    cannot rule out only the exact ones: forward-ports are newer and need newer CUDA.)"""
    if not hardware.driver or hardware.gpu is None:
        return None
    try:
        free = plan(report, replace(hardware, driver=None), limit)
    except ReproError:
        return None
    best = min((c for c in free.candidates if c.cuda), key=lambda c: Version(c.cuda or ""),
               default=None)
    if best is None:
        return None
    return (f"driver {hardware.driver} is too old for every candidate: without it, the least "
            f"demanding would be torch {best.torch_build}, which needs "
            f"{compat.driver_requirement(best.cuda or '')}")


def _why_none(ctx: _Ctx, cc: Optional[Tuple[int, int]]) -> str:
    where = f"GPU {compat.cc_str(cc)}" if cc else "this machine"
    spec = ctx.cons["torch"]
    detail = "; ".join(list(dict.fromkeys(ctx.rejections))[:2])
    return (f"no known torch build satisfies torch{spec or ' (any)'} and runs on {where}"
            + (f" ({detail})" if detail else ""))


def read_report(path: str) -> ScanReport:
    """The scan report of ``path``: a saved ``repro scan --json`` file, or a repository to scan."""
    import os

    from repro_core.scan import scan

    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, ValueError) as e:
            raise ReproError(f"{path}: not a scan report ({e})") from None
        return ScanReport.from_json(text, source=path)
    return scan(path)


def plan_path(path: str, hardware: Optional[Hardware] = None) -> Plan:
    """Plan ``path`` (a repository, or a saved ``repro scan --json`` file) for ``hardware``
    (default: this machine, probed)."""
    report = read_report(path)
    if hardware is None:
        from repro_core.probe import hardware as probe_hardware

        hardware = probe_hardware()
    return plan(report, hardware)


__all__: Sequence[str] = ("Candidate", "Plan", "TorchRange", "dropped_pins", "exact_torch", "plan",
                          "plan_path", "read_report")
