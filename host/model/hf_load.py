"""HF checkpoint loader: config.json + *.safetensors (HF tensor names), validated before anything is built.

The safetensors header is parsed here rather than with the safetensors package because numpy has no
bfloat16 (most HF checkpoints) and because a truncated file must be reported by tensor name.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from zynpu.model.config import ModelConfig, from_hf
from zynpu.model.errors import ModelLoadError, UnsupportedModelError
from zynpu.model.weights import check_finite, check_names_and_shapes

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}
_LAYER = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "wq",
    "self_attn.k_proj": "wk",
    "self_attn.v_proj": "wv",
    "self_attn.o_proj": "wo",
    "self_attn.q_norm": "q_norm",
    "self_attn.k_norm": "k_norm",
    "mlp.gate_proj": "w_gate",
    "mlp.up_proj": "w_up",
    "mlp.down_proj": "w_down",
    "pre_feedforward_layernorm": "ffn_norm",
    "post_feedforward_layernorm": "post_ffn_norm",
}
_IGNORED = ("rotary_emb.inv_freq",)


def canonical_name(name: str, cfg: ModelConfig) -> str | None:
    for prefix in ("model.language_model.", "language_model.model.", "model."):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name == "embed_tokens.weight":
        return "embed"
    if name == "norm.weight":
        return "final_norm"
    if name == "lm_head.weight":
        return "lm_head"
    parts = name.split(".")
    if len(parts) < 4 or parts[0] != "layers" or not parts[1].isdigit():
        return None
    module, kind = ".".join(parts[2:-1]), parts[-1]
    if module == "post_attention_layernorm":  # Llama/Qwen: the pre-MLP norm; Gemma 3: after attention
        base = "post_attn_norm" if cfg.sandwich_norm else "ffn_norm"
    else:
        base = _LAYER.get(module)  # type: ignore[assignment]
    if base is None:
        return None
    if kind == "bias" and base in ("wq", "wk", "wv"):
        return f"layers.{parts[1]}.b{base[1]}"
    return f"layers.{parts[1]}.{base}" if kind == "weight" else None


def _read_header(path: Path) -> tuple[dict[str, Any], int, int]:
    size = path.stat().st_size
    with path.open("rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ModelLoadError(f"{path}: too short to be a safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n > size - 8:
            raise ModelLoadError(
                f"{path}: header length {n} exceeds file size {size} (truncated or not safetensors)"
            )
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise ModelLoadError(f"{path}: corrupt safetensors header ({e})") from None
    header.pop("__metadata__", None)
    return header, 8 + n, size


def load_hf(model_dir: str | os.PathLike) -> tuple[ModelConfig, dict[str, np.ndarray]]:
    """Return (config, canonical float32 weights) from a HF model folder."""
    d = Path(model_dir)
    try:
        cfg = from_hf(json.loads((d / "config.json").read_text()))
    except FileNotFoundError:
        raise ModelLoadError(f"{d}: no config.json") from None
    except (KeyError, ValueError) as e:
        raise ModelLoadError(f"{d / 'config.json'}: invalid ({type(e).__name__}: {e})") from None
    files = sorted(d.glob("*.safetensors"))
    if not files:
        raise ModelLoadError(f"{d}: no *.safetensors files")
    entries, shapes, original = {}, {}, {}
    for path in files:
        header, base, size = _read_header(path)
        for tname, info in header.items():
            if tname.endswith(_IGNORED):
                continue
            name = canonical_name(tname, cfg)
            if name is None:
                raise UnsupportedModelError(f"{path}: unexpected tensor {tname!r} (unsupported feature?)")
            dtype = info.get("dtype")
            if dtype not in _DTYPES:
                raise UnsupportedModelError(f"{path}: tensor {tname!r} has unsupported dtype {dtype}")
            shape = tuple(info["shape"])
            start, end = info["data_offsets"]
            if end - start != int(np.prod(shape)) * np.dtype(_DTYPES[dtype]).itemsize:
                raise ModelLoadError(
                    f"{path}: tensor {tname!r} byte range does not match shape {shape} {dtype}"
                )
            if base + end > size:
                raise ModelLoadError(
                    f"{path}: tensor {tname!r} ends at byte {base + end} but the file has "
                    f"{size} bytes (truncated?)"
                )
            entries[name] = (path, base + start, dtype, shape)
            shapes[name], original[name] = shape, tname
    if cfg.tie_embeddings:
        if "lm_head" in shapes:  # some tied checkpoints still store a copy
            shapes.pop("lm_head")
            entries.pop("lm_head")
    elif "lm_head" not in shapes:
        raise ModelLoadError(f"{d}: config says untied embeddings but there is no lm_head.weight")
    check_names_and_shapes(str(d), cfg, shapes, original)
    weights = {}
    for name, (path, offset, dtype, shape) in entries.items():
        raw = np.memmap(path, dtype=_DTYPES[dtype], mode="r", offset=offset, shape=shape)
        if dtype == "BF16":
            w = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            w = np.array(raw, dtype=np.float32)
        check_finite(str(path), original[name], w)
        weights[name] = w
    return cfg, weights
