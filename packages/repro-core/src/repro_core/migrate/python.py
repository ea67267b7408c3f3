"""Python codemods (libcst: formatting and comments kept), applied at the exact spans
``repro_core.match.python`` reports, so scan and migrate never disagree about a match.

A match's span is looked up among the libcst nodes' positions (``PositionProvider``); the
rule's ``codemod`` rewrites that node (an import statement is rewritten whole: the span of
a name in it is found through its statement). Three kinds of codemod:

* renames (``RENAMES``: old dotted name -> new; ``MODULES``: old module prefix -> new):
  the use is respelled through the file's own imports (``np.float`` -> ``float``,
  ``F.upsample`` -> ``F.interpolate``), an import statement is rewritten so that its local
  names stay bound (``from torch._six import inf`` -> ``from torch import inf``);
* call codemods (``CALLS``): ``Variable(x)`` -> ``x``, ``size_average=False`` ->
  ``reduction="sum"``, ``qk_scale=`` dropped, ``--local_rank`` -> ``--local-rank`` with
  ``LOCAL_RANK``, ``torch.cuda.amp.autocast(...)`` -> ``torch.amp.autocast("cuda", ...)``;
* node codemods: ``loss.data[0]`` -> ``loss.item()``, ``-std=c++14`` strings, arch list
  entries the target nvcc dropped.

A codemod returns the new node and whether this use is proven safe (``True``: applied even
for a needs-review rule, e.g. ``qk_scale=None``), unsure (``False``: reported for review even
for a safe rule) or no opinion (``None``: the rule's safety decides); or ``None``: no
automatic rewrite, reported for review with the rule's fix.
"""

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

from repro_core.match import oldsyntax
from repro_core.match.python import Parsed, _node_span
from repro_core.match.span import Match

Span = Tuple[int, int, int, int]
Out = Optional[Tuple[cst.CSTNode, Optional[bool]]]

# codemod id -> {old dotted name: new}; new is a dotted name, a builtin name, or "=expr"
RENAMES: Dict[str, Dict[str, str]] = {
    "np-builtin-aliases": {"numpy.float": "float", "numpy.int": "int", "numpy.object": "object",
                           "numpy.str": "str", "numpy.complex": "complex", "numpy.bool": "bool",
                           "numpy.long": "int"},
    "np2-expired-attrs": {
        "numpy.NaN": "numpy.nan", "numpy.NAN": "numpy.nan", "numpy.Inf": "numpy.inf",
        "numpy.Infinity": "numpy.inf", "numpy.infty": "numpy.inf", "numpy.PINF": "numpy.inf",
        "numpy.NINF": "-numpy.inf", "numpy.float_": "numpy.float64",
        "numpy.complex_": "numpy.complex128", "numpy.cfloat": "numpy.complex128",
        "numpy.unicode_": "numpy.str_", "numpy.string_": "numpy.bytes_",
        "numpy.round_": "numpy.round", "numpy.mat": "numpy.asmatrix",
        "numpy.sometrue": "numpy.any", "numpy.alltrue": "numpy.all",
        "numpy.longfloat": "numpy.longdouble", "numpy.singlecomplex": "numpy.complex64",
        "numpy.clongfloat": "numpy.clongdouble", "numpy.longcomplex": "numpy.clongdouble",
        "numpy.int0": "numpy.intp", "numpy.uint0": "numpy.uintp", "numpy.bool8": "numpy.bool_",
        "numpy.object0": "numpy.object_"},
    "np2-product": {"numpy.product": "numpy.prod", "numpy.cumproduct": "numpy.cumprod"},
    "np-in1d-trapz": {"numpy.trapz": "numpy.trapezoid"},
    "np-row-stack": {"numpy.row_stack": "numpy.vstack"},
    "py-fractions-gcd": {"fractions.gcd": "math.gcd"},
    "py-time-clock": {"time.clock": "time.perf_counter"},
    "torch-hub-download-url": {
        "torch.hub._download_url_to_file": "torch.hub.download_url_to_file",
        "torch.utils.model_zoo._download_url_to_file": "torch.hub.download_url_to_file"},
    "pil-resampling": {"PIL.Image.ANTIALIAS": "PIL.Image.LANCZOS",
                       "PIL.Image.LINEAR": "PIL.Image.BILINEAR",
                       "PIL.Image.CUBIC": "PIL.Image.BICUBIC"},
    "py-collections-abc": {f"collections.{n}": f"collections.abc.{n}" for n in (
        "Iterable", "Mapping", "MutableMapping", "Sequence", "MutableSequence", "Callable",
        "Container", "Hashable", "Iterator", "Set", "MutableSet", "Sized", "Generator",
        "Awaitable", "Coroutine", "AsyncIterable", "AsyncIterator", "KeysView", "ItemsView",
        "ValuesView", "MappingView")},
    "torch-six": {"torch._six.inf": "torch.inf", "torch._six.nan": "torch.nan",
                  "torch._six.string_classes": "=(str, bytes)", "torch._six.int_classes": "int",
                  "torch._six.container_abcs": "collections.abc", "torch._six.PY3": "=True",
                  "torch._six.PY37": "=True", "torch._six.FileNotFoundError": "FileNotFoundError"},
    "torch-upsample-interpolate": {
        "torch.nn.functional.upsample": "torch.nn.functional.interpolate",
        "torch.nn.functional.upsample_bilinear": "torch.nn.functional.interpolate",
        "torch.nn.functional.upsample_nearest": "torch.nn.functional.interpolate"},
    "torch-functional-sigmoid": {"torch.nn.functional.sigmoid": "torch.sigmoid",
                                 "torch.nn.functional.tanh": "torch.tanh"},
    "torch-init-inplace": {f"torch.nn.init.{n}": f"torch.nn.init.{n}_" for n in (
        "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "normal",
        "uniform", "constant", "orthogonal", "sparse", "eye", "dirac")},
    "torch-clip-grad-norm": {"torch.nn.utils.clip_grad_norm": "torch.nn.utils.clip_grad_norm_"},
    "torch-matrix-rank": {"torch.matrix_rank": "torch.linalg.matrix_rank"},
    "timm-param-groups": {"timm.optim.optim_factory.add_weight_decay":
                          "timm.optim.optim_factory.param_groups_weight_decay"},
    "tv-scale-resize": {"torchvision.transforms.Scale": "torchvision.transforms.Resize",
                        "torchvision.transforms.RandomSizedCrop":
                            "torchvision.transforms.RandomResizedCrop"},
    "distutils-version": {"distutils.version.LooseVersion": "packaging.version.Version",
                          "distutils.version.StrictVersion": "packaging.version.Version"},
    "pkg-resources-parse-version": {"pkg_resources.parse_version": "packaging.version.parse"},
    "torch-amp-autocast": {"torch.cuda.amp.autocast": "torch.amp.autocast",
                           "torch.cpu.amp.autocast": "torch.amp.autocast"},
    "torch-amp-gradscaler": {"torch.cuda.amp.GradScaler": "torch.amp.GradScaler"},
    "pkg-resources": {"pkg_resources.parse_version": "packaging.version.parse"},
    "skimage-metrics": {
        f"skimage.measure{sub}.{old}": f"skimage.metrics.{new}"
        for sub in ("", ".simple_metrics")
        for old, new in (("compare_psnr", "peak_signal_noise_ratio"),
                         ("compare_ssim", "structural_similarity"),
                         ("compare_mse", "mean_squared_error"),
                         ("compare_nrmse", "normalized_root_mse"))},
    "scipy-misc-special": {f"scipy.misc.{n}": f"scipy.special.{n}" for n in (
        "comb", "factorial", "factorial2", "factorialk", "logsumexp")},
    "py-imp": {"imp.reload": "importlib.reload"},
    "distutils-setuptools": {
        "distutils.core.setup": "setuptools.setup", "distutils.core.Extension":
        "setuptools.Extension", "distutils.extension.Extension": "setuptools.Extension",
        "distutils.command.build_ext.build_ext": "setuptools.command.build_ext.build_ext",
        "distutils.spawn.find_executable": "shutil.which"},
    "timm-pil-interp": {"timm.data.transforms._pil_interp":
                        "timm.data.transforms.str_to_pil_interp"},
    "timm-optim-legacy": {"timm.optim.nadam.Nadam": "timm.optim.nadam.NAdamLegacy",
                          "timm.optim.radam.RAdam": "timm.optim.radam.RAdamLegacy",
                          "timm.optim.adamw.AdamW": "timm.optim.adamw.AdamWLegacy",
                          "timm.optim.Nadam": "timm.optim.NAdamLegacy"},
    "timm-models-layer-names": {f"timm.models.{n}": f"timm.layers.{n}" for n in (
        "TestTimePoolHead", "apply_test_time_pool", "convert_splitbn_model",
        "convert_sync_batchnorm", "is_scriptable", "is_exportable", "set_scriptable",
        "set_exportable", "is_no_jit", "set_no_jit", "set_fast_norm")},
}
# codemod id -> {old module: new module}: the name and everything under it
MODULES: Dict[str, Dict[str, str]] = {
    "timm-layers": {"timm.models.layers": "timm.layers"},
    "timm-models-private": {"timm.models.helpers": "timm.models",
                            "timm.models.registry": "timm.models"},
    "scipy-private-modules": {f"scipy.{m}": f"scipy.{m.split('.')[0]}" for m in (
        "ndimage.filters", "ndimage.morphology", "ndimage.interpolation",
        "ndimage.measurements", "ndimage.fourier", "spatial.qhull", "spatial.kdtree",
        "spatial.ckdtree", "signal.signaltools")},
    "tv-functional-tensor": {"torchvision.transforms.functional_tensor":
                             "torchvision.transforms.functional"},
    "tv-load-state-dict-from-url": {"torchvision.models.utils": "torch.hub"},
    "py2-modules": {"__builtin__": "builtins", "cPickle": "pickle", "cStringIO": "io",
                    "StringIO": "io", "urlparse": "urllib.parse", "Queue": "queue",
                    "ConfigParser": "configparser", "httplib": "http.client",
                    "commands": "subprocess", "HTMLParser": "html.parser",
                    "Tkinter": "tkinter", "thread": "_thread", "cookielib": "http.cookiejar",
                    "SocketServer": "socketserver"},
    "timm-optim-module": {"timm.optim.optim_factory": "timm.optim"},
    "timm-models-underscore": {
        "timm.models.efficientnet_blocks": "timm.models._efficientnet_blocks",
        "timm.models.efficientnet_builder": "timm.models._efficientnet_builder"},
}
# modules that go away whole: a name of theirs without a rename is left for review
OWNED = {"torch-six": ("torch._six",)}
# a respelled use needs this module imported (``collections.abc`` is a submodule)
ENSURE = {"py-collections-abc": "collections.abc", "scipy-misc-special": "scipy.special",
          "skimage-metrics": "skimage.metrics"}
