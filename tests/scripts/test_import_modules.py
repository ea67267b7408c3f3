"""scripts/import_modules.py (the before/after figures of docs/migrate.md) on a small tree
written here: a module that imports, one that fails, a factory whose model takes a
forward/backward step, one whose forward fails, one that does not build."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "import_modules.py"

MODELS = '''import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return {"logits": self.fc(x.flatten(1)), "n": 3}


class Broken(Net):
    def forward(self, x):
        return self.fc(x)  # 2x2x2 input: the 2-wide last dim does not fit Linear(4, 3)


def net():
    return Net()


def broken():
    return Broken()


def missing():
    return Net(depth=3)
'''


def test_counts_imports_builds_and_steps(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(MODELS)
    # a module that fails on every torch: a name no torch release has
    (tmp_path / "old.py").write_text("from torch import no_such_name_in_any_torch\n")
    p = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--build",
                        "models.net:2x2", "models.broken:2x2", "models.missing:2x2",
                        "models.net"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "ok    models" in lines
    assert any(x.startswith("FAIL  old: ImportError: cannot import name "
                            "'no_such_name_in_any_torch'") for x in lines)
    assert "step  models.net on 2x2x2" in lines
    assert any(x.startswith("NOSTEP models.broken: RuntimeError: mat1 and mat2") for x in lines)
    assert any(x.startswith("NOBUILD models.missing: TypeError:") for x in lines)
    assert "NOSTEP models.missing: not built" in lines
    assert lines[-1] == "imported 1/2, built 3/4, forward/backward 1/3"
