"""An environment signature, printed as one JSON line by the interpreter that runs this file.

Run BY the target interpreter (``python snapshot.py``), never imported by repro: any CPython
3.6+, standard library only. Adds to interpreter.py's facts every installed distribution
(version, installer, direct URL), the GPUs and driver (nvidia-smi), and the environment
variables that change results.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == HERE:
    del sys.path[0]  # do not let this folder shadow anything the target imports
sys.path.insert(0, HERE)
import interpreter  # noqa: E402 (the sibling probe; its guard takes HERE off sys.path again)

if sys.path and sys.path[0] == HERE:
    del sys.path[0]

#: variables that change numerical results, determinism or the devices used
RESULT_VARS = (
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUBLAS_WORKSPACE_CONFIG", "CUDA_LAUNCH_BLOCKING",
    "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS", "TORCH_CUDA_ARCH_LIST", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE",
    "NVIDIA_TF32_OVERRIDE", "TF_ENABLE_ONEDNN_OPTS", "CUDNN_DETERMINISTIC",
    "NCCL_ALGO", "NCCL_PROTO", "PYTORCH_CUDA_ALLOC_CONF", "MKL_CBWR", "KMP_DETERMINISTIC_REDUCTION",
)


def _dists():
    """[(name, version, installer, direct_url dict or None)] of every installed distribution."""
    out = []
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        metadata = None
    if metadata is not None:
        for d in metadata.distributions():
            name = d.metadata["Name"]
            if not name:
                continue
            out.append((name, d.version, d.read_text("INSTALLER"),
                        d.read_text("direct_url.json")))
    else:
        import pkg_resources

        for d in pkg_resources.working_set:
            def meta(f, d=d):
                return d.get_metadata(f) if d.has_metadata(f) else None
            out.append((d.project_name, d.version, meta("INSTALLER"), meta("direct_url.json")))
    seen = {}
    for name, version, installer, direct in out:
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in seen:  # the first on sys.path wins, as for import
            continue
        try:
            direct = json.loads(direct) if direct else None
        except ValueError:
            direct = None
        seen[key] = {"name": name, "version": version,
                     "installer": (installer or "").strip() or None,
                     "direct_url": (direct or {}).get("url"),
                     "editable": bool(((direct or {}).get("dir_info") or {}).get("editable"))}
    return sorted(seen.values(), key=lambda d: d["name"].lower())


def _gpus():
    """{"gpus": [{name, cc, memory_mib}], "driver"} from nvidia-smi; empty without one."""
    out = {"gpus": [], "driver": None}
    try:
        r = subprocess.run(  # noqa: UP021,UP022 (Python 3.6 has no capture_output/text)
            ["nvidia-smi", "--query-gpu=name,compute_cap,memory.total,driver_version",
             "--format=csv,noheader,nounits"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,  # noqa: UP021
            timeout=30)
    except (OSError, subprocess.SubprocessError):
        return out
    if r.returncode != 0:
        return out
    for line in r.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            mem = int(parts[2]) if parts[2].isdigit() else None
            out["gpus"].append({"name": parts[0], "cc": parts[1], "memory_mib": mem})
            out["driver"] = parts[3]
    return out


def main():
    torch = interpreter.torch_facts()
    gpus = _gpus()
    out = {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "python": interpreter.platform.python_version(),
        "implementation": interpreter.platform.python_implementation(),
        "platform": interpreter.platform.platform(),
        "system": interpreter.platform.system(),
        "machine": interpreter.platform.machine(),
        "glibc": interpreter.glibc(),
        "distributions": _dists(),
        "torch": torch if torch.get("installed") else None,
        "gpus": gpus["gpus"],
        "driver": gpus["driver"],
        "env": dict((k, os.environ[k]) for k in RESULT_VARS if k in os.environ),
    }
    sys.stdout.write("\n" + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
