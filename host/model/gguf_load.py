"""GGUF loader: validate the whole file (metadata, tensor table, sizes, types, shapes), then dequantize.

Quantized tensors (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32) are dequantized to float32 with
gguf.quants; the model re-quantizes them to its own W8A8 format at build time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from zynpu.model.config import ModelConfig, from_gguf
from zynpu.model.errors import ModelLoadError, UnsupportedModelError
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


class _CheckedReader(gguf.GGUFReader):
    """GGUFReader that checks each tensor's type and extent before mapping it, to name the bad tensor."""

    def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
        size = len(self.data)
        for field in fields:
            _, name_data, _, dims, raw_dtype, offset = field.parts
            name = bytes(name_data).decode("utf-8", "replace")
            try:
                qtype = Q(int(raw_dtype[0]))
            except ValueError:
                raise UnsupportedModelError(
                    f"tensor {name!r}: unknown GGML type {int(raw_dtype[0])}"
                ) from None
            if qtype not in SUPPORTED_TYPES:
                raise UnsupportedModelError(f"tensor {name!r}: unsupported tensor type {qtype.name}")
            block, type_size = gguf.GGML_QUANT_SIZES[qtype]
            n = int(np.prod(dims))
            if n % block:
                raise ModelLoadError(
                    f"tensor {name!r}: {n} elements is not a whole number of {qtype.name} blocks"
                )
            end = int(start_offs + offset[0]) + n // block * type_size
            if end > size:
                raise ModelLoadError(
                    f"tensor {name!r} ends at byte {end} but the file has {size} bytes (truncated?)"
                )
        super()._build_tensors(start_offs, fields)


def open_gguf(path: str | os.PathLike) -> gguf.GGUFReader:
    try:
        return _CheckedReader(path)
    except ModelLoadError as e:
        raise type(e)(f"{path}: {e}") from None
    except Exception as e:  # the gguf reader raises assorted errors on garbage; report them as one kind
        raise ModelLoadError(f"{path}: not a readable GGUF file ({type(e).__name__}: {e})") from None


def metadata(reader: gguf.GGUFReader, skip_large: bool = True) -> dict[str, Any]:
    """Key/values as Python values; the big tokenizer arrays are left to the tokenizer builder."""
    big = {
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.scores",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges",
    }
    return {k: f.contents() for k, f in reader.fields.items() if not (skip_large and k in big)}


def load_gguf(path: str | os.PathLike) -> tuple[ModelConfig, dict[str, np.ndarray], gguf.GGUFReader]:
    """Return (config, canonical float32 weights, reader); raises before dequantizing if anything is off."""
    path = Path(path)
    reader = open_gguf(path)
    meta = metadata(reader)
    tensors, shapes, original = {}, {}, {}
    for t in reader.tensors:
        name = canonical_name(t.name)
        if name is None:
            raise UnsupportedModelError(f"{path}: unexpected tensor {t.name!r} (unsupported feature?)")
        tensors[name], shapes[name], original[name] = t, tuple(int(d) for d in reversed(t.shape)), t.name
    if "embed" not in shapes:
        raise ModelLoadError(f"{path}: missing tensor 'token_embd.weight'")
    try:
        cfg = from_gguf(meta, vocab_size=shapes["embed"][0], tied="lm_head" not in shapes)
    except ModelLoadError as e:
        raise type(e)(f"{path}: {e}") from None
    check_names_and_shapes(str(path), cfg, shapes, original)
    weights = {}
    for name, t in tensors.items():
        w = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shapes[name]).astype(np.float32, copy=False)
        check_finite(str(path), t.name, w)
        if cfg.norm_offset and name.endswith("norm"):
            w = w - np.float32(cfg.norm_offset)  # llama.cpp's converter stores Gemma's (1 + w)
        weights[name] = w
    return cfg, weights, reader
