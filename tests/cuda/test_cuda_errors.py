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


# --- every bad input: one ValueError/RuntimeError line, before anything runs ---------------


def _other(device):
    """A device other than ``device`` that tensors can live on here."""
    return "meta" if device == "cpu" else "cpu"


def _x(d, *shape, dtype=torch.float32):
    return torch.randn(*(shape or (2, 5, 3)), device=d).to(dtype)


def _ids(d, rows=((0, 4), (1, 1)), dtype=torch.long):
    return torch.tensor(rows, dtype=dtype, device=d)


GATHER_BAD = {
    "x int32": lambda d: (_x(d, dtype=torch.int32), _ids(d)),
    "x complex": lambda d: (_x(d, dtype=torch.complex64), _ids(d)),
    "x 2-D": lambda d: (_x(d, 2, 5), _ids(d)),
    "x 4-D": lambda d: (_x(d, 1, 2, 5, 3), _ids(d)),
    "x a list": lambda d: ([[0.0]], _ids(d)),
    "ids a list": lambda d: (_x(d), [[0, 1], [1, 1]]),
    "ids int32": lambda d: (_x(d), _ids(d, dtype=torch.int32)),
    "ids float": lambda d: (_x(d), _ids(d, dtype=torch.float32)),
    "ids 1-D": lambda d: (_x(d), _ids(d)[0]),
    "ids wrong N": lambda d: (_x(d), _ids(d, rows=((0,), (1,), (2,)))),
    "ids = L": lambda d: (_x(d), _ids(d, rows=((0, 5), (1, 1)))),
    "ids negative": lambda d: (_x(d), _ids(d, rows=((0, -1), (1, 1)))),
    "ids strided, out of range": lambda d: (_x(d), _ids(d, rows=((0, 1, 9), (1, 2, 3)))[:, ::2]),
    "empty L, K > 0": lambda d: (_x(d, 2, 0, 3), _ids(d, rows=((0,), (0,)))),
    "ids on meta": lambda d: (_x(d), _ids("meta")),
    "x on meta": lambda d: (_x("meta"), _ids(d)),
    "ids on another device": lambda d: (_x(d), _ids(_other(d))),
}


def _loss(d, imgs=None, pred=None, mask=None, p=4, **kw):
    return dict(imgs=torch.randn(2, 3, 8, 8, device=d) if imgs is None else imgs,
                pred=torch.randn(2, 4, 48, device=d) if pred is None else pred,
                mask=torch.ones(2, 4, device=d) if mask is None else mask,
                patch_size=p, **kw)


LOSS_BAD = {
    "imgs int64": lambda d: _loss(d, imgs=torch.ones(2, 3, 8, 8, dtype=torch.long, device=d)),
    "pred complex": lambda d: _loss(d, pred=torch.ones(2, 4, 48, dtype=torch.complex64,
                                                       device=d)),
    "mask int64": lambda d: _loss(d, mask=torch.ones(2, 4, dtype=torch.long, device=d)),
    "imgs 3-D": lambda d: _loss(d, imgs=torch.randn(3, 8, 8, device=d)),
    "pred wrong P": lambda d: _loss(d, pred=torch.randn(2, 4, 47, device=d)),
    "pred wrong L": lambda d: _loss(d, pred=torch.randn(2, 5, 48, device=d)),
    "mask wrong L": lambda d: _loss(d, mask=torch.ones(2, 5, device=d)),
    "mask 1-D": lambda d: _loss(d, mask=torch.ones(8, device=d)),
    "patch_size 3": lambda d: _loss(d, p=3),
    "patch_size 0": lambda d: _loss(d, p=0),
    "patch_size -4": lambda d: _loss(d, p=-4),
    "patch_size 4.5": lambda d: _loss(d, p=4.5),
    "patch_size '4'": lambda d: _loss(d, p="4"),
    "patch_size None": lambda d: _loss(d, p=None),
    "eps -1": lambda d: _loss(d, eps=-1.0),
    "eps nan": lambda d: _loss(d, eps=float("nan")),
    "eps 'x'": lambda d: _loss(d, eps="x"),
    "imgs a list": lambda d: _loss(d, imgs=[[0.0]]),
    "mask None": lambda d: dict(_loss(d), mask=None),
    "imgs requires grad": lambda d: _loss(d, imgs=torch.randn(2, 3, 8, 8, device=d,
                                                              requires_grad=True)),
    "mask on meta": lambda d: _loss(d, mask=torch.ones(2, 4, device="meta")),
    "imgs on meta": lambda d: _loss(d, imgs=torch.randn(2, 3, 8, 8, device="meta")),
    "pred on meta": lambda d: _loss(d, pred=torch.randn(2, 4, 48, device="meta")),
    "mask on another device": lambda d: _loss(d, mask=torch.ones(2, 4, device=_other(d))),
}


