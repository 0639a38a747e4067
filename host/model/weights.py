"""Canonical tensor names and shapes, so both loaders validate a whole file before building anything."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from zynpu.model.config import ModelConfig
from zynpu.model.errors import ModelLoadError


def expected_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor the model needs, by canonical name, with its numpy shape ((N, K) for linears)."""
    d, hd, f = cfg.hidden_size, cfg.head_dim, cfg.intermediate_size
    q, kv = cfg.n_heads * hd, cfg.n_kv_heads * hd
    shapes: dict[str, tuple[int, ...]] = {"embed": (cfg.vocab_size, d), "final_norm": (d,)}
    if not cfg.tie_embeddings:
        shapes["lm_head"] = (cfg.vocab_size, d)
    for i in range(cfg.n_layers):
        p = f"layers.{i}."
        layer = {
            "attn_norm": (d,),
            "wq": (q, d),
            "wk": (kv, d),
            "wv": (kv, d),
            "wo": (d, q),
            "ffn_norm": (d,),
            "w_gate": (f, d),
            "w_up": (f, d),
            "w_down": (d, f),
        }
        if cfg.qkv_bias:
            layer |= {"bq": (q,), "bk": (kv,), "bv": (kv,)}
        if cfg.qk_norm:
            layer |= {"q_norm": (hd,), "k_norm": (hd,)}
        if cfg.sandwich_norm:
            layer |= {"post_attn_norm": (d,), "post_ffn_norm": (d,)}
        shapes |= {p + k: v for k, v in layer.items()}
    return shapes


def check_names_and_shapes(
    source: str, cfg: ModelConfig, found: Mapping[str, tuple[int, ...]], original: Mapping[str, str]
) -> None:
    """Raise on the first missing, unexpected or mis-shaped tensor, naming it as the file names it."""
    want = expected_shapes(cfg)
    for name in want:
        if name not in found:
            raise ModelLoadError(f"{source}: missing tensor for {name}")
    for name, shape in found.items():
        if name not in want:
            raise ModelLoadError(f"{source}: unexpected tensor {original[name]!r} (unsupported feature?)")
        if tuple(shape) != want[name]:
            raise ModelLoadError(
                f"{source}: tensor {original[name]!r} has shape {tuple(shape)}, config implies {want[name]}"
            )


def check_finite(source: str, name: str, a: np.ndarray) -> None:
    if not np.isfinite(a).all():
        raise ModelLoadError(f"{source}: tensor {name!r} contains NaN or Inf (corrupt file?)")


def permute_for_gptj(w: np.ndarray, n_heads: int) -> np.ndarray:
    """HF (rotate-halves) Q/K rows -> interleaved-pair order, as GGUF stores Llama; rows within each head
    go from [x0..x(D/2-1), y0..] to [x0, y0, x1, y1, ...]."""
    rows = w.shape[0]
    d = rows // n_heads
    return w.reshape(n_heads, 2, d // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_for_neox(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Inverse of `permute_for_gptj`."""
    rows = w.shape[0]
    d = rows // n_heads
    return w.reshape(n_heads, d // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
