"""The smoke command of a paper repository, inferred statically (nothing is run or imported).

In order of preference (issue 12):

1. a training command the README (or a top-level ``*.md``) documents: ``python train.py ...``
   with a script or module that exists in the repository; launchers
   (``python -m torch.distributed.launch``, ``torchrun``) become a single ``python`` process;
   runnable commands first, then training-named scripts, then single-GPU ones, then the
   fewest steps, then the first written; step flags (``--steps``, ``--epochs``,
   ``--max_iter``, ``--iters``, ``SOLVER.MAX_ITER`` ...) are lowered to 1, and a step flag
   the script's parser defines but the command leaves out is added as 1;
2. a model step (kind ``model_step``): import every module as 4. does, then build the
   first of the repository's models (``models``: ``nn.Module`` subclasses and factories that
   need no argument, whole documented models first) that takes one training step --
   forward on a tiny synthetic batch shaped by the model, backward, one SGD step
   (``repro_core.smoke_step``, whose source the script carries);
3. a module-level ``build_model``/``create_model`` function callable without arguments;
4. importing every module of the repository (``setup.py``, tests and docs left out); a
   script that parses arguments, downloads data or runs a shell command at module level
   (no ``__main__`` guard) is skipped, not imported.

A documented command that cannot run here -- unresolved placeholders (``${VAR}``, ``$VAR``,
``/path/to/...``, ``<...>``), a cluster launcher (submitit, ``srun``/``sbatch``, ``--nodes
N>1``), a dataset path, or a training script with no step flag to lower -- is kept only
as a last fallback, after the model-step, build-model and import plans.

    from repro_core.smoke import infer
    plan = infer("path/to/repo")     # -> SmokePlan (frozen; to_json()/from_json())
    plan.argv, plan.cwd, plan.source, plan.fallbacks
    models("path/to/repo")           # -> [ModelCandidate] the model step tries, best first
"""

import ast
import inspect
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from repro_core.errors import ReproError
from repro_core.fsutil import SkippedFile, read_text_inside
from repro_core.match.python import guarded_imports
from repro_core.scan import walk
from repro_core.scan.reqs import commands, logical_lines

KINDS = ("readme", "build_model", "import", "unrunnable", "model_step")
# flags whose value is a number of steps/epochs/iterations (compared with - and _ alike)
STEP_FLAGS = frozenset((
    "steps", "num_steps", "max_steps", "total_steps", "train_steps", "n_steps",
    "epochs", "epoch", "num_epochs", "n_epochs", "max_epochs", "nepochs", "total_epochs",
    "iters", "iter", "max_iter", "max_iters", "num_iters", "n_iter", "niter", "iterations",
    "num_iterations", "max_iterations", "total_iters", "train_iters",
))
_TRAIN_NAME = re.compile(r"train|main|pretrain|finetune|fit|run", re.I)
_CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9_]*(\.[A-Z][A-Z0-9_]*)+$")  # SOLVER.MAX_ITER
_PYTHON = re.compile(r"^python(\d(\.\d+)?)?$")
_LAUNCHERS = ("torch.distributed.launch", "torch.distributed.run")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SKIP_DIRS = ("test", "tests", "doc", "docs", "examples", "scripts")
_SKIP_FILES = ("setup.py", "conftest.py", "__main__.py",
               "hubconf.py")  # torch.hub's entry file, not a module of the code
_FACTORIES = ("build_model", "create_model")
# what makes a documented command unrunnable as a smoke test
_PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_]\w*\}?|(^|/)path/to/|<[^<>\s]*>|/set/your/|/your/")
_CLUSTER = re.compile(r"submitit|slurm", re.I)
_CLUSTER_COMMANDS = ("srun", "sbatch", "salloc", "mpirun", "mpiexec", "submit")
_NODE_FLAGS = frozenset(("nodes", "num_nodes", "nnodes", "n_nodes"))
_GPU_FLAGS = frozenset(("ngpus", "num_gpus", "n_gpus", "gpus", "num_gpu", "ngpu",
                        "nproc_per_node", "world_size"))
_DATA_FLAG = re.compile(r"^(data|dataset|coco|coco_panoptic|imagenet|image|img|voc|train|val|"
                        r"root)_?(path|dir|root|folder)$|^(data|data_root|root)$")
_WEIGHTS = r"\.(pth|pt|pth\.tar|ckpt|onnx|pb|h5|pkl|npz|npy|bin|safetensors)$"
# module-level calls that make a module a script with side effects (not importable)
_SCRIPT_CALLS = frozenset(("parse_args", "parse_known_args", "popen", "system",
                           "urlretrieve", "urlopen", "check_output", "check_call", "call"))
