"""Python files read by worker processes give the report of reading them one by one."""

import multiprocessing
from pathlib import Path

import pytest

from repro_core.scan import parallel, python_api, scan

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork here: scan never reads in parallel")

FILES = {
    # only f-strings: the first one in walk order is parsed, the later ones need not be
    "a0_fstring.py": "name = 'x'\nprint(f'{name}')\n",
    "a1_fstring.py": "name = 'y'\nprint(f'{name}!')\n",
    # legacy APIs (parsed anyway): their f-strings are reported too
    "b_legacy.py": ("import torch\nfrom torch.autograd import Variable\n"
                    "x = Variable(torch.zeros(1))\nprint(f'{x}')\nl = x.data[0]\n"),
    "c_multiline.py": "from torch.autograd import (\n    Variable,\n)\nv = Variable(1)\n",
    "d_version.py": "import torch\nassert torch.__version__ >= '1.4'\n",
    "e_py2.py": "import os\nprint 'hello'\n",
    "f_plain.py": "import numpy as np\nx = np.zeros(3)\n",
    "g_walrus.py": "if (n := 3) > 2:\n    print(n)\n",
    "h_latin1.py": "# caf\xe9\nimport torch\nt = torch.FloatTensor(2)\n",
}


def _tree(root: Path, copies: int) -> None:
    for i in range(copies):
        for name, text in FILES.items():
            d = root / f"pkg{i}"
            d.mkdir(exist_ok=True)
            data = text.encode("latin-1") if name.startswith("h_") else text.encode()
            (d / name).write_bytes(data)
    (root / "requirements.txt").write_text("torch>=1.4\n")


def test_parallel_scan_gives_the_sequential_report(tmp_path, monkeypatch):
    monkeypatch.setattr(python_api, "PARALLEL_MIN", 10)
    ran = []
    analyze_all = python_api.analyze_all
    monkeypatch.setattr(python_api, "analyze_all",
                        lambda items, n: ran.append(n) or analyze_all(items, n))
    _tree(tmp_path, 4)  # 36 Python files: read in parallel with 2 workers
    one = scan(str(tmp_path), workers=1)
    two = scan(str(tmp_path), workers=2)
    assert ran == [2]  # one process for workers=1; two for workers=2
    assert two.to_json() == one.to_json()
    # hand-counted: f-strings are reported in the first f-string file and in the files
    # parsed for another rule (b_legacy in each copy), not in a1 or the later a0 copies
    fstrings = sorted(f.path for f in one.findings if f.rule == "py-fstring")
    assert fstrings == ["pkg0/a0_fstring.py"] + [f"pkg{i}/b_legacy.py" for i in range(4)]
    assert {f.path for f in one.findings if f.rule == "torch-variable"} == {
        f"pkg{i}/{n}" for i in range(4) for n in ("b_legacy.py", "c_multiline.py")}
    assert len([f for f in one.findings if f.rule == "py2-syntax"]) == 4


def test_workers_is_one_without_fork(monkeypatch):
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert parallel.workers() == 1


def test_workers_is_one_while_another_thread_runs():
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert parallel.workers() == 1
    finally:
        stop.set()
        t.join()