# the target must have these for the new code (else the rule is skipped for this target)
REQUIRES: Dict[str, str] = {
    "torch-amp-autocast": "torch>=1.10", "torch-amp-gradscaler": "torch>=2.3",
    "torch-upsample-interpolate": "torch>=0.4.1", "torch-reduction": "torch>=0.4.1",
    "torch-init-inplace": "torch>=0.4", "torch-data-item": "torch>=0.4",
    "torch-variable": "torch>=0.4", "torch-variable-isinstance": "torch>=0.4",
    "torch-get-last-lr": "torch>=1.4", "timm-layers": "timm>=0.9", "timm-proj-drop": "timm>=0.9",
    "timm-models-private": "timm>=0.9", "timm-param-groups": "timm>=0.6.5",
    "np-in1d-trapz": "numpy>=2.0", "torch-matrix-rank": "torch>=1.8",
    "tv-scale-resize": "torchvision>=0.2.1", "torch-six": "torch>=1.0",
    "torch-load-weights-only": "torch>=1.13", "torch-local-rank": "torch>=1.0",
    "yaml-load-loader": "pyyaml>=5.1", "skimage-metrics": "scikit-image>=0.16",
    "torch-typed-constructor": "torch>=0.4",
    "timm-optim-module": "timm>=1.0.12",
    "timm-pil-interp": "timm>=0.5.4", "timm-models-underscore": "timm>=0.9",
    "timm-optim-legacy": "timm>=1.0.12", "timm-models-layer-names": "timm>=0.9",
}


