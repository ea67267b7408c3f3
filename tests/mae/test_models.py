"""The model against the published one: names, shapes, init, masking, loss, toggles."""

import math
from pathlib import Path

import pytest
import torch

from repro_mae import models
from repro_mae.models import MaskedAutoencoderViT, mae_vit_tiny_patch16, sincos_pos_embed_2d

KEYS = Path(__file__).resolve().parents[1] / "data" / "mae_state_dict_keys"
PUBLISHED = {
    "base": models.mae_vit_base_patch16,
    "large": models.mae_vit_large_patch16,
    "huge": models.mae_vit_huge_patch14,
}
HAS_META_CTX = hasattr(torch.device("meta"), "__enter__")  # torch >= 2.0


def _published(size):
    with open(KEYS / f"{size}.txt") as f:
        return [tuple(line.split()) for line in f if line.strip()]


@pytest.mark.parametrize("size", sorted(PUBLISHED))
def test_state_dict_matches_published_keys_and_shapes(size):
    expected = _published(size)
    if HAS_META_CTX:  # the real configuration, no memory allocated
        with torch.device("meta"):
            model = PUBLISHED[size]()
        got = [(k, "x".join(map(str, v.shape))) for k, v in model.state_dict().items()]
        assert got == expected
    else:  # torch 1.x: the same depths at a small width; names only
        p, depth = {"base": (16, 12), "large": (16, 24), "huge": (14, 32)}[size]
        model = MaskedAutoencoderViT(img_size=2 * p, patch_size=p, embed_dim=16,
                                     depth=depth, num_heads=2, decoder_embed_dim=8,
                                     decoder_depth=8, decoder_num_heads=2)
        assert list(model.state_dict()) == [k for k, _ in expected]


def test_published_long_names_are_the_same_factories():
    assert models.MODELS["mae_vit_large_patch16_dec512d8b"] is models.mae_vit_large_patch16
    with pytest.raises(ValueError, match="mae_vit_base_patch16"):
        models.create_model("mae_vit_nope")


def test_pos_embed_is_the_2d_sincos_formula():
    dim, grid = 16, 3
    emb = sincos_pos_embed_2d(dim, grid, cls_token=True)
    assert emb.shape == (grid * grid + 1, dim)
    assert (emb[0] == 0).all()
    quarter = dim // 4
    for row in range(grid):
        for col in range(grid):
            e = emb[1 + row * grid + col]
            for k in range(quarter):
                w = 1.0 / 10000 ** (k / quarter)
                # first half: column, second half: row; each [sin..., cos...]
                assert e[k] == pytest.approx(math.sin(col * w))
                assert e[quarter + k] == pytest.approx(math.cos(col * w))
                assert e[2 * quarter + k] == pytest.approx(math.sin(row * w))
                assert e[3 * quarter + k] == pytest.approx(math.cos(row * w))
    model = mae_vit_tiny_patch16(img_size=48)
    assert torch.equal(model.pos_embed[0].double(),
                       torch.from_numpy(sincos_pos_embed_2d(192, 3, True)).float().double())
    assert not model.pos_embed.requires_grad and not model.decoder_pos_embed.requires_grad


def test_init_scheme():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64)
    qkv = model.blocks[0].attn.qkv.weight  # (3*192, 192): xavier bound sqrt(6 / (fan_in+out))
    bound = math.sqrt(6.0 / (192 + 3 * 192))
    assert qkv.abs().max() <= bound and qkv.abs().max() > 0.95 * bound
    assert torch.all(model.blocks[0].attn.qkv.bias == 0)
    w = model.patch_embed.proj.weight.reshape(192, -1)  # xavier as a (192, 768) linear
    assert w.abs().max() <= math.sqrt(6.0 / (192 + 768))
    assert abs(model.cls_token.std().item() - 0.02) < 0.006
    assert torch.all(model.norm.weight == 1) and torch.all(model.norm.bias == 0)
    assert model.norm.eps == 1e-6


# Values from torch 2.14 + timm 1.0.31; the same on torch 1.10 + timm 0.4.12 (weights are
# drawn in the same order whatever the timm version), so a seed means the same model.
GOLDEN_TINY_SEED0 = {"cls_token": -0.126887, "patch_embed.proj.weight": 4.705591,
                     "blocks.3.mlp.fc2.weight": 5828.033279, "loss": 1.305642}


def test_same_seed_same_weights_and_loss_across_versions():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64, fused_attn=False)
    sd = model.state_dict()
    assert sd["cls_token"].double().sum().item() == pytest.approx(
        GOLDEN_TINY_SEED0["cls_token"], abs=1e-6)
    assert sd["patch_embed.proj.weight"].double().sum().item() == pytest.approx(
        GOLDEN_TINY_SEED0["patch_embed.proj.weight"], abs=1e-5)
    assert sd["blocks.3.mlp.fc2.weight"].double().abs().sum().item() == pytest.approx(
        GOLDEN_TINY_SEED0["blocks.3.mlp.fc2.weight"], abs=1e-3)
    torch.manual_seed(1)
    imgs = torch.randn(4, 3, 64, 64)
    loss, _, _ = model(imgs)
    assert loss.item() == pytest.approx(GOLDEN_TINY_SEED0["loss"], abs=1e-5)


