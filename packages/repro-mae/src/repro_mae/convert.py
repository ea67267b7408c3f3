"""Weights in and out: the published MAE checkpoint and the HuggingFace ViTMAE layout.

Published (facebookresearch/mae): ``{"model": state_dict, ...}`` with the names of
``models.MaskedAutoencoderViT``. HuggingFace ``ViTMAEForPreTraining`` as its Hub files
store it (``facebook/vit-mae-*``; every transformers version loads it):
``vit.embeddings.*``, ``vit.encoder.layer.{i}.*``, ``vit.layernorm.*``, ``decoder.*``,
with each fused ``qkv`` split into ``query``/``key``/``value``.
"""

import re
from typing import Dict, Tuple

import torch

from repro_core.errors import ReproError
from repro_core.fsutil import PathLike
from repro_mae import checkpoint

State = Dict[str, torch.Tensor]

# MAE name -> HF name, outside the blocks
_TOP = {
    "cls_token": "vit.embeddings.cls_token",
    "pos_embed": "vit.embeddings.position_embeddings",
    "patch_embed.proj.weight": "vit.embeddings.patch_embeddings.projection.weight",
    "patch_embed.proj.bias": "vit.embeddings.patch_embeddings.projection.bias",
    "norm.weight": "vit.layernorm.weight",
    "norm.bias": "vit.layernorm.bias",
    "mask_token": "decoder.mask_token",
    "decoder_pos_embed": "decoder.decoder_pos_embed",
}
for _m in ("decoder_embed", "decoder_norm", "decoder_pred"):
    for _t in ("weight", "bias"):
        _TOP[f"{_m}.{_t}"] = f"decoder.{_m}.{_t}"
# MAE name inside a block -> HF name inside a layer (qkv is split separately)
_BLOCK = {
    "norm1": "layernorm_before",
    "attn.proj": "attention.output.dense",
    "norm2": "layernorm_after",
    "mlp.fc1": "intermediate.dense",
    "mlp.fc2": "output.dense",
}
_PREFIX = {"blocks": "vit.encoder.layer", "decoder_blocks": "decoder.decoder_layers"}
_QKV = ("query", "key", "value")
_MAE_BLOCK_KEY = re.compile(r"^(blocks|decoder_blocks)\.(\d+)\.(.+)\.(weight|bias)$")
_HF_LAYER_KEY = re.compile(
    r"^(vit\.encoder\.layer|decoder\.decoder_layers)\.(\d+)\.(.+)\.(weight|bias)$"
)


def _check_qkv(key: str, value: torch.Tensor) -> None:
    """A fused qkv is (3*D, D) (weight) or (3*D,) (bias)."""
    shape = tuple(value.shape)
    ok = len(shape) in (1, 2) and shape[0] > 0 and shape[0] % 3 == 0
    if ok and len(shape) == 2:
        ok = shape[0] == 3 * shape[1]
    if not ok:
        need = "(3*D, D)" if key.endswith("weight") else "(3*D,)"
        raise ReproError(f"state dict key {key!r}: shape {shape} does not split into query, "
                         f"key and value {need}")


def mae_to_hf(state: State) -> State:
    """Published MAE names -> HuggingFace ViTMAEForPreTraining names."""
    out: State = {}
    for key, value in state.items():
        if key in _TOP:
            out[_TOP[key]] = value
            continue
        m = _MAE_BLOCK_KEY.match(key)
        if not m:
            raise ReproError(f"state dict key {key!r} is not an MAE parameter")
        where, i, inner, kind = m.groups()
        prefix = f"{_PREFIX[where]}.{i}"
        if inner == "attn.qkv":
            _check_qkv(key, value)
            for name, part in zip(_QKV, value.chunk(3, dim=0)):
                out[f"{prefix}.attention.attention.{name}.{kind}"] = part.clone()
        elif inner in _BLOCK:
            out[f"{prefix}.{_BLOCK[inner]}.{kind}"] = value
        else:
            raise ReproError(f"state dict key {key!r} is not an MAE parameter")
    return out


# transformers >= 5 names the layers differently in memory (``vit.layers.{i}``,
# ``attention.q_proj``, ``mlp.fc1``) and renames the Hub layout above when loading it
_V5_TO_HUB = [
    (re.compile(r"^vit\.layers\."), "vit.encoder.layer."),
    (re.compile(r"\.attention\.q_proj\."), ".attention.attention.query."),
    (re.compile(r"\.attention\.k_proj\."), ".attention.attention.key."),
    (re.compile(r"\.attention\.v_proj\."), ".attention.attention.value."),
    (re.compile(r"\.attention\.o_proj\."), ".attention.output.dense."),
    (re.compile(r"\.mlp\.fc1\."), ".intermediate.dense."),
    (re.compile(r"\.mlp\.fc2\."), ".output.dense."),
]


def _hub_name(key: str) -> str:
    for pattern, repl in _V5_TO_HUB:
        key = pattern.sub(repl, key)
    return key


def hf_to_mae(state: State) -> State:
    """HuggingFace ViTMAEForPreTraining names (the Hub files' layout, or the in-memory one
    of transformers >= 5) -> published MAE names."""
    top = {v: k for k, v in _TOP.items()}
    block = {v: k for k, v in _BLOCK.items()}
    where_of = {v: k for k, v in _PREFIX.items()}
    out: State = {}
    qkv: Dict[Tuple[str, str], Dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        key = _hub_name(key)
        if key in top:
            out[top[key]] = value
            continue
        m = _HF_LAYER_KEY.match(key)
        if not m:
            raise ReproError(f"state dict key {key!r} is not a ViTMAE parameter")
        prefix, i, inner, kind = m.groups()
        base = f"{where_of[prefix]}.{i}"
        if inner.startswith("attention.attention."):
            qkv.setdefault((base, kind), {})[inner.rsplit(".", 1)[1]] = value
        elif inner in block:
            out[f"{base}.{block[inner]}.{kind}"] = value
        else:
            raise ReproError(f"state dict key {key!r} is not a ViTMAE parameter")
    for (base, kind), parts in qkv.items():
        if sorted(parts) != sorted(_QKV):
            raise ReproError(f"{base}: attention needs query, key and value {kind}s")
        shapes = [tuple(parts[n].shape) for n in _QKV]
        if len(set(shapes)) != 1 or not shapes[0]:
            raise ReproError(f"{base}: attention query, key and value {kind}s have shapes "
                             f"{', '.join(map(str, shapes))}; they must be equal")
        out[f"{base}.attn.qkv.{kind}"] = torch.cat([parts[n] for n in _QKV], dim=0)
    return out


def is_hf_layout(state: State) -> bool:
    return any(k.startswith(("vit.", "decoder.")) for k in state)


def load_state_dict(path: PathLike) -> State:
    """MAE-named weights from a published checkpoint (``{"model": ...}``), one written
    by ``repro-mae pretrain``, a bare state dict, or a HuggingFace ViTMAE state dict."""
    obj = checkpoint.load(path)
    state = obj["model"] if isinstance(obj.get("model"), dict) else obj
    if not state:
        raise ReproError(f"{path}: holds no weights (empty state dict)")
    for key, value in state.items():
        if not isinstance(key, str):
            raise ReproError(f"{path}: not a state dict (key {key!r} is not a name)"[:200])
        if not isinstance(value, torch.Tensor):
            raise ReproError(f"{path}: not a state dict (values must be tensors; {key!r} is "
                             f"a {type(value).__name__})"[:200])
    return hf_to_mae(state) if is_hf_layout(state) else dict(state)


def save_state_dict(path: PathLike, state: State, layout: str = "mae",
                    overwrite: bool = True) -> None:
    """Write MAE-named weights as ``{"model": state}`` (``layout="mae"``, the published
    format, plus its ``sha256``) or as a bare HuggingFace state dict (``layout="hf"``),
    atomically; never over a non-regular file, nor over a file unless ``overwrite``."""
    if not state:
        raise ReproError(f"{path}: no weights to write (empty state dict)")
    if layout == "mae":
        checkpoint.save(path, {"model": state}, overwrite=overwrite)
    elif layout == "hf":
        checkpoint.save(path, mae_to_hf(state), digest=False, overwrite=overwrite)
    else:
        raise ValueError(f"layout must be 'mae' or 'hf', got {layout!r}")