def _wrapped(node: cst.BaseExpression) -> cst.BaseExpression:
    """``node`` in parentheses unless it is atomic (a name, call, attribute, literal...)."""
    if isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString,
                         cst.Integer, cst.Float, cst.List, cst.Tuple, cst.Dict)) or node.lpar:
        return node
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _is_const(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name and not node.lpar


# -- the file's context ------------------------------------------------------------------


class Context:
    """What a codemod may read about the file (its import aliases) and ask for (imports)."""

    def __init__(self, parsed: Parsed, target: Dict[str, str]):
        self.alias = parsed.alias  # local name -> dotted target
        self.target = target
        # modules an ``import M`` (no ``as``) binds under their own name, with their parents
        # (``from torch import ones`` binds no ``torch``)
        self.imported = {".".join(mod.split(".")[:k]) for mod, (node, i) in parsed.import_names
                         if i >= 0 and not node.names[i].asname  # type: ignore[attr-defined]
                         for k in range(1, mod.count(".") + 2)}
        self.need: List[str] = []  # modules to import at the top
        self.pending: List[str] = []  # asked for by the rewrite being decided
        self.params: List[Dict[str, str]] = []  # enclosing functions: parameter -> default
        self.note = ""  # what the rewrite being decided assumes (goes into its Change)
        self.respelled: Dict[str, str] = {}  # a reserved word's respelling -> the word

    def ensure(self, module: str) -> None:
        if module not in self.imported and module not in self.need + self.pending:
            self.pending.append(module)

    def settle(self, applied: bool) -> None:
        """The rewrite that asked for ``pending`` imports was applied (or not)."""
        if applied:
            self.need += self.pending
        self.pending = []

    def spell(self, dotted: str) -> cst.BaseExpression:
        """An expression for ``dotted`` through the file's imports (``torch.sigmoid`` with
        ``import torch``); the top module is imported when nothing binds a prefix of it."""
        if dotted.startswith("="):
            return cst.parse_expression(dotted[1:])
        if dotted.startswith("-"):
            return cst.UnaryOperation(cst.Minus(), self.spell(dotted[1:]))
        if "." not in dotted:
            return cst.Name(dotted)
        best = None
        for local, tgt in self.alias.items():
            if (dotted == tgt or dotted.startswith(tgt + ".")) and (
                    best is None or len(tgt) > len(best[1])):
                best = (local, tgt)
        if best is None:  # import the module part (``import packaging.version``)
            top = dotted.split(".")[0]
            self.ensure(dotted.rsplit(".", 1)[0])
            self.alias = {**self.alias, top: top}
            best = (top, top)
        return cst.parse_expression(best[0] + dotted[len(best[1]):])


def renamed(codemod: str, full: str) -> Optional[str]:
    """The new spelling of dotted ``full`` under a rename codemod; None: not renamed."""
    exact = RENAMES.get(codemod, {})
    if full in exact:
        return exact[full]
    for old, new in MODULES.get(codemod, {}).items():
        if full == old or full.startswith(old + "."):
            return new + full[len(old):]
    return None


def _root(node: cst.BaseExpression) -> Optional[str]:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def rename_use(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """A use (``np.float``, ``F.upsample``) respelled; a use through a local name that an
    import binds to the old name is left as is (its import statement is rewritten)."""
    if not isinstance(node, (cst.Attribute, cst.Name)):
        return None
    code = m.rule.codemod or ""
    bound = ctx.alias.get(_root(node) or "", "")
    if bound and (m.api == bound or m.api.startswith(bound + ".")) and (
            renamed(code, bound) is not None):
        return node, None  # the import binding its first name is rewritten
    new = renamed(code, m.api)
    if new is None:
        return (node, None) if _under_known(code, m.api) else None
    if code in ENSURE:
        ctx.ensure(ENSURE[code])
    return ctx.spell(new), None


def _under_known(code: str, full: str) -> bool:
    """``full`` is a module whose every name the codemod renames one by one (``torch._six``):
    a name of it the codemod does not know needs a review."""
    return full in OWNED.get(code, ())


# -- imports -------------------------------------------------------------------------------


def _dotted_node(name: str) -> Union[cst.Name, cst.Attribute]:
    return cst.parse_expression(name)  # type: ignore[return-value]


def rewrite_import(ctx: Context, stmt: Union[cst.Import, cst.ImportFrom],
                   codemods: Sequence[str]) -> Optional[List[cst.BaseSmallStatement]]:
    """The statements replacing one import statement so that every local name stays bound
    to the new API; None when a name has no known new spelling."""

    def new_of(full: str) -> Optional[str]:
        for c in codemods:
            n = renamed(c, full)
            if n is not None:
                return n
        return None

    if isinstance(stmt, cst.ImportFrom):
        if stmt.relative or stmt.module is None or isinstance(stmt.names, cst.ImportStar):
            return None
        mod = get_full_name_for_node(stmt.module) or ""
        kept: List[cst.ImportAlias] = []
        moved: Dict[str, List[cst.ImportAlias]] = {}
        extra: List[cst.BaseSmallStatement] = []
        for a in stmt.names:
            name = get_full_name_for_node(a.name) or ""
            local = a.asname.name.value if a.asname else name  # type: ignore[union-attr]
            new = new_of(f"{mod}.{name}")
            if new is not None and new.startswith("-"):
                return None
            if new is None:
                if any(_under_known(c, mod) for c in codemods):
                    return None  # torch._six.<something unknown>
                kept.append(a)
            elif new.startswith("="):
                extra.append(cst.Assign([cst.AssignTarget(cst.Name(local))],
                                        cst.parse_expression(new[1:])))
            elif "." not in new:
                if local != new:
                    extra.append(cst.Assign([cst.AssignTarget(cst.Name(local))], cst.Name(new)))
            else:
                parent, last = new.rsplit(".", 1)
                alias = cst.ImportAlias(cst.Name(last), asname=None if local == last else
                                        cst.AsName(cst.Name(local)))
                moved.setdefault(parent, []).append(alias)
        if not moved and not extra and len(kept) == len(stmt.names):
            return None
        out: List[cst.BaseSmallStatement] = []
        if kept and not moved and not extra:
            return [stmt]
        if len(moved) == 1 and not kept and not extra:
            (parent, aliases), = moved.items()
            if [a.name for a in aliases] == [a.name for a in stmt.names] and all(
                    (x.asname is None) == (y.asname is None) for x, y in zip(aliases, stmt.names)):
                return [stmt.with_changes(module=_dotted_node(parent))]  # formatting kept
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            out.append(stmt.with_changes(names=kept))
        for parent, aliases in moved.items():
            out.append(cst.ImportFrom(module=_dotted_node(parent), names=aliases))
        return out + extra
    out2: List[cst.BaseSmallStatement] = []
    changed = False
    for a in stmt.names:
        name = get_full_name_for_node(a.name) or ""
        new = new_of(name)
        if new is None:
            if any(_under_known(c, name) for c in codemods):
                return None
            out2.append(cst.Import([a.with_changes(comma=cst.MaybeSentinel.DEFAULT)]))
            continue
        changed = True
        if new.startswith("=") or "." not in new and a.asname is None and new != name:
            if new.startswith("="):
                return None
        if a.asname is not None:
            same = get_full_name_for_node(a.asname.name) == new  # type: ignore[arg-type]
            out2.append(cst.Import([cst.ImportAlias(_dotted_node(new),
                                                    asname=None if same else a.asname)]))
        elif new.split(".")[0] == name.split(".")[0]:
            out2.append(cst.Import([cst.ImportAlias(_dotted_node(new))]))
        elif "." not in name:
            out2.append(cst.Import([cst.ImportAlias(_dotted_node(new),
                                                    asname=cst.AsName(cst.Name(name)))]))
        else:
            return None
    if not changed:
        return None
    if len(out2) == 1 or len(stmt.names) == 1:
        return out2
    return [cst.Import([n for s in out2 for n in s.names])]  # type: ignore[attr-defined]


# -- call codemods -------------------------------------------------------------------------


def _kw(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    return None


def _without(call: cst.Call, names: Set[str]) -> cst.Call:
    """The call without these keywords; a dropped argument's comma (and the line break it
    may carry) goes to the argument before it."""
    keep: List[cst.Arg] = []
    for a in call.args:
        if a.keyword is not None and a.keyword.value in names:
            if keep:
                keep[-1] = keep[-1].with_changes(comma=a.comma)
        else:
            keep.append(a)
    return call.with_changes(args=keep)


def _with_kw(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    args = list(call.args)
    new = cst.Arg(value=value, keyword=cst.Name(name),
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    if args and isinstance(args[-1].comma, cst.Comma):
        new = new.with_changes(comma=args[-1].comma)
    elif args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(
            whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=args + [new])


def _string(value: str, like: Optional[cst.BaseExpression] = None) -> cst.SimpleString:
    q = '"'
    if isinstance(like, cst.SimpleString) and like.quote in ("'", '"'):
        q = like.quote
    return cst.SimpleString(f"{q}{value}{q}")


def variable(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``Variable(x)`` -> ``x``; ``requires_grad=True`` -> ``x.requires_grad_()``; ``volatile``
    is dropped (ignored since torch 0.4)."""
    if not isinstance(node, cst.Call):
        return None
    pos = [a for a in node.args if a.keyword is None]
    if len(pos) != 1 or pos[0].star:
        return None
    if any(a.keyword.value not in ("requires_grad", "volatile") for a in node.args
           if a.keyword is not None):
        return None
    x = pos[0].value.with_changes(
        lpar=pos[0].value.lpar, rpar=pos[0].value.rpar)  # type: ignore[attr-defined]
    rg = _kw(node, "requires_grad")
    if rg is None or _is_const(rg.value, "False"):
        return _wrapped(x), None
    call_args = [] if _is_const(rg.value, "True") else [cst.Arg(rg.value)]
    return cst.Call(cst.Attribute(_wrapped(x), cst.Name("requires_grad_")), call_args), None


def volatile(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``volatile=`` dropped (torch >= 0.4 ignores it); the evaluation should run under
    ``torch.no_grad()``, which needs a look at its scope."""
    ctx.note = ("not in a function, not a plain assignment, or training follows: wrap the "
                "evaluation in `with torch.no_grad():` by hand")
    if not isinstance(node, cst.Call) or _kw(node, "volatile") is None:
        return None  # torch-variable already removed the Variable call
    return _without(node, {"volatile"}), False


def reduction(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``size_average``/``reduce`` (literals) -> ``reduction`` as torch's legacy mapping."""
    if not isinstance(node, cst.Call) or _kw(node, "reduction") is not None:
        return None
    vals = {}
    for k in ("size_average", "reduce"):
        a = _kw(node, k)
        if a is None or _is_const(a.value, "None") or _is_const(a.value, "True"):
            vals[k] = True
        elif _is_const(a.value, "False"):
            vals[k] = False
        else:
            return None
    red = "none" if not vals["reduce"] else "sum" if not vals["size_average"] else "mean"
    out = _without(node, {"size_average", "reduce"})
    return (out if red == "mean" else _with_kw(out, "reduction", _string(red))), None


def drop_qk_scale(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``qk_scale=`` dropped; proven safe when it is None (timm's default scale)."""
    a = _kw(node, "qk_scale") if isinstance(node, cst.Call) else None
    if a is None:
        return None
    if _is_const(a.value, "None"):
        return _without(node, {"qk_scale"}), True
    name = a.value.value if isinstance(a.value, cst.Name) else None
    if name and ctx.params and ctx.params[-1].get(name) == "None":
        ctx.note = (f"qk_scale={name} forwards a parameter that defaults to None; "
                    "a caller passing another scale would now be ignored")
        return _without(node, {"qk_scale"}), True
    return _without(node, {"qk_scale"}), None


def proj_drop(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    a = _kw(node, "drop") if isinstance(node, cst.Call) else None
    if a is None or _kw(node, "proj_drop") is not None:  # type: ignore[arg-type]
        return None
    return node.with_changes(args=[x.with_changes(keyword=cst.Name("proj_drop")) if x is a else x
                                   for x in node.args]), None  # type: ignore[union-attr]


def local_rank(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``add_argument('--local_rank', ...)`` -> ``add_argument('--local-rank', '--local_rank',
    ..., default=os.environ.get('LOCAL_RANK', <default>))``: torchrun sets ``LOCAL_RANK``,
    ``torch.distributed.launch`` passes ``--local-rank`` since torch 2.0."""
    if not isinstance(node, cst.Call) or not node.args:
        return None
    first = node.args[0].value
    if not isinstance(first, cst.SimpleString):
        return None
    args = list(node.args)
    new_first = args[0].with_changes(value=_string("--local-rank", first),
                                     comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    rest = args[1:]
    second = args[0].with_changes(value=first)
    args = [new_first, second] + rest
    d = _kw(node, "default")
    env = _string("LOCAL_RANK", first)
    get_args = [cst.Arg(env)] if d is None else [
        cst.Arg(env, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(d.value)]
    ctx.ensure("os")
    value = cst.Call(cst.parse_expression("os.environ.get"), get_args)
    call = node.with_changes(args=args)
    if d is not None:
        return call.with_changes(args=[a.with_changes(value=value) if a.keyword is not None and
                                       a.keyword.value == "default" else a
                                       for a in call.args]), None
    return _with_kw(call, "default", value), None


def weights_only(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``torch.load(p)`` -> ``torch.load(p, weights_only=False)``: the pre-2.6 behaviour, for
    trusted checkpoints that hold more than tensors (argparse Namespaces, numpy scalars)."""
    if not isinstance(node, cst.Call) or _kw(node, "weights_only") is not None:
        return None
    return _with_kw(node, "weights_only", cst.Name("False")), None


def yaml_loader(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``yaml.load(f)`` -> ``yaml.load(f, Loader=yaml.FullLoader)``: the loader PyYAML
    5.1-5.4 used when none was given (6.0 requires one)."""
    if not isinstance(node, cst.Call):
        return None
    if len([a for a in node.args if a.keyword is None]) != 1:
        return node, None  # the Loader is given positionally
    return _with_kw(node, "Loader", ctx.spell("yaml.FullLoader")), None


def frombuffer(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``np.fromstring(data, dtype)`` (binary mode: no ``sep``) -> ``np.frombuffer(...)``; the
    text mode calls stay (its array is read-only: the rule asks for review)."""
    if not isinstance(node, cst.Call):
        return None
    return node.with_changes(func=ctx.spell("numpy.frombuffer")), None


# tensor methods whose ``async=`` torch 0.4 renamed ``non_blocking=``
_ASYNC_METHODS = ("cuda", "copy_", "to", "type", "cpu")


def non_blocking(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``x.cuda(async=True)`` (read on its respelling) -> ``x.cuda(non_blocking=True)``;
    proven for the tensor methods that took ``async=``; none where the value is ``async``
    itself (a parameter of that name: renamed by hand)."""
    alias = next((a for a, w in ctx.respelled.items() if w == "async"), None)
    if not isinstance(node, cst.Call) or alias is None:
        return None
    args = [a for a in node.args if a.keyword is not None and a.keyword.value == alias]
    if not args or any(isinstance(a.value, cst.Name) and a.value.value == alias for a in args):
        return None
    new = node.with_changes(args=[a.with_changes(keyword=cst.Name("non_blocking"))
                                  if a in args else a for a in node.args])
    method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
    return new, (True if method in _ASYNC_METHODS else None)


CALLS: Dict[str, Callable[[Context, Match, cst.CSTNode], Out]] = {
    "torch-async-non-blocking": non_blocking,
    "np-fromstring-frombuffer": frombuffer,
    "yaml-load-loader": yaml_loader,
    "torch-variable": variable, "torch-volatile-no-grad": volatile,
    "torch-reduction": reduction, "timm-drop-qk-scale": drop_qk_scale,
    "timm-proj-drop": proj_drop, "torch-local-rank": local_rank,
    "torch-load-weights-only": weights_only,
}


# -- hooks: a renamed name whose call needs more (the func's span is the match) ------------


def _amp(device: str, positional: Sequence[str]) -> Callable[[Context, Match, cst.Call], Out]:
    def hook(ctx: Context, m: Match, call: cst.Call) -> Out:
        dev = device if device else ("cpu" if m.api.startswith("torch.cpu.") else "cuda")
        args = list(call.args)
        pos = [a for a in args if a.keyword is None]
        if any(a.star for a in args) or len(pos) > len(positional):
            return None
        if positional:  # old positional parameters become keywords (the order changed)
            args = [a.with_changes(keyword=cst.Name(positional[i]), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""))) if a.keyword is None else a
                for i, a in enumerate(args)]
        head = cst.Arg(_string(dev), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                       if args else cst.MaybeSentinel.DEFAULT)
        return call.with_changes(args=[head] + args), None
    return hook


def _upsample(ctx: Context, m: Match, call: cst.Call) -> Out:
    mode = {"torch.nn.functional.upsample_bilinear": "bilinear",
            "torch.nn.functional.upsample_nearest": "nearest"}.get(m.api)
    if mode is None or _kw(call, "mode") is not None:
        return call, None
    out = _with_kw(call, "mode", _string(mode))
    return (_with_kw(out, "align_corners", cst.Name("True")) if mode == "bilinear" else out), None


HOOKS: Dict[str, Callable[[Context, Match, cst.Call], Out]] = {
    "torch-amp-autocast": _amp("", ("enabled", "dtype", "cache_enabled")),
    "torch-amp-gradscaler": _amp("cuda", ()),
    "torch-upsample-interpolate": _upsample,
}
NEEDS_CALL = {"torch-amp-autocast", "torch-amp-gradscaler"}  # renamed only where called


# -- node codemods ---------------------------------------------------------------------------


def data_item(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``loss.data[0]`` -> ``loss.item()``."""
    if not isinstance(node, cst.Subscript) or not isinstance(node.value, cst.Attribute):
        return None
    recv = node.value.value
    return cst.Call(cst.Attribute(_wrapped(recv), cst.Name("item"))), None


def cxx_std(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``-std=c++14`` -> the standard the target torch's headers need (c++17; c++20 from
    torch 2.13). Proven safe: the target's headers do not compile with the older flag."""
    if not isinstance(node, cst.SimpleString):
        return None
    from repro_core.migrate.target import satisfies

    std = "c++17" if not satisfies("torch>=2.13", ctx.target) else "c++20"
    import re

    val = node.evaluated_value
    if not isinstance(val, str):
        return None
    new = re.sub(r"-std=(c|gnu)\+\+(0x|11|14|17|1z)", lambda x: f"-std={x.group(1)}"
                 f"{std[1:]}", val)
    return node.with_changes(value=node.prefix + node.quote + new + node.quote), True


def _version_of(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """``M.__version__`` in ``float(M.__version__[:3])``, else None."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value == "float" and len(node.args) == 1):
        return None
    sub = node.args[0].value
    if not (isinstance(sub, cst.Subscript) and len(sub.slice) == 1
            and isinstance(sub.slice[0].slice, cst.Slice)):
        return None
    sl = sub.slice[0].slice
    if sl.lower is not None or sl.step is not None or not (
            isinstance(sl.upper, cst.Integer) and sl.upper.value == "3"):
        return None
    return sub.value


def version_parse(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``float(torch.__version__[:3]) >= 1.7`` -> ``tuple(int(p) for p in
    torch.__version__.split(".")[:2]) >= (1, 7)`` (the major.minor comparison the slice
    meant, right for 1.10 and 2.14 too: proven); ``torch.__version__ >= "1.7"`` ->
    ``packaging.version.parse(...) >= packaging.version.parse("1.7")`` (needs packaging);
    a bare slice or ``.split(".")``: no automatic rewrite; ``.startswith``: ``version_prefix``."""
    if isinstance(node, cst.Call):
        return version_prefix(ctx, m, node)
    if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
        return None
    left, comp = node.left, node.comparisons[0]
    right = comp.comparator
    for a, b, put in ((left, right, "left"), (right, left, "right")):
        ver = _version_of(a)
        if ver is not None and isinstance(b, (cst.Float, cst.Integer)):
            parts = repr(float(b.evaluated_value)).split(".")  # the value the float had
            if len(parts) != 2 or not all(x.isdigit() for x in parts):
                return None
            code = ctx_code(ver)
            new_a = cst.parse_expression(f'tuple(int(p) for p in {code}.split(".")[:2])')
            new_b = cst.parse_expression(f"({int(parts[0])}, {int(parts[1])})")
            if put == "left":
                return node.with_changes(left=new_a, comparisons=[comp.with_changes(
                    comparator=new_b)]), True
            return node.with_changes(left=new_b, comparisons=[comp.with_changes(
                comparator=new_a)]), True
    if not isinstance(comp.operator, (cst.LessThan, cst.LessThanEqual, cst.GreaterThan,
                                      cst.GreaterThanEqual)):
        return None
    parse = ctx.spell("packaging.version.parse")

    def wrap(x: cst.BaseExpression) -> cst.BaseExpression:
        return cst.Call(parse, [cst.Arg(x.with_changes(lpar=[], rpar=[]))])  # type: ignore

    return node.with_changes(left=wrap(left), comparisons=[comp.with_changes(
        comparator=wrap(right))]), None


def ctx_code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def version_prefix(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``M.__version__.startswith("1.7.")`` -> ``tuple(int(p) for p in
    M.__version__.split(".")[:2]) == (1, 7)`` (the same test for every real release); a
    prefix that is not a literal ``X.Y`` (``startswith(x)`` in a loop): no automatic rewrite.
    Either way a whitelist: what newer releases should do is for review."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "startswith" and len(node.args) == 1):
        return None
    arg = node.args[0].value
    got = re.fullmatch(r"(\d+)\.(\d+)\.?", arg.evaluated_value or "") if isinstance(
        arg, cst.SimpleString) else None
    if got is None:
        ctx.note = "a whitelist of releases by prefix: newer ones take the other branch"
        return None
    code = ctx_code(node.func.value)
    ctx.note = "a whitelist of releases: check what newer ones should do"
    return cst.parse_expression(f'tuple(int(p) for p in {code}.split(".")[:2]) == '
                                f"({int(got.group(1))}, {int(got.group(2))})"), None


def saved_tensors(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``ctx.saved_variables`` -> ``ctx.saved_tensors`` (the same tuple since torch 0.4)."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "saved_variables"):
        return None
    return node.with_changes(attr=cst.Name("saved_tensors")), True


def variable_isinstance(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``isinstance(x, Variable)`` -> ``isinstance(x, torch.Tensor)``: the same test since
    torch 0.4 (``Variable``'s metaclass answers ``isinstance`` for any Tensor; proven)."""
    if not isinstance(node, (cst.Name, cst.Attribute)):
        return None
    return ctx.spell("torch.Tensor"), True


def get_last_lr(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``scheduler.get_lr()`` -> ``scheduler.get_last_lr()``: the rate the last ``step()``
    set; ``get_lr()`` outside ``step()`` computes the next one on chainable schedulers
    (unsure: the logged value changes, and the receiver's class is known by name only)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "get_lr" and not node.args):
        return None
    ctx.note = ("get_last_lr() is the current rate; get_lr() was one step ahead on chainable "
                "schedulers")
    return node.with_changes(func=node.func.with_changes(attr=cst.Name("get_last_lr"))), False


def view_reshape(ctx: Context, m: Match, node: cst.CSTNode) -> Out:
    """``x.view(...)`` -> ``x.reshape(...)``: the same view wherever ``view`` works, a copy
    where it raised (proven)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "view"):
        return None
    return node.with_changes(func=node.func.with_changes(attr=cst.Name("reshape"))), True


_NORM_ARGS = ("input", "p", "dim", "keepdim", "out", "dtype")


def vector_norm(ctx: Context, m: Match, call: cst.Call) -> Out:
    """``torch.norm(x, p, dim, keepdim)`` -> ``torch.linalg.vector_norm(x, ord=p, dim=dim,
    keepdim=keepdim)`` as torch.norm itself dispatches it (torch/functional.py, 2.14):
    ``p`` absent or ``"fro"`` -> the 2-norm (``ord`` left out), a number -> ``ord``; ``"nuc"``
    or another string: no automatic rewrite (``torch.linalg.matrix_norm``). For review: a
    ``p`` that is a variable might hold a string."""
    args: Dict[str, cst.BaseExpression] = {}
    for i, a in enumerate(call.args):
        if a.star:
            return None
        key = a.keyword.value if a.keyword else (_NORM_ARGS[i] if i < len(_NORM_ARGS) else "")
        if key not in _NORM_ARGS:
            return None
        args[key] = a.value
    if "input" not in args:
        return None
    p = args.pop("p", None)
    if isinstance(p, cst.SimpleString):
        if p.evaluated_value != "fro":
            return None
        p = None
    if p is not None and not isinstance(p, (cst.Integer, cst.Float, cst.UnaryOperation)):
        ctx.note = "p is not a literal: torch.linalg.matrix_norm if it can be 'nuc'"
    eq = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                         whitespace_after=cst.SimpleWhitespace(""))
    new = [cst.Arg(args.pop("input"))]
    if p is not None:
        new.append(cst.Arg(p, keyword=cst.Name("ord"), equal=eq))
    new += [cst.Arg(args[k], keyword=cst.Name(k), equal=eq)
            for k in ("dim", "keepdim", "dtype", "out") if k in args]
    return call.with_changes(func=ctx.spell("torch.linalg.vector_norm"), args=new), None


HOOKS["torch-vector-norm"] = vector_norm


_PORT = ("make forward and backward @staticmethod (first argument ctx), pass what __init__ "
         "takes to forward instead (backward returns one None more per such argument), and "
         "call it as {name}.apply(...) instead of {name}(...)(...)")


def static_function(ctx: Context, m: Match, node: cst.ClassDef) -> Out:
    """A legacy ``autograd.Function``: ``forward``/``backward`` get ``@staticmethod`` (their
    first parameter becomes the ctx) when ``__init__`` takes no argument; else no automatic
    rewrite, the port is described. Calls ``Cls()(x)`` after it in the file become
    ``Cls.apply(x)`` (see ``_Migrator``); calls in other files are for review."""
    name = node.name.value
    body = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []
    for f in body:
        if isinstance(f, cst.FunctionDef) and f.name.value == "__init__" and (
                len(f.params.params) > 1 or isinstance(f.params.star_arg, cst.Param)
                or f.params.kwonly_params or f.params.star_kwarg):
            ctx.note = _PORT.format(name=name)
            return None
    out = []
    for f in body:
        if isinstance(f, cst.FunctionDef) and f.name.value in ("forward", "backward") and not any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in f.decorators):
            f = f.with_changes(decorators=[cst.Decorator(cst.Name("staticmethod"))]
                               + list(f.decorators))
        out.append(f)
    ctx.note = f"calls {name}()(...) in this file become {name}.apply(...); check other files"
    return node.with_changes(body=node.body.with_changes(body=out)), None


NODES: Dict[str, Callable[[Context, Match, cst.CSTNode], Out]] = {
    "torch-data-item": data_item, "cpp-std": cxx_std, "torch-version-parse": version_parse,
    "torch-saved-tensors": saved_tensors, "torch-view-reshape": view_reshape,
    "torch-variable-isinstance": variable_isinstance, "torch-get-last-lr": get_last_lr,
}
NODE_TYPES = {"torch-data-item": cst.Subscript, "cpp-std": cst.SimpleString,
              "torch-version-parse": (cst.Comparison, cst.Subscript, cst.Call),
              "torch-saved-tensors": cst.Attribute, "torch-view-reshape": cst.Call,
              "torch-variable-isinstance": (cst.Name, cst.Attribute), "torch-get-last-lr": cst.Call}
LIST_DROP = {"cuda-drop-arch"}  # an entry of a list/tuple literal, dropped
DROP_ASSERT = {"timm-version-guard"}  # an ``assert M.__version__ == ...`` statement
GUARD = {"torch-guard-synchronize"}  # a call statement put under ``if <available>:``


def supported(codemod: Optional[str]) -> bool:
    return bool(codemod) and (codemod in RENAMES or codemod in MODULES or codemod in CALLS
                              or codemod in NODES or codemod in LIST_DROP or codemod in GUARD
                              or codemod in DROP_ASSERT or codemod in TYPED
                              or codemod in CLASSES)


# -- codemods on the call or attribute around a match ---------------------------------------

DTYPES = {"Float": "float32", "Double": "float64", "Half": "float16", "BFloat16": "bfloat16",
          "Byte": "uint8", "Char": "int8", "Short": "int16", "Int": "int32", "Long": "int64",
          "Bool": "bool"}
_SIZEY = re.compile(r"(?i)^(n|num\w*|size\w*|len|dim\w*|count|batch\w*)$|_(size|num|len|dim|"
                    r"count)s?$")


def _legacy_type(api: str) -> Tuple[Optional[str], bool]:
    """(dtype name, on cuda) of ``torch.cuda.FloatTensor`` & co."""
    last = api.rsplit(".", 1)[-1]
    return DTYPES.get(last[:-len("Tensor")]), ".cuda." in api


def typed_constructor(ctx: Context, m: Match, call: cst.Call) -> Out:
    """``torch.FloatTensor(2, 3)`` -> ``torch.empty(2, 3, dtype=torch.float32)``,
    ``torch.FloatTensor([1, 2])`` -> ``torch.tensor([1, 2], dtype=torch.float32)``, the
    ``torch.cuda`` ones with ``device="cuda"``. One argument that is neither an integer nor a
    list literal may be sizes, data or a tensor: the guess is left for review."""
    dt, cuda = _legacy_type(m.api)
    if dt is None or any(a.keyword is not None or a.star for a in call.args):
        return None
    args = list(call.args)
    one = args[0].value if len(args) == 1 else None
    data = isinstance(one, (cst.List, cst.Tuple, cst.ListComp))
    sizes = one is None or isinstance(one, cst.Integer)
    proven: Optional[bool] = None
    if not (data or sizes):  # a name, call, ...: guess from its spelling, for review
        proven = False
        text = ctx_code(one) if one is not None else ""
        data = not (_SIZEY.search(text.split(".")[-1]) or text.startswith("len("))
        ctx.note = ("one argument that is not a literal: sizes (torch.empty), data "
                    "(torch.tensor) or a tensor (.to(dtype)); the suggestion guesses from its name")
    if not args:
        args = [cst.Arg(cst.Integer("0"))]
    new = _with_kw(cst.Call(ctx.spell("torch.tensor" if data else "torch.empty"), args),
                   "dtype", ctx.spell(f"torch.{dt}"))
    if cuda:
        new = _with_kw(new, "device", _string("cuda"))
    return new, proven


def typed_type(ctx: Context, m: Match, call: cst.Call) -> Out:
    """``x.type(torch.cuda.FloatTensor)`` -> ``x.to(device="cuda", dtype=torch.float32)``
    (``.type`` to a CPU type also moves a CUDA tensor to the CPU)."""
    dt, cuda = _legacy_type(m.api)
    if dt is None or not isinstance(call.func, cst.Attribute):
        return None
    new = cst.Call(cst.Attribute(call.func.value, cst.Name("to")))
    new = _with_kw(new, "device", _string("cuda" if cuda else "cpu"))
    return _with_kw(new, "dtype", ctx.spell(f"torch.{dt}")), None


TYPED = {"torch-typed-constructor"}  # a name whose call (or .type(...) call) is rewritten
CLASSES = {"torch-static-function"}  # a class statement, found by its base's span
DIST_VERSION = {"pkg-resources"}  # get_distribution(x).version -> importlib.metadata.version(x)


def _parent_handled(m: Match) -> bool:
    """A match its enclosing call or attribute rewrites (the name alone is not changed)."""
    code = m.rule.codemod
    return code in TYPED or (code in DIST_VERSION and m.api.endswith(".get_distribution"))


# -- the transformer -------------------------------------------------------------------------


@dataclass
class Outcome:
    match: Match
    before: str
    after: str
    applied: bool
    review: bool
    note: str = ""


def _span(pos: object) -> Span:
    return (pos.start.line, pos.start.column, pos.end.line, pos.end.column)  # type: ignore


class _Migrator(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, ctx: Context, module: cst.Module, index: Dict[Span, List[Match]],
                 decide: Callable[[Match, Optional[bool]], bool]):
        super().__init__()
        self.ctx, self.module, self.index, self.decide = ctx, module, index, decide
        self.outcomes: List[Outcome] = []
        self.done: Set[int] = set()
        self.static_classes: Set[str] = set()  # legacy autograd Functions made static
        self.tests: List[str] = []  # the conditions of the enclosing if statements
        self.scoped: Set[int] = set()  # volatile matches a ``with torch.no_grad():`` takes
        self.blocks: List[Optional[Tuple[int, List[Match]]]] = []  # see visit_IndentedBlock

    def _pos(self, node: cst.CSTNode) -> Optional[Span]:
        try:
            return _span(self.get_metadata(PositionProvider, node))
        except KeyError:
            return None

    def _record(self, m: Match, before: cst.CSTNode, out: Out, updated: cst.CSTNode
                ) -> cst.CSTNode:
        self.done.add(id(m))
        if out is None:
            self.ctx.settle(False)
            self.outcomes.append(Outcome(m, m.text, "", False, True,
                                         self.ctx.note or "no automatic rewrite"))
            self.ctx.note = ""
            return updated
        new, proven = out
        if new.deep_equals(updated):
            self.ctx.settle(False)
            self.ctx.note = ""
            return updated
        apply = self.decide(m, proven)
        self.ctx.settle(apply)
        self.outcomes.append(Outcome(m, self.module.code_for_node(before),
                                     self.module.code_for_node(new), apply, not apply,
                                     self.ctx.note))
        self.ctx.note = ""
        return new if apply else updated

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode
                 ) -> Union[cst.CSTNode, cst.RemovalSentinel]:
        if isinstance(original, (cst.Import, cst.ImportFrom)):
            return updated
        pos = self._pos(original)
        result = updated
        for m in self.index.get(pos, ()) if pos else ():
            code = m.rule.codemod or ""
            # several nodes share a span (an Expr and its Call, an Arg and its value):
            # each codemod takes the node type it rewrites
            if _parent_handled(m) or id(m) in self.scoped:
                continue  # done by the enclosing call / attribute / block
            if code in RENAMES or code in MODULES:
                if code in NEEDS_CALL or not isinstance(original, (cst.Attribute, cst.Name)):
                    continue  # NEEDS_CALL: done by the call's hook
                result = self._record(m, original, rename_use(self.ctx, m, result), result)
            elif code in CALLS and isinstance(original, cst.Call):
                result = self._record(m, original, CALLS[code](self.ctx, m, result), result)
            elif code in NODES and isinstance(original, NODE_TYPES[code]):
                result = self._record(m, original, NODES[code](self.ctx, m, result), result)
        if isinstance(original, cst.ClassDef) and isinstance(result, cst.ClassDef):
            for base in original.bases:
                for m in self._matches(base.value, CLASSES):
                    result = self._record(m, original, static_function(self.ctx, m, result),
                                          result)
                    if isinstance(result, cst.ClassDef) and not result.deep_equals(updated):
                        self.static_classes.add(result.name.value)
        if isinstance(result, cst.Call) and isinstance(result.func, cst.Call) and isinstance(
                result.func.func, cst.Name) and not result.func.args and \
                result.func.func.value in self.static_classes:  # Cls()(x) -> Cls.apply(x)
            result = result.with_changes(func=cst.Attribute(result.func.func, cst.Name("apply")))
        if isinstance(original, cst.Call) and isinstance(result, cst.Call):
            result = self._hooks(original, result)
            if isinstance(result, cst.Call):
                result = self._typed(original, result)
        if isinstance(original, cst.Attribute) and isinstance(result, cst.Attribute):
            result = self._dist_version(original, result)
        if isinstance(original, (cst.List, cst.Tuple)) and isinstance(result, type(original)):
            result = self._drop_entries(original, result)
        return super().on_leave(original, result)  # the leave_<Type> methods below

    def _hooks(self, original: cst.Call, call: cst.Call) -> cst.CSTNode:
        pos = self._pos(original.func)
        for m in self.index.get(pos, ()) if pos else ():
            code = m.rule.codemod or ""
            if code not in HOOKS:
                continue
            out = HOOKS[code](self.ctx, m, call)
            if out is not None and code in NEEDS_CALL:
                new, proven = out
                func = rename_use(self.ctx, m, original.func)
                if func is None:
                    out = None
                else:
                    out = (new.with_changes(func=func[0]), proven)  # type: ignore[union-attr]
            call = self._record(m, original, out, call)  # type: ignore[assignment]
        return call

    def _matches(self, node: cst.CSTNode, codes: Set[str]) -> List[Match]:
        pos = self._pos(node)
        return [m for m in self.index.get(pos, ()) if m.rule.codemod in codes] if pos else []

    def _typed(self, original: cst.Call, call: cst.Call) -> cst.CSTNode:
        """A legacy typed constructor called, or given to ``.type(...)``."""
        for m in self._matches(original.func, TYPED):
            return self._record(m, original, typed_constructor(self.ctx, m, call), call)
        func, args = original.func, original.args
        if isinstance(func, cst.Attribute) and func.attr.value == "type" and len(args) == 1 \
                and args[0].keyword is None and not args[0].star:
            for m in self._matches(args[0].value, TYPED):
                return self._record(m, original, typed_type(self.ctx, m, call), call)
        return call

    def _dist_version(self, original: cst.Attribute, node: cst.Attribute) -> cst.CSTNode:
        """``pkg_resources.get_distribution(x).version`` -> ``importlib.metadata.version(x)``;
        proven unless the file catches ``DistributionNotFound`` (importlib raises
        ``PackageNotFoundError``)."""
        call = original.value
        if original.attr.value != "version" or not isinstance(call, cst.Call) or \
                not isinstance(node.value, cst.Call):
            return node
        for m in self._matches(call.func, DIST_VERSION):
            if not m.api.endswith(".get_distribution"):
                continue
            args = node.value.args
            if len(args) != 1 or args[0].keyword is not None or args[0].star:
                return self._record(m, original, None, node)
            new = cst.Call(self.ctx.spell("importlib.metadata.version"),
                           [args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
            proven = None if "DistributionNotFound" in self.module.code else True
            if proven is None:
                self.ctx.note = "the file catches DistributionNotFound: importlib.metadata " \
                                "raises PackageNotFoundError"
            return self._record(m, original, (new, proven), node)
        return node

    def _drop_entries(self, original: Union[cst.List, cst.Tuple],
                      node: Union[cst.List, cst.Tuple]) -> cst.CSTNode:
        drop = []
        for i, el in enumerate(original.elements):
            pos = self._pos(el.value)
            ms = [m for m in self.index.get(pos, ()) if m.rule.codemod in LIST_DROP] if pos else []
            if ms:
                drop.append((i, ms))
        if not drop or len(drop) == len(original.elements):
            return node
        gone = {i for i, _ in drop}
        keep: List[cst.BaseElement] = []
        for i, el in enumerate(node.elements):
            if i not in gone:
                keep.append(el)
            elif keep:  # its comma (and line break) goes to the entry before it
                keep[-1] = keep[-1].with_changes(comma=el.comma)
        new = node.with_changes(elements=keep)
        for i, ms in drop:
            for m in ms:
                self._record(m, original.elements[i].value,
                             (cst.parse_expression("None"), True), original.elements[i].value)
                self.outcomes[-1].after = "(entry removed)"
        if any(o.applied for o in self.outcomes if o.match in [m for _, ms in drop for m in ms]):
            return new
        return node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ps = node.params
        self.ctx.params.append({
            p.name.value: self.module.code_for_node(p.default) if p.default else ""
            for p in [*ps.posonly_params, *ps.params, *ps.kwonly_params]})

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef
                          ) -> cst.BaseStatement:
        self.ctx.params.pop()
        return updated

    def visit_If(self, node: cst.If) -> None:
        self.tests.append(self.module.code_for_node(node.test))

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.BaseStatement:
        self.tests.pop()
        return updated

    def _guard(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
               ) -> Optional[cst.BaseStatement]:
        """``torch.cuda.synchronize()`` alone on its line, not under a condition that names
        cuda: put under ``if torch.cuda.is_available():``."""
        if len(original.body) != 1 or not isinstance(original.body[0], cst.Expr):
            return None
        pos = self._pos(original.body[0].value)
        ms = [m for m in self.index.get(pos, ()) if m.rule.codemod in GUARD] if pos else []
        if not ms:
            return None
        for m in ms:
            self.done.add(id(m))
        if any("cuda" in t or "is_available" in t for t in self.tests):
            return None
        check = cst.Call(self.ctx.spell("torch.cuda.is_available"))
        new = cst.If(test=check, body=cst.IndentedBlock([updated.with_changes(
            leading_lines=())]), leading_lines=updated.leading_lines)
        apply = self.decide(ms[0], None)
        self.ctx.settle(apply)
        self.outcomes.append(Outcome(ms[0], self.module.code_for_node(original.body[0]),
                                     cst.Module([]).code_for_node(new).strip(), apply,
                                     not apply))
        return new if apply else None

    def _drop_assert(self, original: cst.SimpleStatementLine,
                     updated: cst.SimpleStatementLine) -> Optional[cst.BaseStatement]:
        """``assert timm.__version__ == "0.3.2"`` -> ``pass  # repro migrate: was ...``."""
        if len(original.body) != 1 or not isinstance(original.body[0], cst.Assert):
            return None
        pos = self._pos(original.body[0])
        ms = [m for m in self.index.get(pos, ()) if m.rule.codemod in DROP_ASSERT] if pos else []
        if not ms:
            return None
        for m in ms:
            self.done.add(id(m))
        was = self.module.code_for_node(original.body[0]).strip()
        old = updated.trailing_whitespace.comment
        note = f"# repro migrate: was {was}" + (f"  {old.value}" if old else "")
        new = updated.with_changes(body=[cst.Pass()], trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(note),
            newline=updated.trailing_whitespace.newline))
        apply = self.decide(ms[0], None)
        self.outcomes.append(Outcome(ms[0], was, "pass  " + note, apply, not apply))
        return new if apply else None

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine
                                  ) -> Union[cst.BaseStatement, cst.FlattenSentinel,
                                             cst.RemovalSentinel]:
        guarded = self._guard(original, updated)
        if guarded is not None:
            return guarded
        dropped = self._drop_assert(original, updated)
        if dropped is not None:
            return dropped
        body: List[cst.BaseSmallStatement] = []
        changed = False
        for orig, upd in zip(original.body, updated.body):
            pos = self._pos(orig)
            ms = self.index.get(pos, []) if pos and isinstance(orig, (cst.Import, cst.ImportFrom)) \
                else []
            codes = [m.rule.codemod for m in ms if m.rule.codemod in RENAMES
                     or m.rule.codemod in MODULES]
            if not codes:
                body.append(upd)
                continue
            new = rewrite_import(self.ctx, upd, list(dict.fromkeys(codes)))  # type: ignore
            if new is None:  # a name without a new spelling: reviewed, unless a cleanup
                body.append(upd)  # removes the import (see migrate_source)
                continue
            for m in ms:
                self.done.add(id(m))
            after = "\n".join(self.module.code_for_node(s).strip() for s in new) or "(removed)"
            before = self.module.code_for_node(orig)
            if new == [upd] or after == before.strip():
                body.append(upd)
                continue
            apply = all(self.decide(m, None) for m in ms)
            self.outcomes.append(Outcome(ms[0], before, after, apply, not apply))
            if apply:
                body.extend(new)
                changed = True
            else:
                body.append(upd)
        if not changed:
            return updated
        if not body:
            return cst.RemoveFromParent()
        if len(original.body) == 1 and len(body) > 1:
            lines = [cst.SimpleStatementLine([s]) for s in body]
            lines[0] = lines[0].with_changes(leading_lines=updated.leading_lines)
            lines[-1] = lines[-1].with_changes(trailing_whitespace=updated.trailing_whitespace)
            return cst.FlattenSentinel(lines)
        body = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in body]
        return updated.with_changes(body=body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.blocks.append(self._volatile_start(node))

    def _volatile_start(self, node: cst.IndentedBlock) -> Optional[Tuple[int, List[Match]]]:
        """(index of the first statement, the matches) when this function block creates a
        ``Variable(..., volatile=True)`` in a plain assignment and nothing from there to the
        block's end trains (``.backward(``, ``.step(``, ``zero_grad(``): that rest of the block
        then runs under ``torch.no_grad()``, which is what volatile meant."""
        if not self.ctx.params:
            return None
        for i, stmt in enumerate(node.body):
            if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                    and isinstance(stmt.body[0], cst.Assign)):
                continue
            if not self._volatile_in(stmt):
                continue
            rest = "".join(self.module.code_for_node(x) for x in node.body[i:])
            if re.search(r"\.\s*(backward|step)\s*\(|zero_grad\s*\(", rest):
                return None
            found: List[Match] = []
            for x in node.body[i:]:
                found += self._volatile_in(x)
            self.scoped.update(id(m) for m in found)
            return i, found
        return None

    def _volatile_in(self, node: cst.CSTNode) -> List[Match]:
        out: List[Match] = []
        for call in _calls(node):
            out += [m for m in self._matches(call, VOLATILE) if id(m) not in self.scoped]
        return out

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock
                            ) -> cst.IndentedBlock:
        start = self.blocks.pop()
        if start is not None:
            updated = self._no_grad(original, updated, *start)
        if not updated.body:
            return updated.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated

    def _no_grad(self, original: cst.IndentedBlock, updated: cst.IndentedBlock, i: int,
                 found: List[Match]) -> cst.IndentedBlock:
        region = [s.visit(_DropVolatile()) for s in updated.body[i:]]
        region[0] = region[0].with_changes(leading_lines=())  # type: ignore[union-attr]
        new = cst.With(items=[cst.WithItem(cst.Call(self.ctx.spell("torch.no_grad")))],
                       body=cst.IndentedBlock(region),  # type: ignore[arg-type]
                       leading_lines=updated.body[i].leading_lines)  # type: ignore[union-attr]
        apply = all(self.decide(m, True) for m in found)
        self.ctx.settle(apply)
        after = cst.Module([]).code_for_node(new.with_changes(leading_lines=())).strip()
        first = original.body[i].with_changes(leading_lines=())  # type: ignore[union-attr]
        for k, m in enumerate(found):
            self.done.add(id(m))
            self.outcomes.append(Outcome(
                m, self.module.code_for_node(first).strip() if k == 0 else m.text,
                after if k == 0 else "(inside the same torch.no_grad() block)", apply,
                not apply, "the rest of the function body runs under torch.no_grad()"))
        if not apply:
            return updated
        return updated.with_changes(body=list(updated.body[:i]) + [new])


VOLATILE = {"torch-volatile-no-grad"}


def _calls(node: cst.CSTNode) -> List[cst.Call]:
    class V(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found: List[cst.Call] = []

        def visit_Call(self, n: cst.Call) -> None:
            self.found.append(n)

    v = V()
    node.visit(v)
    return v.found


class _DropVolatile(cst.CSTTransformer):
    """``volatile=`` dropped from every call (only ``Variable`` takes it)."""

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        return _without(updated, {"volatile"}) if _kw(updated, "volatile") else updated


# codemod -> the imports its rewrites may leave unused: (module, name) of ``from module import
# name``, or ("", module) of ``import module``; removed once nothing uses the name
_VARIABLE = (("torch.autograd", "Variable"), ("torch.autograd.variable", "Variable"))
CLEANUP = {"torch-variable": _VARIABLE, "torch-variable-isinstance": _VARIABLE,
           "pkg-resources-parse-version": (("", "pkg_resources"),),
           "pkg-resources": (("", "pkg_resources"), ("pkg_resources", "get_distribution")),
           "py-imp": (("", "imp"), ("imp", "reload")),
           "torch-typed-constructor": tuple(
               (mod, f"{d}Tensor") for mod in ("torch", "torch.cuda") for d in DTYPES)}


class _DropImports(cst.CSTTransformer):
    """Removes the given imports (``CLEANUP`` entries); a block left empty gets ``pass``."""

    def __init__(self, drop: Set[Tuple[str, str]]) -> None:
        super().__init__()
        self.drop = drop
        self.removed: List[str] = []

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom
                         ) -> Union[cst.ImportFrom, cst.RemovalSentinel]:
        mod = get_full_name_for_node(updated.module) if updated.module else None
        if isinstance(updated.names, cst.ImportStar) or updated.relative:
            return updated
        keep = [a for a in updated.names if not (
            (mod, get_full_name_for_node(a.name)) in self.drop and a.asname is None)]
        return self._keep(updated, keep, lambda a: f"from {mod} import {a}")

    def leave_Import(self, original: cst.Import, updated: cst.Import
                     ) -> Union[cst.Import, cst.RemovalSentinel]:
        keep = [a for a in updated.names if not (
            ("", get_full_name_for_node(a.name)) in self.drop and a.asname is None)]
        return self._keep(updated, keep, lambda a: f"import {a}")

    def _keep(self, node, keep, say):  # type: ignore[no-untyped-def]
        if len(keep) == len(node.names):
            return node
        self.removed += [say(get_full_name_for_node(a.name)) for a in node.names
                         if a not in keep]
        if not keep:
            return cst.RemoveFromParent()
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=keep)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine,
                                  updated: cst.SimpleStatementLine
                                  ) -> Union[cst.SimpleStatementLine, cst.RemovalSentinel]:
        return cst.RemoveFromParent() if not updated.body else updated

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock
                            ) -> cst.IndentedBlock:
        if not updated.body:
            return updated.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated


def _uses_name(module: cst.Module, name: str) -> bool:
    class V(cst.CSTVisitor):
        found = False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                V.found = True

    module.visit(V())
    return V.found


def _add_imports(module: cst.Module, modules: Sequence[str]) -> cst.Module:
    """``import M`` for each module, before the file's first top-level import (after its
    docstring and ``from __future__`` imports); at the top when it has none."""
    body = list(module.body)
    at = 0
    for i, stmt in enumerate(body):
        small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else []
        if i == 0 and small and isinstance(small[0], cst.Expr) and isinstance(
                small[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            at = 1
        elif small and isinstance(small[0], cst.ImportFrom) and small[0].module is not None \
                and get_full_name_for_node(small[0].module) == "__future__":
            at = i + 1
        elif small and isinstance(small[0], (cst.Import, cst.ImportFrom)):
            break
    new = [cst.SimpleStatementLine([cst.Import([cst.ImportAlias(_dotted_node(m))])])
           for m in modules]
    if at < len(body) and new:  # the blank lines before the block stay before it
        new[0] = new[0].with_changes(leading_lines=body[at].leading_lines)
        body[at] = body[at].with_changes(leading_lines=())
    return module.with_changes(body=body[:at] + new + body[at:])


def migrate_source(text: str, parsed: Parsed, matches: Sequence[Match], target: Dict[str, str],
                   decide: Callable[[Match, Optional[bool]], bool]
                   ) -> Tuple[str, List[Outcome]]:
    """The new text of one source and the outcome of every match that was rewritten or left
    for review. ``decide(match, proven)`` says whether a rewrite is applied. Raises
    ``libcst.ParserSyntaxError`` when libcst cannot parse the text."""
    back: Dict[str, str] = {}
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError:  # ``x.cuda(async=True)``: rewritten on its respelling
        fixed, back = oldsyntax.respelled(text)
        if parsed.py2 or not back:
            raise
        module = cst.parse_module(fixed)
    lines = parsed.lines
    index: Dict[Span, List[Match]] = {}
    seen: Set[Tuple[str, int, int]] = set()
    for m in matches:
        if (m.rule.id, m.start, m.end) in seen:
            continue  # the same rule through two of its patterns
        seen.add((m.rule.id, m.start, m.end))
        node = m.node
        if node is not None and type(node).__name__ in ("Import", "ImportFrom"):
            s, e = _node_span(lines, node)
            key = lines.position(s) + lines.position(e)
        else:
            key = (m.line, m.col, m.end_line, m.end_col)
        index.setdefault(key, []).append(m)
    ctx = Context(parsed, target)
    ctx.respelled = back
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    mig = _Migrator(ctx, module, index, decide)
    new = wrapper.visit(mig)
    removed: List[str] = []
    for code, imports in CLEANUP.items():
        first = next((o for o in mig.outcomes if o.applied and o.match.rule.codemod == code), None)
        unused = {(mod, name) for mod, name in imports if not _uses_name(new, name)}
        if first is not None and unused:
            drop = _DropImports(unused)
            new = new.visit(drop)
            if drop.removed:
                first.note = "also removed: " + "; ".join(drop.removed)
                removed += drop.removed
    for m in (m for ms in index.values() for m in ms):  # import lines the cleanup removed
        node = m.node
        if id(m) in mig.done or type(node).__name__ not in ("Import", "ImportFrom"):
            continue
        gone = [r for r in removed if m.text in r.split()]
        if gone and m.rule.codemod in CLEANUP:
            mig.done.add(id(m))
            outcomes_note = "the rewrite of its uses left it unused"
            mig.outcomes.append(Outcome(m, gone[0], "(removed)", True, False, outcomes_note))
    if ctx.need:
        new = _add_imports(new, ctx.need)
    outcomes = mig.outcomes
    for m in (m for ms in index.values() for m in ms):
        if id(m) not in mig.done:
            outcomes.append(Outcome(m, m.text, "", False, True, note="no automatic rewrite"))
    code = new.code
    for alias, word in back.items():  # what no codemod rewrote is spelled as it was
        code = code.replace(alias, word)
        for o in outcomes:
            o.before, o.after = o.before.replace(alias, word), o.after.replace(alias, word)
    return code, outcomes