def _patchify_by_hand(imgs, p):
    """Independent of the model: slice each patch and flatten it in (p, q, c) order."""
    n, c, h, w = imgs.shape
    out = []
    for i in range(h // p):
        for j in range(w // p):
            patch = imgs[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p]
            out.append(patch.permute(0, 2, 3, 1).reshape(n, -1))
    return torch.stack(out, dim=1)


def _published_loss(imgs, pred, mask, p, norm_pix):
    target = _patchify_by_hand(imgs, p).double()
    if norm_pix:
        mean = target.mean(-1, keepdim=True)
        var = target.var(-1, keepdim=True)  # unbiased, as published
        target = (target - mean) / (var + 1e-6) ** 0.5
    per_patch = ((pred.double() - target) ** 2).mean(-1)
    return (per_patch * mask).sum() / mask.sum()


@pytest.mark.parametrize("norm_pix", [False, True])
def test_loss_equals_published_formula_on_own_pred_and_mask(norm_pix):
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64, norm_pix_loss=norm_pix)
    imgs = torch.randn(3, 3, 64, 64)
    loss, pred, mask = model(imgs, mask_ratio=0.75)
    assert pred.shape == (3, 16, 768) and mask.shape == (3, 16)
    assert torch.all(mask.sum(1) == 12)  # 16 * 0.75 removed per sample
    ref = _published_loss(imgs, pred.detach(), mask, 16, norm_pix)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    assert torch.equal(model.unpatchify(model.patchify(imgs)), imgs)


def test_noise_fixes_the_mask_and_encoder_sees_only_kept_patches():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64)
    noise = torch.rand(2, 16)
    imgs = torch.randn(2, 3, 64, 64)
    latent, mask, ids_restore = model.forward_encoder(imgs, 0.75, noise)
    keep = noise.argsort(1)[:, :4]
    expected = torch.ones(2, 16)
    expected.scatter_(1, keep, 0.0)
    assert torch.equal(mask, expected)
    assert torch.equal(ids_restore.argsort(1)[:, :4], keep)
    # change only removed pixels: the encoder output must not move
    removed = (mask.reshape(2, 4, 4) == 1).repeat_interleave(16, 1).repeat_interleave(16, 2)
    imgs2 = torch.where(removed.unsqueeze(1), torch.randn_like(imgs), imgs)
    latent2, mask2, _ = model.forward_encoder(imgs2, 0.75, noise)
    assert torch.equal(mask2, mask)
    assert torch.allclose(latent2, latent, atol=1e-6)
    with pytest.raises(ValueError, match="noise must have shape"):
        model.forward_encoder(imgs, 0.75, torch.rand(2, 15))


def _grads(model, imgs, noise):
    model.zero_grad()
    loss, _, _ = model(imgs, noise=noise)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                           if p.grad is not None}


def test_checkpoint_activations_gives_equal_grads():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64)
    imgs, noise = torch.randn(2, 3, 64, 64), torch.rand(2, 16)
    loss_a, grads_a = _grads(model, imgs, noise)
    model.set_grad_checkpointing(True)
    loss_b, grads_b = _grads(model, imgs, noise)
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 50
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], rtol=1e-5, atol=1e-8), name


@pytest.mark.skipif(not models.has_sdpa(), reason="torch < 2.0 has no SDPA")
def test_sdpa_attention_equals_classic_attention():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64, fused_attn=False)
    imgs, noise = torch.randn(2, 3, 64, 64), torch.rand(2, 16)
    loss_a, grads_a = _grads(model, imgs, noise)
    model.fused_attn = True
    loss_b, grads_b = _grads(model, imgs, noise)
    assert loss_b.item() == pytest.approx(loss_a.item(), rel=1e-5)
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], rtol=1e-3, atol=1e-6), name


def test_fused_ops_agree_with_plain_pytorch():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=64, fused_ops=True)
    imgs, noise = torch.randn(2, 3, 64, 64), torch.rand(2, 16)
    loss_a, grads_a = _grads(model, imgs, noise)
    model.fused_ops = False
    loss_b, grads_b = _grads(model, imgs, noise)
    assert loss_b.item() == pytest.approx(loss_a.item(), rel=1e-6)
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], rtol=1e-4, atol=1e-7), name


def test_tiny_model_loss_falls_on_a_fixed_batch():
    torch.manual_seed(0)
    model = mae_vit_tiny_patch16(img_size=32)
    imgs, noise = torch.randn(8, 3, 32, 32), torch.rand(8, 4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss, _, _ = model(imgs, noise=noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses
