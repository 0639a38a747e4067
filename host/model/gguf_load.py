"""GGUF loader: validate the whole file (metadata, tensor table, sizes, types, shapes), then dequantize.

Quantized tensors (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32) are dequantized to float32 with
gguf.quants; the model re-quantizes them to its own W8A8 format at build time.
"""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np

from zynpu.model.config import ModelConfig, from_gguf
from zynpu.model.errors import ModelLoadError, UnsupportedModelError
from zynpu.model.gguf_file import GGUFFile, read_gguf
from zynpu.model.weights import check_finite, check_names_and_shapes

Q = gguf.GGMLQuantizationType
SUPPORTED_TYPES = frozenset({Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q5_0, Q.Q4_K, Q.Q5_K, Q.Q6_K})

_LAYER_NAMES = {
    "attn_norm": "attn_norm",
    "attn_q": "wq",
    "attn_k": "wk",
    "attn_v": "wv",
    "attn_output": "wo",
    "attn_q_norm": "q_norm",
    "attn_k_norm": "k_norm",
    "post_attention_norm": "post_attn_norm",
    "ffn_norm": "ffn_norm",
    "ffn_gate": "w_gate",
    "ffn_up": "w_up",
    "ffn_down": "w_down",
    "post_ffw_norm": "post_ffn_norm",
}
_GLOBAL_NAMES = {"token_embd.weight": "embed", "output_norm.weight": "final_norm", "output.weight": "lm_head"}


def canonical_name(name: str) -> str | None:
    """GGUF tensor name -> canonical name (None if unknown)."""
    if name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[name]
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "blk" and parts[1].isdigit():
        base = _LAYER_NAMES.get(parts[2])
        if base is None:
            return None
        if parts[3] == "bias" and base in ("wq", "wk", "wv"):
            return f"layers.{parts[1]}.b{base[1]}"
        if parts[3] == "weight":
            return f"layers.{parts[1]}.{base}"
    return None


def load_gguf(path: str | os.PathLike) -> tuple[ModelConfig, dict[str, np.ndarray], GGUFFile]:
    """Return (config, canonical float32 weights, parsed file); raises before dequantizing on any fault."""
    path = Path(path)
    file = read_gguf(path)
    meta = file.fields
    tensors, shapes, original = {}, {}, {}
    for t in file.tensors:
        if t.qtype not in SUPPORTED_TYPES:
            raise UnsupportedModelError(f"{path}: tensor {t.name!r}: unsupported tensor type {t.qtype.name}")
        name = canonical_name(t.name)
        if name is None:
            raise UnsupportedModelError(f"{path}: unexpected tensor {t.name!r} (unsupported feature?)")
        tensors[name], shapes[name], original[name] = t, t.shape, t.name
    if "embed" not in shapes:
        raise ModelLoadError(f"{path}: missing tensor 'token_embd.weight'")
    try:
        cfg = from_gguf(meta, vocab_size=shapes["embed"][0], tied="lm_head" not in shapes)
    except ModelLoadError as e:
        raise type(e)(f"{path}: {e}") from None
    check_names_and_shapes(str(path), cfg, shapes, original)
    weights = {}
    for name, t in tensors.items():
        w = gguf.quants.dequantize(np.asarray(t.data), t.qtype).reshape(shapes[name]).astype(np.float32)
        check_finite(str(path), t.name, w)
        if cfg.norm_offset and name.endswith("norm"):
            w = w - np.float32(cfg.norm_offset)  # llama.cpp's converter stores Gemma's (1 + w)
        weights[name] = w
    return cfg, weights, file