_MAX_TEXT = 1 << 20


@dataclass(frozen=True)
class SmokePlan:
    """How to smoke-test a repository: run ``argv`` from ``cwd`` (relative to the repository,
    with ``env`` added; ``argv[0]`` is ``python``, meaning the environment's interpreter).
    ``source`` says where it came from (``README.md:12``, ``models.py:40``, or ``""`` for
    the import fallback), ``why`` explains it; ``fallbacks`` are the next plans to try."""

    argv: Tuple[str, ...]
    cwd: str = "."
    kind: str = "import"
    source: str = ""
    why: str = ""
    env: Tuple[Tuple[str, str], ...] = ()
    fallbacks: Tuple["SmokePlan", ...] = field(default=())

    def to_json(self) -> Dict[str, Any]:
        return {"argv": list(self.argv), "cwd": self.cwd, "kind": self.kind,
                "source": self.source, "why": self.why,
                "env": {k: v for k, v in self.env},
                "fallbacks": [f.to_json() for f in self.fallbacks]}

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> "SmokePlan":
        try:
            kind = d["kind"]
            if kind not in KINDS:
                raise ReproError(f"smoke plan: kind {kind!r} is not one of {', '.join(KINDS)}")
            return cls(tuple(d["argv"]), d["cwd"], kind, d["source"], d["why"],
                       tuple(sorted(d.get("env", {}).items())),
                       tuple(cls.from_json(f) for f in d.get("fallbacks", ())))
        except (KeyError, TypeError, AttributeError) as e:
            raise ReproError(f"smoke plan: missing or malformed field {e}") from None


def infer(root: str, unavailable: Sequence[str] = ()) -> SmokePlan:
    """The smoke plan of the repository at ``root``, read statically; ``unavailable``: top-level
    imports the environment will not have (left out of its lock), whose importers the import
    plan skips."""
    if not os.path.isdir(root):
        raise ReproError(f"{root}: not a directory")
    files = [rel for rel, _size in walk(root)]
    plans: List[SmokePlan] = []
    documented = _readme_commands(root, files)
    runnable = documented and documented[0].kind == "readme"
    if runnable:
        plans.append(documented[0])
    step = model_step(root, files, unavailable)
    if step is not None:
        plans.append(step)
    plans.extend(_factories(root, files))
    plans.append(import_all(files, root, unavailable))
    if documented and not runnable:  # kept last: it says what a real run would need
        plans.append(documented[0])
    first = plans[0]
    return SmokePlan(first.argv, first.cwd, first.kind, first.source, first.why, first.env,
                     tuple(plans[1:]))


# ---- 1. the README's training command ---------------------------------------------------

def documented(root: str) -> List[SmokePlan]:
    """Every ``python`` command the repository's docs document whose script exists, best
    first (training-named, then fewest steps, then first written); steps lowered to 1."""
    return _readme_commands(root, [rel for rel, _size in walk(root)])


def _docs(files: List[str]) -> List[str]:
    """README files first (top level before nested), then other top-level markdown."""
    readmes = [f for f in files if f.rsplit("/", 1)[-1].lower().startswith("readme")
               and f.lower().endswith((".md", ".rst", ".markdown", ".txt", "readme"))]
    readmes.sort(key=lambda f: (f.count("/"), f))
    others = sorted(f for f in files if "/" not in f and f.lower().endswith(".md")
                    and f not in readmes)
    return readmes + others


def _readme_commands(root: str, files: List[str]) -> List[SmokePlan]:
    """Every documented ``python`` command whose script exists, best first; one that cannot
    run here has kind "unrunnable" (its ``why`` says what it needs)."""
    present = set(files)
    ranked: List[Tuple[Tuple[int, int, int, float, int], SmokePlan]] = []
    order = 0
    for doc in _docs(files):
        text = _read(root, doc)
        if text is None:
            continue
        # a nested README's commands run from its folder, or else from the repository root
        bases = [doc.rsplit("/", 1)[0], "."] if "/" in doc else ["."]
        for lineno, line in logical_lines(text):
            for frag in re.findall(r"`([^`]+)`", line) or [line]:
                cwds = list(bases)
                for toks in commands(re.sub(r"^\s*(\$|>|%|!)\s*", "", frag)):
                    if toks[0] == "cd" and len(toks) == 2:
                        cwds = [_join(c, toks[1]) for c in cwds]
                        continue
                    plan = None
                    for cwd in cwds:
                        plan = plan or _python_command(toks, cwd, present, f"{doc}:{lineno}",
                                                       root)
                    if plan is None:
                        continue
                    plan, steps, name, multi = plan
                    order += 1
                    key = (1 if plan.kind == "unrunnable" else 0,
                           0 if _TRAIN_NAME.search(name) else 1, 1 if multi else 0,
                           steps if steps is not None else float("inf"), order)
                    ranked.append((key, plan))
    ranked.sort(key=lambda kp: kp[0])
    return [p for _k, p in ranked]


