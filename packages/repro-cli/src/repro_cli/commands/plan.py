"""`repro plan PATH`: ranked environments that can run a repository on given hardware."""

import argparse
import sys
from typing import List, Optional

from repro_cli.render import print_json, table
from repro_core.errors import flags
from repro_core.hardware import Hardware
from repro_core.plan import Plan, plan, read_report

NAME = "plan"
HELP = "Propose ranked environments (python/torch/CUDA/timm/numpy) for a repository and a GPU."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH",
                        help="the repository folder, or a saved `repro scan --json` file")
    parser.add_argument("--gpu", metavar="CC|NAME|auto|none", default="auto",
                        help="plan for this GPU: a compute capability (8.9), a name ('RTX 4090'),"
                             " auto (probe this machine, the default) or none (CPU only)")
    parser.add_argument("--driver", metavar="VERSION",
                        help="NVIDIA driver version to plan for (e.g. 535.104.05)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def hardware(gpu: str, driver: Optional[str]) -> Hardware:
    """The Hardware ``--gpu``/``--driver`` describe: auto probes this machine (``--driver``
    replaces its driver), none has no GPU, anything else is a stated capability or name."""
    if gpu.lower() == "auto":
        from repro_core.probe import hardware as probe_hardware

        if driver is not None:
            Hardware.stated(driver=driver)  # a bad --driver fails before the probe
        found = probe_hardware()
        return found.with_driver(driver) if driver is not None else found
    return Hardware.stated(None if gpu.lower() == "none" else gpu, driver)


def run(args: argparse.Namespace) -> int:
    with flags(gpu="--gpu", driver="--driver"):
        hw = hardware(args.gpu, args.driver)
    report = read_report(args.path)
    p = plan(report, hw)
    if args.json:
        print_json(p.to_dict(), sys.stdout)
    else:
        print(render(p))
    return 0


def render(p: Plan) -> str:
    gpu = f"GPU {p.gpu}" + (f" ({p.gpu_name})" if p.gpu_name else "") if p.gpu else "no GPU"
    out: List[str] = [f"repro plan {p.path} for {gpu}"
                      + (f", driver {p.driver}" if p.driver else "")]
    rows = [(i + 1, c.strategy, c.torch_build, c.torchvision, c.python, c.timm or "-",
             c.numpy or "-", len(c.migrations)) for i, c in enumerate(p.candidates)]
    out += ["", table(rows, ["#", "strategy", "torch", "torchvision", "python", "timm", "numpy",
                             "migrations"])]
    for i, c in enumerate(p.candidates):
        out += ["", f"{i + 1}. {c.strategy} torch {c.torch_build}"]
        out += [f"   - {r}" for r in c.reasons]
    out += [f"note: {n}" for n in p.notes]
    return "\n".join(out)
