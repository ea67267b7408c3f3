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

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

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
}
# codemod id -> {old module: new module}: the name and everything under it
MODULES: Dict[str, Dict[str, str]] = {
    "timm-layers": {"timm.models.layers": "timm.layers"},
    "timm-models-private": {"timm.models.helpers": "timm.models",
                            "timm.models.registry": "timm.models"},
    "tv-functional-tensor": {"torchvision.transforms.functional_tensor":
                             "torchvision.transforms.functional"},
    "tv-load-state-dict-from-url": {"torchvision.models.utils": "torch.hub"},
    "py2-modules": {"__builtin__": "builtins", "cPickle": "pickle", "cStringIO": "io",
                    "StringIO": "io", "urlparse": "urllib.parse", "Queue": "queue",
                    "ConfigParser": "configparser", "httplib": "http.client",
                    "commands": "subprocess", "HTMLParser": "html.parser",
                    "Tkinter": "tkinter", "thread": "_thread", "cookielib": "http.cookiejar",
                    "SocketServer": "socketserver"},
}
# modules that go away whole: a name of theirs without a rename is left for review
OWNED = {"torch-six": ("torch._six",)}
# a respelled use needs this module imported (``collections.abc`` is a submodule)
ENSURE = {"py-collections-abc": "collections.abc"}
# the target must have these for the new code (else the rule is skipped for this target)
REQUIRES: Dict[str, str] = {
    "torch-amp-autocast": "torch>=1.10", "torch-amp-gradscaler": "torch>=2.3",
    "torch-upsample-interpolate": "torch>=0.4.1", "torch-reduction": "torch>=0.4.1",
    "torch-init-inplace": "torch>=0.4", "torch-data-item": "torch>=0.4",
    "torch-variable": "torch>=0.4", "timm-layers": "timm>=0.9", "timm-proj-drop": "timm>=0.9",
    "timm-models-private": "timm>=0.9", "timm-param-groups": "timm>=0.6.5",
    "np-in1d-trapz": "numpy>=2.0", "torch-matrix-rank": "torch>=1.8",
    "tv-scale-resize": "torchvision>=0.2.1", "torch-six": "torch>=1.0",
    "torch-load-weights-only": "torch>=1.13", "torch-local-rank": "torch>=1.0",
    "yaml-load-loader": "pyyaml>=5.1",
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
        self.imported = {i.module for i in parsed.imports}
        self.need: List[str] = []  # modules to import at the top
        self.pending: List[str] = []  # asked for by the rewrite being decided
        self.params: List[Dict[str, str]] = []  # enclosing functions: parameter -> default
        self.note = ""  # what the rewrite being decided assumes (goes into its Change)

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
    if not isinstance(node, cst.Call) or _kw(node, "volatile") is None:
        return None
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


CALLS: Dict[str, Callable[[Context, Match, cst.CSTNode], Out]] = {
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


NODES: Dict[str, Callable[[Context, Match, cst.CSTNode], Out]] = {
    "torch-data-item": data_item, "cpp-std": cxx_std,
}
NODE_TYPES = {"torch-data-item": cst.Subscript, "cpp-std": cst.SimpleString}
LIST_DROP = {"cuda-drop-arch"}  # an entry of a list/tuple literal, dropped
DROP_ASSERT = {"timm-version-guard"}  # an ``assert M.__version__ == ...`` statement
GUARD = {"torch-guard-synchronize"}  # a call statement put under ``if <available>:``


def supported(codemod: Optional[str]) -> bool:
    return bool(codemod) and (codemod in RENAMES or codemod in MODULES or codemod in CALLS
                              or codemod in NODES or codemod in LIST_DROP or codemod in GUARD
                              or codemod in DROP_ASSERT)


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
        self.tests: List[str] = []  # the conditions of the enclosing if statements

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
            self.outcomes.append(Outcome(m, m.text, "", False, True, "no automatic rewrite"))
            return updated
        new, proven = out
        if new.deep_equals(updated):
            self.ctx.settle(False)
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
            if code in RENAMES or code in MODULES:
                if code in NEEDS_CALL or not isinstance(original, (cst.Attribute, cst.Name)):
                    continue  # NEEDS_CALL: done by the call's hook
                result = self._record(m, original, rename_use(self.ctx, m, result), result)
            elif code in CALLS and isinstance(original, cst.Call):
                result = self._record(m, original, CALLS[code](self.ctx, m, result), result)
            elif code in NODES and isinstance(original, NODE_TYPES[code]):
                result = self._record(m, original, NODES[code](self.ctx, m, result), result)
        if isinstance(original, cst.Call) and isinstance(result, cst.Call):
            result = self._hooks(original, result)
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
            for m in ms:
                self.done.add(id(m))
            if new is None:
                continue_with = upd
                body.append(continue_with)
                continue
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

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock
                            ) -> cst.IndentedBlock:
        if not updated.body:
            return updated.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated


# codemod -> the imports its rewrites may leave unused: (module, name) of ``from module import
# name``, or ("", module) of ``import module``; removed once nothing uses the name
CLEANUP = {"torch-variable": (("torch.autograd", "Variable"),
                              ("torch.autograd.variable", "Variable")),
           "pkg-resources-parse-version": (("", "pkg_resources"),)}


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
    module = cst.parse_module(text)
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
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    mig = _Migrator(ctx, module, index, decide)
    new = wrapper.visit(mig)
    for code, imports in CLEANUP.items():
        first = next((o for o in mig.outcomes if o.applied and o.match.rule.codemod == code), None)
        unused = {(mod, name) for mod, name in imports if not _uses_name(new, name)}
        if first is not None and unused:
            drop = _DropImports(unused)
            new = new.visit(drop)
            if drop.removed:
                first.note = "also removed: " + "; ".join(drop.removed)
    if ctx.need:
        new = _add_imports(new, ctx.need)
    outcomes = mig.outcomes
    for m in (m for ms in index.values() for m in ms):
        if id(m) not in mig.done:
            outcomes.append(Outcome(m, m.text, "", False, True, note="no automatic rewrite"))
    return new.code, outcomes
