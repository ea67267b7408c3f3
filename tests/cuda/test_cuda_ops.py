"""The fused ops against the float64 PyTorch reference (the published MAE code), per op:
sample inputs -> correctness (every dtype) -> gradients -> gradcheck -> opcheck ->
torch.compile(fullgraph=True). Tolerances: at most twice the error of the same-precision
PyTorch computation (plus a few ulps), as flash-attention's tests do."""

import pytest
import torch
from cuda_helpers import DEVICES

import repro_cuda
from repro_cuda import ops, reference

DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.float16]
HAS_OPCHECK = hasattr(getattr(torch, "library", None), "opcheck")
HAS_COMPILE = hasattr(torch, "compile") and hasattr(getattr(torch, "library", None),
                                                    "register_fake")

# (N, L, D, K): odd sizes, K = 1, K = L, a single patch, ViT-ish rows
GATHER_SHAPES = [(1, 1, 1, 1), (3, 7, 5, 1), (2, 17, 33, 9), (4, 12, 64, 12), (2, 49, 768, 13)]
# (N, C, H, W, p): odd sizes, L = 1, one channel, a non-square image
LOSS_SHAPES = [(1, 1, 4, 4, 2), (2, 3, 12, 8, 4), (3, 3, 10, 15, 5), (2, 1, 7, 7, 7),
               (2, 3, 32, 48, 16)]


def gather_inputs(shape, dtype, device, requires_grad=False, seed=0):
    n, length, d, k = shape
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, length, d, generator=g, dtype=torch.float64).to(dtype).to(device)
    ids = torch.stack([torch.randperm(length, generator=g)[:k] for _ in range(n)]).to(device)
    return x.requires_grad_(requires_grad), ids


