"""Weights in and out: published format, HuggingFace ViTMAE layout, bad files."""

import pytest
import torch

from repro_core.errors import ReproError
from repro_mae import checkpoint, cli, convert
from repro_mae.models import mae_vit_tiny_patch16


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(0)
    return mae_vit_tiny_patch16(img_size=32).state_dict()


def test_hf_names_and_qkv_split(state):
    hf = convert.mae_to_hf(state)
    # names as HuggingFace's ViTMAEForPreTraining spells them
    assert hf["vit.embeddings.cls_token"] is state["cls_token"]
    assert hf["vit.embeddings.patch_embeddings.projection.weight"].shape == (192, 3, 16, 16)
    assert "vit.layernorm.weight" in hf and "decoder.decoder_pred.bias" in hf
    assert "decoder.decoder_layers.1.output.dense.weight" in hf
    assert "vit.encoder.layer.3.intermediate.dense.weight" in hf
    assert "vit.encoder.layer.0.attention.output.dense.weight" in hf
    q = hf["vit.encoder.layer.0.attention.attention.query.weight"]
    k = hf["vit.encoder.layer.0.attention.attention.key.bias"]
    v = hf["decoder.decoder_layers.1.attention.attention.value.weight"]
    assert torch.equal(q, state["blocks.0.attn.qkv.weight"][:192])
    assert torch.equal(k, state["blocks.0.attn.qkv.bias"][192:384])
    assert torch.equal(v, state["decoder_blocks.1.attn.qkv.weight"][256:])
    # 2 qkv tensors per block become 6
    n_blocks = 4 + 2
    assert len(hf) == len(state) + 4 * n_blocks


def test_round_trip_both_ways(state):
    back = convert.hf_to_mae(convert.mae_to_hf(state))
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) for k in state)
    hf = convert.mae_to_hf(state)
    again = convert.mae_to_hf(convert.hf_to_mae(hf))
    assert again.keys() == hf.keys() and all(torch.equal(again[k], hf[k]) for k in hf)


def test_files_load_strictly_into_the_model(tmp_path, state):
    published = tmp_path / "mae_pretrain.pth"
    torch.save({"model": state, "optimizer": {}, "epoch": 799, "args": {}}, str(published))
    hf = tmp_path / "pytorch_model.bin"
    torch.save(convert.mae_to_hf(state), str(hf))
    for path in (published, hf):
        model = mae_vit_tiny_patch16(img_size=32)
        model.load_state_dict(convert.load_state_dict(path), strict=True)
        assert torch.equal(model.blocks[2].attn.qkv.weight, state["blocks.2.attn.qkv.weight"])


def test_cli_convert_round_trip(tmp_path, state):
    src = tmp_path / "in.pth"
    convert.save_state_dict(src, state)
    assert cli.main(["convert", str(src), str(tmp_path / "hf.bin"), "--to", "hf"]) == 0
    assert cli.main(["convert", str(tmp_path / "hf.bin"), str(tmp_path / "out.pth")]) == 0
    out = checkpoint.load(tmp_path / "out.pth")["model"]
    assert all(torch.equal(out[k], state[k]) for k in state)


def test_bad_files_are_clear_errors(tmp_path, state, capsys):
    good = tmp_path / "good.pth"
    convert.save_state_dict(good, state)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:-4096])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a checkpoint" * 10)
    for path in (truncated, garbage):
        with pytest.raises(ReproError, match="not a readable checkpoint"):
            convert.load_state_dict(path)
    with pytest.raises(ReproError, match="no such checkpoint"):
        convert.load_state_dict(tmp_path / "missing.pth")
    with pytest.raises(ReproError, match="'head.weight' is not an MAE parameter"):
        convert.mae_to_hf({"head.weight": torch.zeros(1)})
    assert cli.main(["convert", str(truncated), str(tmp_path / "x.bin")]) == 2
    assert str(truncated) in capsys.readouterr().err
    assert not (tmp_path / "x.bin").exists()


@pytest.mark.skipif(not checkpoint.HAS_WEIGHTS_ONLY, reason="torch <= 1.13: no usable weights_only")
def test_loading_never_runs_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"model": {"x": torch.zeros(1)}, "payload": Evil()}, str(path))
    with pytest.raises(ReproError, match="not a readable checkpoint"):
        checkpoint.load(path)


def test_published_training_checkpoint_with_namespace_args_loads(tmp_path, state):
    import argparse

    path = tmp_path / "checkpoint-799.pth"
    torch.save({"model": state, "epoch": 799,
                "args": argparse.Namespace(model="mae_vit_tiny_patch16")}, str(path))
    if checkpoint.HAS_WEIGHTS_ONLY and not hasattr(torch.serialization, "safe_globals"):
        with pytest.raises(ReproError, match="not a readable checkpoint"):
            convert.load_state_dict(path)  # torch 1.13-2.4: still a clear error
    else:
        assert convert.load_state_dict(path).keys() == state.keys()


def test_transformers5_in_memory_names_convert_back(state):
    """transformers >= 5 keeps ViTMAE as vit.layers.{i}.attention.q_proj / mlp.fc1 etc."""
    v5 = {}
    for key, value in convert.mae_to_hf(state).items():
        key = key.replace("vit.encoder.layer.", "vit.layers.")
        for old, new in (("attention.attention.query", "attention.q_proj"),
                         ("attention.attention.key", "attention.k_proj"),
                         ("attention.attention.value", "attention.v_proj"),
                         ("attention.output.dense", "attention.o_proj"),
                         ("intermediate.dense", "mlp.fc1"), ("output.dense", "mlp.fc2")):
            key = key.replace(old, new)
        v5[key] = value
    assert "vit.layers.3.attention.o_proj.weight" in v5
    assert "decoder.decoder_layers.1.mlp.fc2.bias" in v5
    back = convert.hf_to_mae(v5)
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)
