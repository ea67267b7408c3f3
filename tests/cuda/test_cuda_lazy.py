"""``import repro_cuda`` does no work: no GPU probe, no driver query, no library loaded; the
first use loads once, even when many threads ask at the same moment."""

import json
import subprocess
import sys

CODE = r"""
import json, sys, threading
import torch

calls = {"load_library": 0, "cuda_is_available": 0}
load_library, is_available = torch.ops.load_library, torch.cuda.is_available

def counted_load(path):
    calls["load_library"] += 1
    return load_library(path)

def counted_is_available():
    calls["cuda_is_available"] += 1
    return is_available()

torch.ops.load_library = counted_load
torch.cuda.is_available = counted_is_available
before = set(sys.modules)
import repro_cuda
from repro_cuda import library
new = sorted(m for m in set(sys.modules) - before
             if "nvml" in m.lower() or m.startswith("repro_core.probe"))
at_import = dict(calls, new_modules=new, loaded=dict(library._loaded))

barrier = threading.Barrier(8)
seen = []
def first_use():
    barrier.wait()
    seen.append(repro_cuda.backend("cpu"))
threads = [threading.Thread(target=first_use) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"at_import": at_import, "after": calls, "seen": seen,
                  "loaded": dict(library._loaded)}))
"""


def test_import_does_no_work_and_first_use_loads_once(built):
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["at_import"] == {"load_library": 0, "cuda_is_available": 0, "new_modules": [],
                                "loaded": {}}
    # first use from 8 threads at once: every library loaded exactly once, all see it
    assert got["loaded"]["cpu"] == built["cpu"]
    assert got["after"]["load_library"] == len(got["loaded"])
    assert got["seen"] == ["cpu"] * 8