def _python_command(toks: List[str], cwd: str, present: set, where: str, root: str = ""
                    ) -> Optional[Tuple[SmokePlan, Optional[float], str, bool]]:
    env = []
    while toks and _ENV.match(toks[0]):
        k, v = toks[0].split("=", 1)
        env.append((k, v))
        toks = toks[1:]
    problems: List[str] = []
    if toks and toks[0].rsplit("/", 1)[-1] in _CLUSTER_COMMANDS:
        problems.append(f"a cluster launcher ({toks[0]})")
        toks = _after_launcher_options(toks[1:])
    if not toks:
        return None
    head = toks[0].rsplit("/", 1)[-1]
    launched = False
    nproc = _flag_number(toks, _GPU_FLAGS)
    if head == "torchrun":
        rest, launched = _after_launcher_options(toks[1:]), True
    elif _PYTHON.match(head):
        rest = toks[1:]
        while rest and rest[0] in ("-u", "-O", "-B", "-W", "-X") or (
                rest and rest[0].startswith(("-W", "-X")) and len(rest[0]) > 2):
            rest = rest[2:] if rest[0] in ("-W", "-X") else rest[1:]
        if rest[:1] == ["-m"] and len(rest) > 1 and rest[1] in _LAUNCHERS:
            rest, launched = _after_launcher_options(rest[2:]), True
    else:
        return None
    if not rest:
        return None
    if rest[0] == "-m" and len(rest) > 1:
        module, args = rest[1], rest[2:]
        target = ["-m", module]
        rel = _join(cwd, module.replace(".", "/"))
        if rel + ".py" not in present and rel + "/__main__.py" not in present:
            return None
        name = module.rsplit(".", 1)[-1]
    elif rest[0].endswith(".py"):
        script, args = rest[0], rest[1:]
        target = [script]
        if _join(cwd, script) not in present:
            return None
        name = script.rsplit("/", 1)[-1]
        if name in ("setup.py",):
            return None
    else:
        return None
    args, steps, lowered = _lower_steps(args)
    added = ""
    if target[0] != "-m" and root:
        flag, needs = _script_needs(root, _join(cwd, target[0]))
        if flag and not lowered:
            args, added, steps = args + [flag, "1"], flag, 1.0
        given = {a.split("=", 1)[0] for a in args if a.startswith("-")}
        problems += [n for n in needs if n.split("(", 1)[-1].split(",")[0] not in given]
    problems += _problems(target, args, name, steps)
    missing = _missing_files(args, cwd, present)
    if missing:
        problems.append(f"a file that is not in the repository ({missing})")
    why = f"the command {where} documents"
    if launched:
        why += ", run as one process (its launcher left out)"
    if lowered:
        why += f", with {', '.join(lowered)} lowered to 1"
    if added:
        why += f", with {added} 1 added (its parser's default is a full run)"
    kind = "readme"
    if problems:
        kind, why = "unrunnable", why + "; cannot run here: " + "; ".join(problems)
    plan = SmokePlan(tuple(["python"] + target + args), cwd, kind, where, why,
                     tuple(sorted(env)))
    multi = max(nproc or 0, _flag_number(args, _GPU_FLAGS) or 0) > 1
    return plan, steps, name, multi


def _problems(target: List[str], args: List[str], name: str,
              steps: Optional[float]) -> List[str]:
    """Why a documented command cannot be a smoke run here (empty when it can)."""
    out = []
    marks = sorted({m.group(0) for a in args for m in [_PLACEHOLDER.search(a)] if m})
    if marks:
        out.append("placeholders " + ", ".join(marks[:3]))
    urls = [a for a in args if re.match(r"^(https?|s3|gs)://", a.split("=", 1)[-1])]
    if urls:
        out.append(f"a download ({urls[0]})")
    if _CLUSTER.search(" ".join(target)):
        out.append(f"a cluster launcher ({target[-1]})")
    nodes = _flag_number(args, _NODE_FLAGS)
    if nodes is not None and nodes > 1:
        out.append(f"{nodes:g} nodes")
    data = _data_flag(args)
    if data:
        out.append(f"a dataset path ({data})")
    if steps is None and _TRAIN_NAME.search(name) and not name.startswith("run"):
        out.append("a full training run (no step or epoch flag to lower)")
    return out