def _one_line_error(call):
    with pytest.raises(ERRORS) as info:
        call()
    assert type(info.value) in ERRORS  # not a subclass such as NotImplementedError
    msg = str(info.value)
    assert msg and "\n" not in msg.strip(), msg
    return msg


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", list(GATHER_BAD))
def test_gather_bad_input_is_one_line(device, case):
    x, ids = GATHER_BAD[case](device)
    msg = _one_line_error(lambda: repro_cuda.gather_patches(x, ids))
    assert msg.startswith(("gather_patches: ", "repro::gather_patches: ")), msg


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", list(LOSS_BAD))
def test_loss_bad_input_is_one_line(device, case):
    args = LOSS_BAD[case](device)
    msg = _one_line_error(lambda: repro_cuda.masked_patch_loss(**args))
    assert msg.startswith(("masked_patch_loss", "repro::masked_patch_loss")), msg


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.skipif(ops._REGISTER_FAKE is None, reason="torch < 2.1 has no fake kernels")
def test_meta_beside_real_tensors_is_refused_by_the_raw_ops(device):
    """The dispatcher sends any call with a meta argument to the fake kernel, which must
    refuse mixed devices rather than return uninitialised memory."""
    x, ids = _x(device), _ids(device)
    with pytest.raises(RuntimeError, match="all tensors must be on one device.*ids_keep on meta"):
        torch.ops.repro.gather_patches(x, ids.to("meta"))
    with pytest.raises(RuntimeError, match="one device.*ids_keep on meta"):
        torch.ops.repro.gather_patches_backward(_x(device, 2, 2, 3), ids.to("meta"), 5)
    a = _loss(device)
    with pytest.raises(RuntimeError, match="one device.*mask on meta"):
        torch.ops.repro.masked_patch_loss(a["imgs"], a["pred"], a["mask"].to("meta"), 4, True,
                                          1e-6)
    with pytest.raises(RuntimeError, match="one device.*imgs on meta"):
        torch.ops.repro.masked_patch_loss_backward(torch.tensor(1.0, device=device),
                                                   a["imgs"].to("meta"), a["pred"], a["mask"],
                                                   4, True, 1e-6)


@pytest.mark.skipif(ops._REGISTER_FAKE is None,
                    reason="torch < 2.1 lacks meta kernels for the reference's ops (var)")
def test_all_meta_gives_shapes_without_a_warning():
    """All inputs on meta is shape inference (e.g. a model built on the meta device)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = repro_cuda.gather_patches(_x("meta"), _ids("meta"))
        loss = repro_cuda.masked_patch_loss(**_loss("meta"))
    assert out.device.type == "meta" and out.shape == (2, 2, 3)
    assert loss.device.type == "meta" and loss.shape == ()


def test_old_torch_stack_traces_are_cut_to_one_line():
    """torch < 2 appends the C++ stack trace to a TORCH_CHECK message: the ops keep line one."""
    def failing(*args):
        raise RuntimeError("repro::gather_patches: ids_keep values must be in [0, L=5)\n"
                           "Exception raised from check_ids at csrc/checks.h:31\nframe #0: ...")

    with pytest.raises(RuntimeError) as info:
        ops._one_line(failing)
    assert str(info.value) == "repro::gather_patches: ids_keep values must be in [0, L=5)"

    def other(*args):
        raise RuntimeError("CUDA out of memory.\nTried to allocate ...")

    with pytest.raises(RuntimeError, match="(?s)out of memory.*Tried"):  # not ours: untouched
        ops._one_line(other)


@pytest.mark.skipif(not ops._NATIVE_AUTOGRAD, reason="torch < 2.4: no autograd on the raw op")
def test_raw_loss_op_refuses_grad_on_imgs_rather_than_returning_none():
    a = _loss("cpu")
    imgs = a["imgs"].requires_grad_()
    with pytest.raises(ValueError, match="differentiable in pred only.*imgs"):
        torch.ops.repro.masked_patch_loss(imgs, a["pred"], a["mask"], 4, True, 1e-6)
