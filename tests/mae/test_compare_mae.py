"""scripts/compare_mae.py: the recorded mask draw, the comparison and the migrated copy on
repro-mae alone; against a facebookresearch/mae checkout when REPRO_MAE_REF names one."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from repro_mae import convert
from repro_mae.models import mae_vit_tiny_patch16

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_mae.py"
_spec = importlib.util.spec_from_file_location("compare_mae", SCRIPT)
compare_mae = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_mae)


def _tiny(seed):
    torch.manual_seed(seed)
    return mae_vit_tiny_patch16(img_size=32)


@pytest.fixture(scope="module")
def imgs():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(7))


def test_recorded_draw_is_the_reference_noise_and_fixes_its_mask(imgs):
    ref = _tiny(0).eval()
    torch.manual_seed(5)
    expected = torch.rand(3, 4)  # what the forward's one draw gives after this seed
    torch.manual_seed(5)
    with torch.no_grad():
        (_, _, mask), noise = compare_mae.draw_noise_once(lambda: ref(imgs, 0.75))
    assert torch.equal(noise, expected)
    # 4 patches, keep int(4 * 0.25) = 1: the one with the smallest noise, by hand
    keep = noise.argmin(dim=1)
    want = torch.ones(3, 4)
    want[torch.arange(3), keep] = 0
    assert torch.equal(mask, want)


def test_draw_noise_once_needs_exactly_one_draw():
    real = torch.rand
    with pytest.raises(RuntimeError, match="2 times"):
        compare_mae.draw_noise_once(lambda: (torch.rand(2), torch.rand(2)))
    with pytest.raises(RuntimeError, match="0 times"):
        compare_mae.draw_noise_once(lambda: None)
    with pytest.raises(ValueError):
        compare_mae.draw_noise_once(lambda: (torch.rand(1), int("x")))
    assert torch.rand is real  # restored, also after an exception


def test_converted_checkpoint_gives_the_same_loss_pred_and_mask(tmp_path, imgs):
    ref = _tiny(0)
    path = tmp_path / "official.pth"
    torch.save({"model": ref.state_dict()}, path)  # the published checkpoint layout
    ours = _tiny(1)
    assert compare_mae.differs(ref, ours)
    ours.load_state_dict(convert.load_state_dict(path), strict=True)
    c = compare_mae.compare(ref, ours, imgs)
    assert c.masks_equal and c.ref_loss == c.our_loss and c.max_dpred == 0.0
    assert c.pred_scale > 0 and c.ok(1e-5)


def test_compare_fails_on_other_weights_or_another_mask(imgs):
    ref = _tiny(0)
    other = compare_mae.compare(ref, _tiny(1), imgs)  # not loaded: different weights
    assert other.masks_equal and not other.ok(1e-5)
    assert abs(other.ref_loss - other.our_loss) > 1e-3

    class FlippedMask(torch.nn.Module):  # the same weights, the opposite patch order
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, imgs, mask_ratio, noise):
            return self.model(imgs, mask_ratio, noise=1 - noise)

    same = _tiny(0)
    flipped = compare_mae.compare(ref, FlippedMask(same), imgs)
    assert not flipped.masks_equal and not flipped.ok(1e-5)
    assert compare_mae.compare(ref, same, imgs).ok(0.0)


def test_migrated_copy_rewrites_a_copy_only(tmp_path):
    np = pytest.importorskip("numpy")
    if tuple(int(x) for x in np.__version__.split(".")[:2]) < (1, 24):
        pytest.skip(f"numpy {np.__version__} still has np.float: migrate (target: the installed "
                    "stack) rightly leaves it")
    src = tmp_path / "mae"
    (src / "util").mkdir(parents=True)
    old = "import numpy as np\nomega = np.arange(4, dtype=np.float)\n"
    (src / "util" / "pos_embed.py").write_text(old)
    (src / "models_mae.py").write_text("import torch\n")
    summary = compare_mae.migrated_copy(str(src), str(tmp_path / "copy"))
    assert "1 rewrite" in summary
    assert "dtype=float)" in (tmp_path / "copy" / "util" / "pos_embed.py").read_text()
    assert (src / "util" / "pos_embed.py").read_text() == old
    assert "not run" in compare_mae.migrated_copy(str(src), str(tmp_path / "as-is"), migrate=False)
    assert (tmp_path / "as-is" / "util" / "pos_embed.py").read_text() == old
    with pytest.raises(SystemExit, match="no models_mae.py"):
        compare_mae.migrated_copy(str(tmp_path / "copy" / "util"), str(tmp_path / "c2"))


@pytest.mark.skipif(not os.environ.get("REPRO_MAE_REF"),
                    reason="REPRO_MAE_REF (a facebookresearch/mae checkout) is not set")
def test_published_model_weights_give_the_same_loss():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, str(SCRIPT), os.environ["REPRO_MAE_REF"],
                          "--models", "tiny"], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("tiny ")]
    assert len(lines) == 4 and all(ln.endswith(" ok") for ln in lines), run.stdout
    assert "all agree" in run.stdout