def _missing_files(args: List[str], cwd: str, present: set) -> str:
    """The first file the command reads that the repository lacks: a positional argument
    naming a file (``./model.onnx``), or a flag's value with a weights/data extension
    (``--resume ckpt.pth``); "" when none."""
    for i, tok in enumerate(args):
        if tok.startswith("-") or _PLACEHOLDER.search(tok) or "://" in tok:
            continue
        after_flag = i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1]
        looks = re.search(_WEIGHTS, tok) if after_flag else (
            re.search(r"\.\w{1,5}$", tok) and ("/" in tok or re.search(_WEIGHTS, tok)))
        if looks and _join(cwd, tok) not in present:
            return tok
    return ""


def _flag_number(toks: List[str], names: frozenset) -> Optional[float]:
    """The number given to the first flag of ``names`` (``--ngpus 8``, ``--nodes=2``)."""
    for i, tok in enumerate(toks):
        if not tok.startswith("-"):
            continue
        name, _, inline = tok.lstrip("-").partition("=")
        if name.lower().replace("-", "_") in names:
            value = inline or (toks[i + 1] if i + 1 < len(toks) else "")
            n = _number(value)
            if n is not None:
                return n
    return None


def _data_flag(args: List[str]) -> str:
    """The flag (or positional argument) that names a dataset on disk, or ""."""
    for i, tok in enumerate(args):
        if tok.startswith("-"):
            name, _, inline = tok.lstrip("-").partition("=")
            if _DATA_FLAG.match(name.lower().replace("-", "_")) and (
                    inline or (i + 1 < len(args) and not args[i + 1].startswith("-"))):
                return tok.split("=", 1)[0]
        elif tok.startswith("/") and (i == 0 or not args[i - 1].startswith("-")):
            return tok
    return ""


def _script_needs(root: str, rel: str) -> Tuple[str, List[str]]:
    """What the script's own code says: a step/epoch flag its argparse parser defines
    (``--n_epochs``, or ""), and the data it needs when run as documented -- a dataset flag
    that is required or defaults to an absolute path (``--data-path /datasets01/...``), a
    download (``download=True``, ``pretrained=True``)."""
    tree = _parse(root, rel)
    if tree is None:
        return "", []
    step, needs = "", []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and node.value.value is True and not needs and any(
                    getattr(t, "attr", getattr(t, "id", "")) == "pretrained"
                    for t in node.targets):  # args.pretrained = True
            needs.append(f"a weights download (pretrained = True, {rel}:{node.lineno})")
        if not isinstance(node, ast.Call):
            continue
        for k in node.keywords:
            if k.arg in ("download", "pretrained") and isinstance(k.value, ast.Constant) \
                    and k.value.value is True and not needs:
                what = "a dataset" if k.arg == "download" else "a weights"
                needs.append(f"{what} download ({k.arg}=True, {rel}:{node.lineno})")
        if not (isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        flags = [a.value for a in node.args if isinstance(a, ast.Constant)
                 and isinstance(a.value, str) and a.value.startswith("--")]
        kw = {k.arg: k.value for k in node.keywords}
        for flag in flags:
            name = flag[2:].lower().replace("-", "_")
            if name in STEP_FLAGS and not step:
                step = flag
            default = kw.get("default")
            if _DATA_FLAG.match(name) and (
                    (isinstance(kw.get("required"), ast.Constant) and kw["required"].value)
                    or (isinstance(default, ast.Constant) and isinstance(default.value, str)
                        and default.value.startswith("/"))):
                needs.append(f"a dataset path ({flag}, default "
                             f"{getattr(default, 'value', None) or 'required'})")
    return step, needs


def _after_launcher_options(toks: List[str]) -> List[str]:
    """The script and its arguments after a launcher's own options."""
    i = 0
    while i < len(toks) and toks[i].startswith("-") and toks[i] != "-m":
        if "=" not in toks[i] and i + 1 < len(toks) and not toks[i + 1].startswith("-") \
                and not toks[i + 1].endswith(".py") and toks[i] not in ("--standalone",
                                                                          "--use_env",
                                                                          "--use-env"):
            i += 2
        else:
            i += 1
    return toks[i:]


def _lower_steps(args: List[str]) -> Tuple[List[str], Optional[float], List[str]]:
    """``args`` with every step/epoch/iteration value set to 1; the smallest value seen."""
    out = list(args)
    smallest: Optional[float] = None
    lowered: List[str] = []
    i = 0
    while i < len(out):
        tok = out[i]
        flag, value, inline = _flag_value(out, i)
        if flag is not None and value is not None and _number(value) is not None:
            n = _number(value)
            smallest = n if smallest is None else min(smallest, n)
            if inline:
                out[i] = f"{tok.split('=', 1)[0]}=1"
            else:
                out[i + 1] = "1"
            lowered.append(flag)
            i += 1 if inline else 2
            continue
        i += 1
    return out, smallest, lowered


def _flag_value(toks: List[str], i: int) -> Tuple[Optional[str], Optional[str], bool]:
    tok = toks[i]
    if tok.startswith("-"):
        name, _, inline = tok.lstrip("-").partition("=")
        if name.lower().replace("-", "_") not in STEP_FLAGS:
            return None, None, False
        if inline:
            return tok.split("=", 1)[0], inline, True
        return tok, toks[i + 1] if i + 1 < len(toks) else None, False
    if _CONFIG_KEY.match(tok) and tok.rsplit(".", 1)[-1].lower() in STEP_FLAGS:
        return tok, toks[i + 1] if i + 1 < len(toks) else None, False
    return None, None, False


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def _join(cwd: str, rel: str) -> str:
    return os.path.normpath(os.path.join(cwd, rel)).replace(os.sep, "/")


# ---- 2. one training step of the repository's model ---------------------------------------

# bases that make a class a model: torch's Module and the model classes of timm/torchvision
_MODULE_BASES = ("torch.nn.Module", "torch.nn.modules.module.Module")
_MODEL_LIBS = ("timm.models", "torchvision.models")
_MODEL_DIRS = re.compile(r"^(models?|networks?|nets?|archs?|backbones?)$|model", re.I)
# class names that are parts or criteria rather than whole models (tried last)
_PART = re.compile(r"loss|entropy|criterion|matcher|postprocess|norm|block|layer|attention|embed|"
                   r"pool|act|head|bottleneck|mlp|conv|drop|position|identity|wrapper|"
                   r"encoding|transform|cell|unit|module$", re.I)
_SIZES = ("nano", "tiny", "small", "mini", "base", "medium", "large", "huge", "giant")
MAX_MODELS = 5  # candidates the generated script tries, best first


@dataclass(frozen=True)
class ModelCandidate:
    """A model the smoke step can build without arguments: ``module.name()`` (``kind``
    "class" or "factory"), defined at ``where`` (``models/resnet.py:12``)."""

    module: str
    name: str
    kind: str
    where: str
    folder: str = ""
    documented: bool = False
    part: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"module": self.module, "name": self.name, "kind": self.kind,
                "where": self.where, "folder": self.folder, "documented": self.documented,
                "part": self.part}


