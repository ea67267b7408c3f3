"""NVIDIA GPUs and driver, via NVML (pynvml); never raises."""

import warnings
from typing import Any, Dict, List


def _text(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def probe_gpus() -> Dict[str, Any]:
    """{"gpus": [{index, name, cc, memory_mib}], "driver", "driver_cuda" (the newest CUDA the
    driver supports), "reason"}: an empty list with a reason when there is no NVML, driver or GPU.
    """
    out: Dict[str, Any] = {"gpus": [], "driver": None, "driver_cuda": None, "reason": None}
    try:
        with warnings.catch_warnings():  # the 'pynvml' shim warns it is deprecated
            warnings.simplefilter("ignore")
            import pynvml
    except ImportError:
        out["reason"] = "pynvml is not installed (pip install nvidia-ml-py)"
        return out
    try:
        pynvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        out["reason"] = f"NVML could not start: {e}"
        return out
    try:
        out["driver"] = _text(pynvml.nvmlSystemGetDriverVersion())
        v = pynvml.nvmlSystemGetCudaDriverVersion()  # e.g. 12040
        out["driver_cuda"] = f"{v // 1000}.{(v % 1000) // 10}"
        gpus: List[Dict[str, Any]] = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h).total
            gpus.append({"index": i, "name": _text(pynvml.nvmlDeviceGetName(h)),
                         "cc": f"{major}.{minor}", "memory_mib": int(mem) // (1 << 20)})
        out["gpus"] = gpus
        if not gpus:
            out["reason"] = "the NVIDIA driver reports no GPU"
    except Exception as e:
        out["reason"] = f"NVML query failed: {e}"
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
    return out