def loss_inputs(shape, dtype, device, requires_grad=False, seed=0):
    n, c, h, w, p = shape
    g = torch.Generator().manual_seed(seed)
    length = (h // p) * (w // p)
    imgs = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    pred = torch.randn(n, length, p * p * c, generator=g, dtype=torch.float64)
    mask = (torch.rand(n, length, generator=g) < 0.75).double()
    mask[0, 0] = 1.0  # at least one removed patch
    imgs, pred, mask = (t.to(dtype).to(device) for t in (imgs, pred, mask))
    return imgs, pred.requires_grad_(requires_grad), mask


def assert_within_baseline(out, ref64, baseline):
    """|out - ref64| <= 2 |baseline - ref64| + 8 eps |ref64| (elementwise max norms)."""
    out, ref64, baseline = (t.detach().double().cpu() for t in (out, ref64, baseline))
    err = (out - ref64).abs().max().item()
    base = (baseline - ref64).abs().max().item()
    scale = max(ref64.abs().max().item(), 1.0)
    tol = 2 * base + 8 * torch.finfo(out.dtype if out.is_floating_point() else
                                     torch.float64).eps * scale
    assert err <= max(tol, 1e-12), f"error {err:.3g} vs same-precision baseline {base:.3g}"


def same_precision(fn, dtype, *args):
    """The PyTorch reference run in ``dtype``; where old torch lacks a half kernel on this
    device, run it in float32 and round the result to ``dtype``."""
    try:
        return fn(*args)
    except RuntimeError:
        up = [a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
        return fn(*up).to(dtype)


# --- gather_patches ------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", GATHER_SHAPES)
def test_gather_matches_torch_gather(shape, dtype, device):
    assert repro_cuda.backend(device) == device
    x, ids = gather_inputs(shape, dtype, device)
    out = repro_cuda.gather_patches(x, ids)
    expect = torch.gather(x.double(), 1, ids[..., None].expand(-1, -1, shape[2]))
    assert out.dtype == dtype and out.shape == (shape[0], shape[3], shape[2])
    assert torch.equal(out.double(), expect)  # a copy: bit-exact


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", GATHER_SHAPES)
def test_gather_backward_scatters(shape, dtype, device):
    x, ids = gather_inputs(shape, dtype, device, requires_grad=True)
    g = torch.randn(shape[0], shape[3], shape[2], dtype=torch.float64).to(dtype).to(device)
    repro_cuda.gather_patches(x, ids).backward(g)
    x64 = x.detach().double().requires_grad_()
    reference.gather_patches(x64, ids).backward(g.double())
    assert torch.equal(x.grad.double(), x64.grad)  # distinct ids: each row copied or zero


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_backward_repeated_ids_sum(dtype, device):
    x = torch.randn(2, 5, 7, dtype=torch.float64).to(dtype).to(device).requires_grad_()
    ids = torch.tensor([[1, 1, 4, 1], [0, 3, 3, 2]], device=device)
    g = torch.randn(2, 4, 7, dtype=torch.float64).to(dtype).to(device)
    repro_cuda.gather_patches(x, ids).backward(g)
    x64 = x.detach().double().requires_grad_()
    reference.gather_patches(x64, ids).backward(g.double())
    xb = x.detach().clone().requires_grad_()
    same_precision(reference.gather_patches, dtype, xb, ids).backward(g)
    assert_within_baseline(x.grad, x64.grad, xb.grad)
    assert x.grad[0, 0].abs().sum() == 0 and x.grad[1, 4].abs().sum() == 0


@pytest.mark.parametrize("device", DEVICES)
def test_gather_gradcheck(device):
    x, ids = gather_inputs((2, 6, 3, 4), torch.float64, device, requires_grad=True)
    ids[1, 2] = ids[1, 0]  # a repeated index too
    assert torch.autograd.gradcheck(lambda t: repro_cuda.gather_patches(t, ids), (x,))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.skipif(not HAS_OPCHECK, reason="torch.library.opcheck needs torch 2.4+")
def test_gather_opcheck(device):
    x, ids = gather_inputs((2, 9, 6, 4), torch.float32, device, requires_grad=True)
    torch.library.opcheck(torch.ops.repro.gather_patches.default, (x, ids))
    g = torch.randn(2, 4, 6, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.repro.gather_patches_backward.default, (g, ids, 9))


# --- masked_patch_loss ---------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_loss_forward_backward(shape, dtype, norm, device):
    assert repro_cuda.backend(device) == device
    imgs, pred, mask = loss_inputs(shape, dtype, device, requires_grad=True)
    p = shape[4]
    loss = repro_cuda.masked_patch_loss(imgs, pred, mask, p, norm_pix_loss=norm)
    assert loss.dim() == 0 and loss.dtype == dtype
    pred64 = pred.detach().double().requires_grad_()
    ref = reference.masked_patch_loss(imgs.double(), pred64, mask.double(), p, norm)
    predb = pred.detach().clone().requires_grad_()
    base = same_precision(reference.masked_patch_loss, dtype, imgs, predb, mask, p, norm)
    assert_within_baseline(loss, ref, base)
    loss.backward()
    ref.backward()
    base.backward()
    assert pred.grad.dtype == dtype
    assert_within_baseline(pred.grad, pred64.grad, predb.grad)


@pytest.mark.parametrize("device", DEVICES)
def test_loss_matches_published_forward_loss_by_hand(device):
    """One 2x2 image, p=1, C=1, no norm: the loss is a hand-computed masked mean."""
    imgs = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], device=device)
    pred = torch.tensor([[[0.0], [2.0], [5.0], [4.0]]], device=device)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]], device=device)
    loss = repro_cuda.masked_patch_loss(imgs, pred, mask, 1, norm_pix_loss=False)
    assert loss.item() == pytest.approx((1.0 + 0.0 + 4.0) / 3)