def models(root: str, unavailable: Sequence[str] = ()) -> List[ModelCandidate]:
    """The models of the repository at ``root`` that build without arguments, best first:
    module-level ``nn.Module`` subclasses (directly, through the repository's own classes or
    a timm/torchvision model) whose ``__init__`` needs no argument, and functions without
    required arguments that return one (``resnet18()``, ``build_model()``, timm
    ``@register_model`` functions). Whole models before the classes other models use as
    parts, documented ones (named in a README/top-level markdown) first, then those in a
    ``models``-like module, factories before classes, smaller sizes first. Read with ``ast``
    from the files ``import_all`` would import; nothing runs."""
    files = [rel for rel, _size in walk(root)]
    return _models(root, files, _import_code(files, root, unavailable)[2])


def _models(root: str, files: List[str], importable: Dict[str, str]) -> List[ModelCandidate]:
    trees = {}
    for rel in _modules(files):
        if _module_name(rel) in importable:
            tree = _parse(root, rel)
            if tree is not None:
                trees[rel] = tree
    classes: Dict[Tuple[str, str], ast.ClassDef] = {}
    bases: Dict[Tuple[str, str], List[str]] = {}
    funcs: Dict[Tuple[str, str], ast.FunctionDef] = {}
    for rel, tree in trees.items():
        aliases = _aliases(tree)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                classes[(rel, node.name)] = node
                bases[(rel, node.name)] = [_resolve(_dotted(b), aliases) for b in node.bases]
            elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                funcs[(rel, node.name)] = node
    by_name: Dict[str, List[Tuple[str, str]]] = {}
    for key in classes:
        by_name.setdefault(key[1], []).append(key)

    def repo_bases(key: Tuple[str, str]) -> List[Tuple[str, str]]:
        out = []
        for b in bases[key]:
            last = b.rsplit(".", 1)[-1]
            same = (key[0], last)
            out += [same] if same in classes and "." not in b else by_name.get(last, [])
        return [k for k in out if k != key]

    model_keys = set()
    changed = True
    while changed:  # a fixpoint: subclasses of the repository's models are models
        changed = False
        for key in classes:
            if key in model_keys:
                continue
            if any(b in _MODULE_BASES or b.startswith(_MODEL_LIBS) for b in bases[key]) \
                    or any(k in model_keys for k in repo_bases(key)):
                model_keys.add(key)
                changed = True
    model_names = {k[1] for k in model_keys}

    def init_of(key: Tuple[str, str], seen: Tuple = ()) -> Optional[ast.FunctionDef]:
        for stmt in classes[key].body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
                return stmt
        for b in repo_bases(key):
            if b not in seen and b in classes:
                return init_of(b, seen + (key,))
        return None

    # names used as parts: referenced in a model class, or an argument in a factory
    used = set()
    for key in model_keys:
        used |= {n for n in _names_in(classes[key]) if n != key[1]}
    factories: Dict[Tuple[str, str], ast.FunctionDef] = {}
    changed = True
    while changed:  # functions returning a model (or a factory's result)
        changed = False
        for key, fn in funcs.items():
            if key in factories:
                continue
            decorated = any("register_model" in ast.dump(d) for d in fn.decorator_list)
            built = _returned_calls(fn)
            if fn.name in _FACTORIES or decorated or built & model_names \
                    or built & {k[1] for k in factories}:
                factories[key] = fn
                changed = True
    for fn in factories.values():
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                used |= {n for a in list(node.args) + [k.value for k in node.keywords]
                         for n in _names_in(a)}
    docs = " ".join(t for t in (_read(root, d) for d in _docs(files)) if t)
    out = []
    order = 0
    items = [("class", k, classes[k], init_of(k)) for k in sorted(model_keys)] + \
            [("factory", k, fn, fn) for k, fn in sorted(factories.items())]
    for kind, (rel, name), node, sig in items:
        if sig is not None and not _callable_bare(sig.args, method=kind == "class"):
            continue
        order += 1
        module = _module_name(rel)
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        doc = bool(re.search(r"\b" + re.escape(name) + r"\b", docs))
        part = name in used or bool(_PART.search(name))
        cand = ModelCandidate(module, name, kind, f"{rel}:{node.lineno}", folder, doc, part)
        out.append(((name in used, part, not doc,
                     not any(_MODEL_DIRS.search(p) for p in rel[:-3].split("/")),
                     kind != "factory", _size_rank(name), order), cand))
    out.sort(key=lambda kc: kc[0])
    return [c for _k, c in out]


