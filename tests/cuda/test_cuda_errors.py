"""Bad input raises a clear error before anything runs: through the public API (compiled
path), the raw torch.ops.repro ops, and the reference fallback's checks."""

import pytest
import torch
from cuda_helpers import DEVICES, HAS_CUDA

import repro_cuda
from repro_cuda import ops

ERRORS = (RuntimeError, ValueError)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("bad, message", [
    (lambda d: (torch.randn(2, 5, 3, device=d), torch.tensor([[0, 5]] * 2, device=d)),
     r"in \[0, L=5\).*max 5"),
    (lambda d: (torch.randn(2, 5, 3, device=d), torch.tensor([[-1, 0]] * 2, device=d)),
     r"min -1"),
    (lambda d: (torch.randn(2, 5, 3, device=d), torch.zeros(3, 2, dtype=torch.long, device=d)),
     r"\(N, K\) with N=2"),
    (lambda d: (torch.randn(2, 5, 3, device=d), torch.zeros(2, 2, dtype=torch.int32, device=d)),
     r"int64"),
    (lambda d: (torch.randn(5, 3, device=d), torch.zeros(5, 2, dtype=torch.long, device=d)),
     r"\(N, L, D\)"),
    (lambda d: (torch.ones(2, 5, 3, dtype=torch.int32, device=d),
                torch.zeros(2, 2, dtype=torch.long, device=d)), r"float"),
])
def test_gather_rejects(device, bad, message):
    x, ids = bad(device)
    with pytest.raises(ERRORS, match=message):
        repro_cuda.gather_patches(x, ids)
    with pytest.raises(ERRORS, match=message):
        torch.ops.repro.gather_patches(x, ids)
    with pytest.raises(ERRORS, match=message):  # the reference path's own checks
        ops.check_gather(x, ids)


@pytest.mark.parametrize("device", DEVICES)
def test_gather_backward_rejects(device):
    g = torch.randn(2, 3, 4, device=device)
    with pytest.raises(RuntimeError, match=r"in \[0, L=2\)"):
        torch.ops.repro.gather_patches_backward(g, torch.tensor([[0, 1, 2]] * 2, device=device), 2)
    with pytest.raises(RuntimeError, match="K=2 but grad has K=3"):
        torch.ops.repro.gather_patches_backward(g, torch.tensor([[0, 1]] * 2, device=device), 4)


def _loss_args(device, **over):
    args = dict(imgs=torch.randn(2, 3, 8, 8, device=device),
                pred=torch.randn(2, 4, 48, device=device),
                mask=torch.ones(2, 4, device=device), patch_size=4)
    args.update(over)
    return args


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("over, message", [
    (dict(pred=torch.randn(2, 4, 47)), r"pred must be \(N, L, p\*p\*C\) = \(2, 4, 48\)"),
    (dict(mask=torch.ones(2, 5)), r"mask must be \(N, L\) = \(2, 4\)"),
    (dict(patch_size=3), r"patch_size 3 must divide H=8"),
    (dict(patch_size=0), r"patch_size"),
    (dict(imgs=torch.randn(3, 8, 8)), r"imgs must be \(N, C, H, W\)"),
    (dict(pred=torch.ones(2, 4, 48, dtype=torch.long)), r"pred must be a floating tensor"),
    (dict(mask=torch.ones(2, 4, dtype=torch.long)), r"mask must be floating or bool"),
])
def test_loss_rejects(device, over, message):
    over = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in over.items()}
    with pytest.raises(ERRORS, match=message):
        repro_cuda.masked_patch_loss(**_loss_args(device, **over))


@pytest.mark.parametrize("device", DEVICES)
def test_loss_raw_op_rejects_mixed_dtypes(device):
    a = _loss_args(device)
    with pytest.raises(RuntimeError, match="share one dtype"):
        torch.ops.repro.masked_patch_loss(a["imgs"].double(), a["pred"], a["mask"], 4, True, 1e-6)
    with pytest.raises(RuntimeError, match="eps must be >= 0"):
        torch.ops.repro.masked_patch_loss(a["imgs"], a["pred"], a["mask"], 4, True, -1.0)


def test_loss_differentiable_in_pred_only():
    a = _loss_args("cpu")
    with pytest.raises(ValueError, match="differentiable in pred only.*imgs"):
        repro_cuda.masked_patch_loss(a["imgs"].requires_grad_(), a["pred"], a["mask"], 4)


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.cuda
def test_device_mismatch():
    x = torch.randn(2, 5, 3, device="cuda")
    with pytest.raises(RuntimeError, match="ids_keep is on cpu"):
        torch.ops.repro.gather_patches(x, torch.zeros(2, 1, dtype=torch.long))
    a = _loss_args("cuda")
    with pytest.raises(RuntimeError, match="mask is on cpu"):
        torch.ops.repro.masked_patch_loss(a["imgs"], a["pred"], a["mask"].cpu(), 4, True, 1e-6)
