"""The decoder-only transformer: one forward for all families, W8A8 via an engine or float32 without one."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from tqdm import tqdm

from zynpu.model.config import ModelConfig
from zynpu.model.engine import EngineStats, MatmulEngine, MeteredEngine
from zynpu.model.kvcache import KVCache
from zynpu.model.layers import apply_rope, attention, glu, rms_norm, rope_tables
from zynpu.model.w8a8 import dequantize_output, quantize_activation, quantize_weight


class Linear:
    """y = x @ W.T (+ b): one engine job in W8A8 mode, a float32 matmul in reference mode."""

    def __init__(self, w: np.ndarray, bias: np.ndarray | None, engine: MatmulEngine | None) -> None:
        self.engine, self.bias, self.out_features = engine, bias, w.shape[0]
        if engine is None:
            self.w = np.ascontiguousarray(w, dtype=np.float32)
        else:
            q, self.scale = quantize_weight(w)
            self.handle = engine.load_weights(q)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.engine is None:
            y = x @ self.w.T
        else:
            xq, xs = quantize_activation(x)
            y = dequantize_output(self.engine.matmul(xq, self.handle), xs, self.scale)
        return y if self.bias is None else y + self.bias


class Layer:
    def __init__(
        self, cfg: ModelConfig, w: Mapping[str, np.ndarray], p: str, engine: MatmulEngine | None
    ) -> None:
        cat = np.concatenate
        bias = cat([w[p + "bq"], w[p + "bk"], w[p + "bv"]]) if cfg.qkv_bias else None
        self.qkv = Linear(cat([w[p + "wq"], w[p + "wk"], w[p + "wv"]]), bias, engine)  # one fused job
        self.o = Linear(w[p + "wo"], None, engine)
        self.gate_up = Linear(cat([w[p + "w_gate"], w[p + "w_up"]]), None, engine)  # one fused job
        self.down = Linear(w[p + "w_down"], None, engine)
        self.norms = {
            k: w[p + k]
            for k in ("attn_norm", "ffn_norm", "q_norm", "k_norm", "post_attn_norm", "post_ffn_norm")
            if p + k in w
        }


class Transformer:
    """Weights are quantized and packed once here; `forward` streams them through the engine per call."""

    def __init__(
        self,
        cfg: ModelConfig,
        weights: Mapping[str, np.ndarray],
        engine: MatmulEngine | None = None,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg
        self.engine = MeteredEngine(engine) if engine is not None else None
        self.embed = np.asarray(weights["embed"], dtype=np.float32)
        self.final_norm = weights["final_norm"]
        self.layers = [
            Layer(cfg, weights, f"layers.{i}.", self.engine)
            for i in tqdm(
                range(cfg.n_layers),
                desc="quantize+pack" if engine else "load",
                unit="layer",
                disable=not progress,
            )
        ]
        self.lm_head = Linear(
            weights["embed"] if cfg.tie_embeddings else weights["lm_head"], None, self.engine
        )
        global_rope = rope_tables(cfg.head_dim, cfg.max_position, cfg.rope_theta, cfg.rope_scale)
        local_rope = (
            rope_tables(cfg.head_dim, cfg.max_position, cfg.rope_local_theta)
            if cfg.rope_local_theta and cfg.sliding_window
            else global_rope
        )
        self.ropes = [global_rope if cfg.is_global(i) else local_rope for i in range(cfg.n_layers)]

    def new_cache(self, max_ctx: int | None = None) -> KVCache:
        c = self.cfg
        return KVCache(c.n_layers, min(max_ctx or c.max_position, c.max_position), c.n_kv_heads, c.head_dim)

    def forward(self, tokens: np.ndarray, cache: KVCache, all_logits: bool = False) -> np.ndarray:
        """Run tokens (T,) at positions cache.length..; T > 1 is prefill (GEMM), T == 1 decode (GEMV).

        Returns float32 logits (T, V) if all_logits else (V,) for the last token.
        """
        c, t = self.cfg, len(tokens)
        cache.check_room(t)
        start, hd, nq, nkv = cache.length, c.head_dim, c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim
        x = self.embed[np.asarray(tokens)]
        if c.embed_scale:
            x = x * np.float32(np.sqrt(c.hidden_size))
        for i, layer in enumerate(self.layers):
            n = layer.norms
            h = rms_norm(x, n["attn_norm"], c.rms_eps, c.norm_offset)
            qkv = layer.qkv(h)
            q = qkv[:, :nq].reshape(t, c.n_heads, hd)
            k = qkv[:, nq : nq + nkv].reshape(t, c.n_kv_heads, hd)
            v = qkv[:, nq + nkv :].reshape(t, c.n_kv_heads, hd)
            if c.qk_norm:
                q = rms_norm(q, n["q_norm"], c.rms_eps, c.norm_offset)
                k = rms_norm(k, n["k_norm"], c.rms_eps, c.norm_offset)
            cos, sin = (tab[start : start + t] for tab in self.ropes[i])
            q, k = apply_rope(q, cos, sin, c.rope_style), apply_rope(k, cos, sin, c.rope_style)
            keys, values = cache.store(i, k, v)
            window = None if c.is_global(i) else c.sliding_window
            a = layer.o(attention(q, keys, values, start, c.attn_scale(), window))
            if c.sandwich_norm:
                a = rms_norm(a, n["post_attn_norm"], c.rms_eps, c.norm_offset)
            x = x + a
            h = rms_norm(x, n["ffn_norm"], c.rms_eps, c.norm_offset)
            gu = layer.gate_up(h)
            m = layer.down(glu(gu[:, : c.intermediate_size], gu[:, c.intermediate_size :], c.activation))
            if c.sandwich_norm:
                m = rms_norm(m, n["post_ffn_norm"], c.rms_eps, c.norm_offset)
            x = x + m
        cache.advance(t)
        x = rms_norm(x if all_logits else x[-1:], self.final_norm, c.rms_eps, c.norm_offset)
        logits = self.lm_head(x)
        return logits if all_logits else logits[0]

    @property
    def jobs_per_token(self) -> int:
        """Engine jobs per decoded token: QKV, O, gate+up, down per layer, plus the LM head."""
        return 4 * self.cfg.n_layers + 1

    def engine_stats(self, reset: bool = False) -> EngineStats:
        if self.engine is None:
            return EngineStats()
        return self.engine.reset() if reset else self.engine.stats