def model_step(root: str, files: List[str], unavailable: Sequence[str] = ()
               ) -> Optional[SmokePlan]:
    """Import every module (as ``import_all``), then build the best of the repository's
    ``models`` that builds and take one training step on a synthetic batch
    (``repro_core.smoke_step.model_step``, copied into the script); None when the
    repository has no model that builds without arguments. The script's exit status: 0
    when a model stepped and every import passed, 4 when a model stepped but an import
    failed, 3 when every import passed but no model could step, 1 when neither."""
    code, why, importable = _import_code(files, root, unavailable)
    found = _models(root, files, importable)[:MAX_MODELS]
    if not found:
        return None
    from repro_core import smoke_step

    step = inspect.getsource(smoke_step.model_step)
    tried = [(c.module, c.name, c.where) for c in found]
    folders = {c.module: c.folder for c in found if c.folder}
    code += ("\n" + step + "\n"
             f"stepped = model_step({tried!r}, {folders!r})\n"
             "sys.exit((1 if stepped else 4) if failed else stepped)\n")
    names = ", ".join(f"{c.module}.{c.name}()" for c in found)
    return SmokePlan(("python", "-c", code), ".", "model_step", found[0].where,
                     f"{why}; then one training step (forward, backward, SGD) of the first "
                     f"model that builds and steps: {names}")


