"""`repro doctor`: can this machine run (or build for) a given PyTorch setup?"""

import argparse
import sys
from typing import Any, Dict, List

from repro_cli.render import print_json
from repro_core.doctor import DoctorReport, collect
from repro_core.errors import flags
from repro_core.probe import PROBE_TIMEOUT

NAME = "doctor"
HELP = "Report Python, torch, GPUs, driver and compilers, with compatibility verdicts."

MARK = {True: "✓", False: "✗", None: "?"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--python", metavar="PATH",
                        help="interpreter to inspect (default: the one running repro)")
    parser.add_argument("--torch-build", metavar="VERSION+cuXYZ",
                        help="judge this official torch wheel instead of the installed torch "
                             "(e.g. 1.10.2+cu113)")
    parser.add_argument("--gpu", metavar="CC|NAME",
                        help="judge this GPU instead of the detected ones (e.g. 8.9, 'RTX 4090')")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=PROBE_TIMEOUT,
                        help=f"give up on an interpreter whose probe takes longer "
                             f"(default {PROBE_TIMEOUT:g})")


def run(args: argparse.Namespace) -> int:
    with flags(python="--python", torch_build="--torch-build", gpu="--gpu", timeout="--timeout"):
        report = collect(python=args.python, torch_build=args.torch_build, gpu=args.gpu,
                         timeout=args.timeout)
    if args.json:
        print_json(report.to_dict(), sys.stdout)  # sys.stdout at call time (capture)
    else:
        print(render(report))
    return 0  # a report, not a test: read the verdicts (exit 2 only for bad input)


def render(r: DoctorReport) -> str:
    """The human-readable report: facts by section, then one line per verdict."""
    py, host, gpus, pk = r.python, r.host, r.gpus, r.packages
    out: List[str] = []

    def row(label: str, value: str) -> None:
        out.append(f"  {label:<11} {value}")

    out.append("Python")
    row("version", f"{py.get('python')} ({py.get('implementation')}) {py.get('executable')}")
    row("platform", f"{py.get('platform')}, glibc {py.get('glibc') or 'none'}")
    out.append("Packages")
    row("torch", _torch_line(pk.get("torch") or {}))
    for name in ("numpy", "timm"):
        row(name, (pk.get(name) or {}).get("installed") or "not installed")
    out.append("Compilers")
    row("gcc", host.get("gcc") or f"not found ({host.get('cxx')})")
    row("nvcc", _nvcc_line(host.get("nvcc")))
    home = host.get("cuda_home") or {}
    row("CUDA_HOME", f"{home.get('path') or 'none'} ({home.get('source')})")
    out.append("GPUs")
    if gpus.get("driver"):
        row("driver", f"{gpus['driver']} (supports CUDA <= {gpus.get('driver_cuda')})")
    for g in gpus.get("gpus", []):
        mem = g.get("memory_mib")
        row(f"[{g['index']}]", f"{g['name']}, compute capability {g['cc']}"
                               + (f", {mem / 1024:.1f} GiB" if mem is not None else ""))
    if not gpus.get("gpus"):
        row("none", gpus.get("reason") or "no GPU detected")
    if r.assumed:
        out.append("Assumed (instead of this machine's)")
        tb = r.assumed.get("torch_build")
        if tb:
            row("torch", f"{tb['spec']}: CUDA {tb['cuda'] or 'none'}, arch list "
                         f"{tb['arch_list'] or 'none'}, Python {tb['python']}, "
                         f"torchvision {tb['torchvision']}")
        g = r.assumed.get("gpu")
        if g:
            row("GPU", f"compute capability {g['cc']}" + (f" ({g['name']})" if g["name"] else ""))
    out.append("Verdicts")
    width = max(len(v.check) for v in r.verdicts)
    for v in r.verdicts:
        out.append(f"  {MARK[v.ok]} {v.check:<{width}}  {v.reason}")
    return "\n".join(out)


def _torch_line(t: Dict[str, Any]) -> str:
    if not t.get("installed"):
        return "not installed"
    if t.get("error"):
        return f"{t['installed']}, fails to import: {t['error']}"
    parts = [t["version"], f"CUDA {t.get('cuda') or 'none (CPU build)'}"]
    cudnn = t.get("cudnn")
    if isinstance(cudnn, int):
        parts.append(f"cuDNN {_cudnn(cudnn)}")
    arch = t.get("arch_list")
    if isinstance(arch, list):
        parts.append("archs " + (" ".join(arch) or "none"))
    avail = t.get("cuda_available")
    if isinstance(avail, bool):
        parts.append(f"cuda available: {'yes' if avail else 'no'}")
    return ", ".join(parts)


def _cudnn(v: int) -> str:
    """7605 -> 7.6.5, 8200 -> 8.2.0, 90100 -> 9.1.0 (cuDNN 9 switched to major*10000)."""
    if v >= 10000:
        return f"{v // 10000}.{v % 10000 // 100}.{v % 100}"
    return f"{v // 1000}.{v % 1000 // 100}.{v % 100}"


def _nvcc_line(nvcc: Any) -> str:
    if not nvcc:
        return "not found"
    v = nvcc.get("version")
    if not v:
        return f"{nvcc['path']} (version unreadable)"
    rng = nvcc.get("sm_range")
    span = f", targets sm {rng[0]}-{rng[1]}" if rng else ", target range unknown"
    return f"{v} at {nvcc['path']}{span}"
