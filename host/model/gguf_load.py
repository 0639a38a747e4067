"""GGUF loader: validate the whole file (metadata, tensor table, sizes, types, shapes, values), then
hand out float32 tensors dequantized on demand from the memory-mapped file.

Quantized tensors (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32) are dequantized to float32 with
gguf.quants when the model asks for them; it re-quantizes them to its own W8A8 format at build time,
one layer at a time, so the whole model never exists as float32 (a board has 4 GB for everything).
The token embedding stays in its stored blocks for good (`embedding.StoredRows`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import gguf
import numpy as np

from zynpu.model.config import ModelConfig, from_gguf
from zynpu.model.embedding import QUANTIZE_ROWS, StoredRows
from zynpu.model.errors import ModelLoadError, UnsupportedModelError
from zynpu.model.gguf_file import GGUFFile, GGUFTensor, read_gguf
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


def load_gguf(path: str | os.PathLike) -> tuple[ModelConfig, GGUFWeights, GGUFFile]:
    """Return (config, canonical float32 weights on demand, parsed file); raises on any fault before a
    weight is handed out (every value is checked finite here, block by block)."""
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
    weights = GGUFWeights(file, tensors, cfg.norm_offset)
    for name, t in tensors.items():
        table = weights.rows(name)
        for a in range(0, len(table), QUANTIZE_ROWS):
            check_finite(str(path), t.name, table.block(a, a + QUANTIZE_ROWS))
    return cfg, weights, file


class GGUFWeights(Mapping[str, np.ndarray]):
    """Canonical name -> float32 tensor, dequantized from the mapped file each time it is asked for.

    The tensors of the layer read last are kept (the model builder reads each several times); a new
    layer replaces them, so at most one layer exists as float32. "embed" is a `StoredRows`.
    """

    def __init__(self, file: GGUFFile, tensors: dict[str, GGUFTensor], norm_offset: float) -> None:
        self.file, self.tensors, self.norm_offset = file, tensors, norm_offset
        self._layer, self._cached = "", {}  # type: tuple[str, dict[str, np.ndarray]]

    def rows(self, name: str) -> StoredRows:
        """The tensor as a row table (a 1-D tensor is one row), read without keeping its pages."""
        t = self.tensors[name]
        data = t.data if len(t.shape) > 1 else t.data.reshape(1, -1)
        shape = t.shape if len(t.shape) > 1 else (1, t.shape[0])
        qtype, cols = t.qtype, shape[1]

        def dequantize(raw: np.ndarray) -> np.ndarray:
            return gguf.quants.dequantize(raw, qtype).reshape(-1, cols).astype(np.float32, copy=False)

        return StoredRows(data, (int(shape[0]), int(cols)), dequantize, self.file.release)

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "embed":
            return self.rows(name)  # type: ignore[return-value]
        layer = name[: name.rfind(".") + 1] if name.startswith("layers.") else ""
        if layer and layer == self._layer and name in self._cached:
            return self._cached[name]
        t = self.tensors[name]
        table = self.rows(name)
        w = np.asarray(table).reshape(t.shape)
        if self.norm_offset and name.endswith("norm"):
            w = w - np.float32(self.norm_offset)  # llama.cpp's converter stores Gemma's (1 + w)
        if layer:
            if layer != self._layer:
                self._layer, self._cached = layer, {}
            self._cached[name] = w
        return w

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)