def _aliases(tree: ast.Module) -> Dict[str, str]:
    """{local name: dotted origin} of the module's imports (``nn`` -> ``torch.nn``)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                    a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _resolve(dotted: str, aliases: Dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    full = aliases.get(head, head)
    return f"{full}.{rest}" if rest else full


def _names_in(node: ast.AST) -> set:
    return {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node)
            if isinstance(n, (ast.Name, ast.Attribute))}


def _returned_calls(fn: ast.FunctionDef) -> set:
    """The names a function's ``return`` calls, directly (``return ResNet(...)``) or
    through a variable (``model = ResNet(...); return model``)."""
    assigned: Dict[str, set] = {}
    out = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, set()).add(_dotted(node.value.func)
                                                         .rsplit(".", 1)[-1])
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Call):
                out.add(_dotted(node.value.func).rsplit(".", 1)[-1])
            elif isinstance(node.value, ast.Name):
                out |= assigned.get(node.value.id, set())
    return out


def _size_rank(name: str) -> Tuple[int, float]:
    """Smaller models first: ``tiny`` before ``base`` before ``huge``, 18 before 152."""
    low = name.lower()
    word = next((i for i, w in enumerate(_SIZES) if w in low), len(_SIZES) // 2)
    digits = re.findall(r"\d+", low)
    return word, float(digits[0]) if digits else 0.0


# ---- 3. build_model / create_model ---------------------------------------------------------

def _factories(root: str, files: List[str]) -> List[SmokePlan]:
    out = []
    for rel in _modules(files):
        text = _read(root, rel)
        if text is None or not any(f"def {n}" in text for n in _FACTORIES):
            continue
        try:
            tree = ast.parse(text, rel)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in _FACTORIES \
                    and _callable_bare(node.args):
                module = _module_name(rel)
                code = f"import {module} as m; print(type(m.{node.name}()).__name__)"
                out.append(SmokePlan(("python", "-c", code), ".", "build_model",
                                     f"{rel}:{node.lineno}",
                                     f"{module}.{node.name}() takes no required argument"))
    return out


def _callable_bare(args: ast.arguments, method: bool = False) -> bool:
    positional = list(getattr(args, "posonlyargs", [])) + list(args.args)
    positional = positional[1:] if method else positional  # self
    required = len(positional) - len(args.defaults)
    kw_required = sum(1 for d in args.kw_defaults if d is None)
    return required == 0 and kw_required == 0


# ---- 4. import every module -------------------------------------------------------------

def _modules(files: List[str]) -> List[str]:
    out = []
    for rel in files:
        parts = rel.split("/")
        if not rel.endswith(".py") or parts[-1] in _SKIP_FILES \
                or any(p.lower() in _SKIP_DIRS for p in parts[:-1]) \
                or parts[-1].startswith("test_") \
                or not all(p.isidentifier() for p in parts[:-1] + [parts[-1][:-3]]):
            continue
        out.append(rel)
    return out


def _module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[:-len(".__init__")] if name.endswith(".__init__") else name


def import_all(files: List[str], root: Optional[str] = None,
               unavailable: Sequence[str] = ()) -> SmokePlan:
    """Import every module of the repository from its root, each with its own folder first
    on ``sys.path`` (scripts import their siblings: ``from models import *``); each failure's
    traceback is printed and the exit status is 1 when any failed. With ``root``, a script
    with module-level side effects (``script_side_effect``) is skipped and counted, not
    imported; so is a module that imports one of ``unavailable``."""
    code, why, _names = _import_code(files, root, unavailable)
    return SmokePlan(("python", "-c", code + "sys.exit(1 if failed else 0)\n"), ".", "import",
                     "", why)


def _import_code(files: List[str], root: Optional[str], unavailable: Sequence[str]
                 ) -> Tuple[str, str, Dict[str, str]]:
    """The import loop of ``import_all`` (it leaves the count of failures in ``failed``),
    what it does in words, and {module: folder} of the modules it imports."""
    names: Dict[str, str] = {}
    skipped: Dict[str, str] = {}
    rels = {_module_name(rel): rel for rel in _modules(files)}
    for name, rel in rels.items():
        reason = (script_side_effect(root, rel) or _imports_any(root, rel, unavailable)
                  if root else "")
        if reason:
            skipped[name] = reason
        else:
            names[name] = rel.rsplit("/", 1)[0] if "/" in rel else ""
    lacking = {n for n, why in skipped.items() if why.endswith("the environment lacks")}
    while root and lacking:  # and what imports those modules (a package's __init__)
        more = {n: f"imports {m}, which imports what the environment lacks"
                for n in names for m in [_imports_module(root, rels[n], n, lacking)] if m}
        if not more:
            break
        for n, why in more.items():
            skipped[n] = why
            del names[n]
        lacking |= set(more)
    order = sorted(names)
    folders = {n: names[n] for n in order if names[n]}
    code = ("import importlib, os, sys, traceback\nsys.path.insert(0, '')\nfailed = 0\n"
            f"folders = {folders!r}\n"
            f"skipped = {dict(sorted(skipped.items()))!r}\n"
            "for name, why in skipped.items():\n"
            "    print('import skipped: %s (%s)' % (name, why))\n"
            f"for name in {order!r}:\n"
            "    folder = os.path.abspath(folders.get(name, ''))\n"
            "    sys.path.insert(1, folder)\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except (Exception, SystemExit):\n        failed += 1\n"
            "        print('import failed: ' + name, file=sys.stderr)\n"
            "        traceback.print_exc()\n"
            "    finally:\n        sys.path.remove(folder)\n"
            "        for k, m in list(sys.modules.items()):  # a sibling of this folder only\n"
            "            f = getattr(m, '__file__', None) or ''\n"
            "            if '.' not in k and folder != os.path.abspath('') "
            "and os.path.dirname(os.path.abspath(f)) == folder:\n"
            "                del sys.modules[k]\n"
            "print('imported %d module(s), %d failed, %d skipped' "
            f"% ({len(order)} - failed, failed, len(skipped)))\n")
    why = f"import every module of the repository ({len(order)})"
    scripts = len(skipped) - len(lacking)
    if scripts:
        why += f"; {scripts} script(s) with module-level side effects skipped"
    if lacking:
        why += f"; {len(lacking)} importing what the environment lacks skipped"
    return code, why, names


def script_side_effect(root: str, rel: str) -> str:
    """Why importing ``rel`` would run it as a script (outside functions, classes and the
    ``if __name__ == "__main__"`` block: ``parse_args()``, a dataset download, a shell
    command), or "" when it is safe to import. Read with ``ast``; nothing runs."""
    tree = _parse(root, rel)
    if tree is None:
        return ""
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                             ast.Import, ast.ImportFrom)) or _is_main_guard(stmt):
            continue
        for node in _walk_outside_defs(stmt):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else (
                func.id if isinstance(func, ast.Name) else "")
            if name in _SCRIPT_CALLS or "download" in name.lower() or any(
                    k.arg == "download" and not (isinstance(k.value, ast.Constant)
                                                 and k.value.value is False)
                    for k in node.keywords):
                what = "a download" if "download" in name.lower() or name.startswith("url") \
                    or name not in _SCRIPT_CALLS else f"{name}()"
                return f"{what} at module level, line {node.lineno}"
    return ""


def _imports_any(root: str, rel: str, names: Sequence[str]) -> str:
    """"imports X, which the environment lacks" when ``rel`` imports a top-level name of
    ``names`` (distribution names: ``-`` read as ``_``), else ""."""
    wanted = {n.replace("-", "_").lower() for n in names}
    tree = _parse(root, rel) if wanted else None
    if tree is None:
        return ""
    # optional imports: ``try: from panopticapi.utils import rgb2id`` / ``except ImportError``
    guarded = {i for body, _, _ in guarded_imports(list(ast.walk(tree))) for i in body}
    for node in _import_time_nodes(tree):
        if id(node) in guarded:
            continue
        mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else [])
        for m in mods:
            if m.split(".")[0].lower() in wanted:
                return f"imports {m.split('.')[0]}, which the environment lacks"
    return ""


def _import_time_nodes(tree: ast.AST) -> List[ast.AST]:
    """The nodes that run when the module is imported (function bodies left out: an import
    inside a function happens only when it is called)."""
    out: List[ast.AST] = []
    todo = [tree]
    while todo:
        n = todo.pop()
        out.append(n)
        todo.extend(c for c in ast.iter_child_nodes(n)
                    if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    return out


def _imports_module(root: str, rel: str, name: str, modules: set) -> str:
    """The first of the repository's ``modules`` that ``rel`` (module ``name``) imports,
    relatively or absolutely, or ""."""
    tree = _parse(root, rel)
    if tree is None:
        return ""
    package = name.split(".") if rel.endswith("__init__.py") else name.split(".")[:-1]
    for node in _import_time_nodes(tree):
        targets: List[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            head = ".".join(base + ([node.module] if node.module else []))
            targets = [head] + [f"{head}.{a.name}".lstrip(".") for a in node.names]
        for t in targets:
            if t in modules:
                return t
    return ""


def _is_main_guard(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and "__main__" in ast.dump(stmt.test) \
        and "__name__" in ast.dump(stmt.test)


def _walk_outside_defs(node: ast.AST) -> List[ast.AST]:
    out: List[ast.AST] = []
    todo = [node]
    while todo:
        n = todo.pop()
        out.append(n)
        todo.extend(c for c in ast.iter_child_nodes(n) if not isinstance(
            c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)))
    return out


def _read(root: str, rel: str) -> Optional[str]:
    """The text of ``rel`` inside ``root`` (confined and size-capped by fsutil), or None."""
    try:
        return read_text_inside(root, rel, _MAX_TEXT)
    except SkippedFile:
        return None


def _parse(root: str, rel: str) -> Optional[ast.Module]:
    """The ast of ``rel``, or None when it cannot be read or parsed (nothing runs)."""
    text = _read(root, rel)
    if text is None:
        return None
    try:
        return ast.parse(text, rel)
    except (SyntaxError, ValueError):
        return None