@pytest.mark.parametrize("device", DEVICES)
def test_loss_mixed_dtypes_promote(device):
    """Under autocast MAE's pred is float16 while imgs and mask are float32."""
    imgs, pred, mask = loss_inputs((2, 3, 8, 8, 4), torch.float32, device)
    loss = repro_cuda.masked_patch_loss(imgs, pred.half(), mask, 4)
    ref = reference.masked_patch_loss(imgs, pred.half(), mask, 4)
    assert loss.dtype == ref.dtype == torch.float32
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    bool_mask = repro_cuda.masked_patch_loss(imgs, pred, mask.bool(), 4)
    assert bool_mask.item() == pytest.approx(reference.masked_patch_loss(
        imgs, pred, mask, 4).item(), rel=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("norm", [True, False])
def test_loss_gradcheck(device, norm):
    imgs, pred, mask = loss_inputs((2, 2, 4, 6, 2), torch.float64, device, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: repro_cuda.masked_patch_loss(imgs, t, mask, 2, norm_pix_loss=norm), (pred,))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.skipif(not HAS_OPCHECK, reason="torch.library.opcheck needs torch 2.4+")
def test_loss_opcheck(device):
    imgs, pred, mask = loss_inputs((2, 3, 8, 8, 4), torch.float32, device, requires_grad=True)
    torch.library.opcheck(torch.ops.repro.masked_patch_loss.default,
                          (imgs, pred, mask, 4, True, 1e-6))
    g = torch.tensor(1.5, device=device, requires_grad=True)  # its autograd too (2nd order)
    torch.library.opcheck(torch.ops.repro.masked_patch_loss_backward.default,
                          (g, imgs, pred, mask, 4, False, 1e-6))


# --- double backward (autograd.Function path of torch < 2.4 and the registered path) -----


LOSS_PATHS = {
    "public": lambda imgs, t, mask, p, norm: repro_cuda.masked_patch_loss(imgs, t, mask, p, norm),
    "autograd.Function": lambda imgs, t, mask, p, norm: ops._MaskedPatchLoss.apply(
        imgs, t, mask, p, norm, 1e-6),
}
GATHER_PATHS = {
    "public": repro_cuda.gather_patches,
    "autograd.Function": lambda x, ids: ops._GatherPatches.apply(x, ids),
}


def _hvp(fn, t, v):
    """(g, d(g . v)/dt) with g = d fn(t) / dt: a gradient and a Hessian-vector product."""
    (g,) = torch.autograd.grad(fn(t), t, create_graph=True)
    (h,) = torch.autograd.grad((g * v).sum(), t)
    return g.detach(), h


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("path", list(LOSS_PATHS))
@pytest.mark.parametrize("norm", [True, False])
def test_loss_double_backward_matches_reference(device, path, norm):
    imgs, pred, mask = loss_inputs((2, 2, 4, 6, 2), torch.float64, device, requires_grad=True)
    mask[1] = 0.5  # fractional weights too
    loss = LOSS_PATHS[path]
    v = torch.randn_like(pred)
    g, h = _hvp(lambda t: loss(imgs, t, mask, 2, norm), pred, v)
    g_ref, h_ref = _hvp(lambda t: reference.masked_patch_loss(imgs, t, mask, 2, norm), pred, v)
    torch.testing.assert_close(g, g_ref)
    torch.testing.assert_close(h, h_ref)
    assert h.abs().sum() > 0
    assert torch.autograd.gradgradcheck(lambda t: loss(imgs, t, mask, 2, norm), (pred,))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("path", list(GATHER_PATHS))
def test_gather_double_backward(device, path):
    x, ids = gather_inputs((2, 6, 3, 4), torch.float64, device, requires_grad=True)
    ids[1, 2] = ids[1, 0]
    gather = GATHER_PATHS[path]
    assert torch.autograd.gradgradcheck(lambda t: gather(t, ids) ** 2, (x,))
    v = torch.randn_like(x)
    _, h = _hvp(lambda t: (gather(t, ids) ** 3).sum(), x, v)
    _, h_ref = _hvp(lambda t: (reference.gather_patches(t, ids) ** 3).sum(), x, v)
    torch.testing.assert_close(h, h_ref)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_inputs_match_reference(device):
    imgs, pred, mask = loss_inputs((2, 3, 8, 12, 4), torch.float64, device)
    imgs_t = imgs.transpose(2, 3).contiguous().transpose(2, 3)  # same values, other strides
    pred_t = pred.transpose(0, 1).contiguous().transpose(0, 1)
    mask_t = mask.t().contiguous().t()
    assert not (imgs_t.is_contiguous() or pred_t.is_contiguous() or mask_t.is_contiguous())
    torch.testing.assert_close(repro_cuda.masked_patch_loss(imgs_t, pred_t, mask_t, 4),
                               reference.masked_patch_loss(imgs, pred, mask, 4))
    x, ids = gather_inputs((3, 10, 6, 4), torch.float64, device)
    x_t, ids_t = x[:, :, ::2], ids.t().contiguous().t()
    torch.testing.assert_close(repro_cuda.gather_patches(x_t, ids_t),
                               reference.gather_patches(x_t.contiguous(), ids))


@pytest.mark.parametrize("device", DEVICES)
def test_empty_inputs_agree_with_reference(device):
    """No removed patch (or N = 0) is 0/0 in the published code: NaN, as the reference."""
    imgs, pred, mask = loss_inputs((2, 3, 8, 8, 4), torch.float32, device)
    assert repro_cuda.masked_patch_loss(imgs, pred, torch.zeros_like(mask), 4).isnan()
    assert repro_cuda.masked_patch_loss(imgs[:0], pred[:0], mask[:0], 4).isnan()
    x, ids = gather_inputs((2, 5, 3, 2), torch.float32, device)
    assert repro_cuda.gather_patches(x, ids[:, :0]).shape == (2, 0, 3)
    assert repro_cuda.gather_patches(x[:0], ids[:0]).shape == (0, 2, 3)


# --- torch.compile --------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.skipif(not HAS_COMPILE, reason="torch.compile tracing needs torch 2.4+")
def test_compile_fullgraph_fwd_bwd(device):
    """MAE's masking gather and loss in one compiled graph, gradients as in eager."""
    torch._dynamo.reset()
    imgs, pred, mask = loss_inputs((2, 3, 8, 8, 4), torch.float32, device)
    x, ids = gather_inputs((2, 4, 48, 3), torch.float32, device)

    def step(x, pred):
        kept = repro_cuda.gather_patches(x, ids)
        return repro_cuda.masked_patch_loss(imgs, pred, mask, 4) + kept.square().mean()

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    xe, pe = x.clone().requires_grad_(), pred.clone().requires_grad_()
    xc, pc = x.clone().requires_grad_(), pred.clone().requires_grad_()
    step(xe, pe).backward()
    out = compiled(xc, pc)
    out.backward()
    assert out.item() == pytest.approx(step(x, pred).item(), rel=1e-6)
    torch.testing.assert_close(xc.grad, xe.grad)
    torch.testing.assert_close(pc.grad, pe.grad)


# --- the public API ------------------------------------------------------------------


def test_backend_and_library_path(built):
    assert repro_cuda.backend("cpu") == "cpu"
    assert repro_cuda.library_path("cpu") == built["cpu"]
    assert repro_cuda.library_path("cpu").endswith(".so")
    assert repro_cuda.library_path("cuda") == built["cuda"]
    assert repro_cuda.backend("meta") == "reference"
    with pytest.raises(ValueError, match="kind must be"):
        repro_cuda.library_path("tpu")


def test_cpu_kernels_give_the_same_bits_on_any_thread_count():
    """The CPU kernels split work over at::parallel_for (OpenMP); the per-row partial sums
    are combined in a fixed order, so 1 and 2 threads agree to the bit."""
    x, ids = gather_inputs((4, 37, 24, 9), torch.float32, "cpu", requires_grad=True)
    imgs, pred, mask = loss_inputs((4, 3, 32, 48, 16), torch.float32, "cpu", requires_grad=True)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            loss = repro_cuda.masked_patch_loss(imgs, pred, mask, 16)
            (gp,) = torch.autograd.grad(loss, pred)
            (gx,) = torch.autograd.grad(repro_cuda.gather_patches(x, ids).sum(), x)
            results.append((loss, gp, gx))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*results):
        assert torch.equal(a, b)
