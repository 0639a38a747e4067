"""The decoder-only transformer: one forward for all families, W8A8 via an engine or float32 without one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from zynpu.model.config import ModelConfig
from zynpu.model.embedding import StoredRows, quantize_by_rows
from zynpu.model.engine import EngineStats, MatmulEngine, MeteredEngine
from zynpu.model.gguf_native import native_linear, streamed_format
from zynpu.model.kvcache import KVCache
from zynpu.model.layers import FLOAT32, Float32Numerics
from zynpu.model.precision import Policy, policy
from zynpu.model.sites import LAYER_SITES, LM_HEAD, jobs_per_token
from zynpu.model.w4a8 import int4_group, quantize_weight_int4
from zynpu.model.w8a8 import dequantize_output, quantize_activation, quantize_weight

Kernel = Callable[..., np.ndarray]  # (x, w rows) -> x @ w.T as an emulated implementation computes it


class Linear:
    """y = x @ W.T (+ b): one engine job in W8A8/W4A8 mode, a float32 matmul in reference mode.

    `kernels` (reference mode): (rows, kernel) per stacked weight, each computing its rows' outputs
    (how an emulated implementation does that matmul); all None: one float32 matmul.
    `fmt` (engine mode): "int8" (per-channel int8) or "int4" (int4 with group scales, w4a8); any
    other format (a site in int4-gguf that gguf_native.native_linear could not read natively) is int8.
    """

    def __init__(
        self,
        w: np.ndarray,
        bias: np.ndarray | None,
        engine: MatmulEngine | None,
        kernels: Sequence[tuple[int, Kernel | None]] = (),
        fmt: str = "int8",
    ) -> None:
        self.engine, self.bias, self.out_features = engine, bias, w.shape[0]
        self.parts: list[tuple[int, int, Kernel]] = []  # row range and its kernel
        if engine is None:
            self.w = np.ascontiguousarray(w, dtype=np.float32)
            if any(k is not None for _, k in kernels):
                if any(k is None for _, k in kernels) or sum(r for r, _ in kernels) != w.shape[0]:
                    raise ValueError("give a kernel for every stacked weight or for none")
                start = 0
                for rows, kernel in kernels:
                    self.parts.append((start, start + rows, kernel))  # type: ignore[arg-type]
                    start += rows
        elif fmt == "int4":
            group = int4_group()
            q, scales, self.scale = quantize_weight_int4(w, group)
            self.handle = engine.pack_weights_int4(q, scales, group)  # type: ignore[attr-defined]
        else:
            q, self.scale = quantize_by_rows(w, quantize_weight)  # a block of float32 at a time
            self.handle = engine.pack_weights(q)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.engine is None and not self.parts:
            y = x @ self.w.T
        elif self.engine is None:
            y = np.concatenate([kernel(x, self.w[a:b]) for a, b, kernel in self.parts], axis=-1)
        else:
            xq, xs = quantize_activation(x)
            y = dequantize_output(self.engine.matmul(xq, self.handle), xs, self.scale)
        return y if self.bias is None else y + self.bias

    def argmax(self, x: np.ndarray) -> int:
        """argmax of self(x) for one row x (1, K), without dequantizing every output in engine mode.

        The activation scale is one positive number for the row, so only the per-column weight scale
        matters: argmax(acc * w_scale) picks the same column as the dequantized logits (ties aside).
        """
        if self.engine is None or self.bias is not None:
            return int(np.argmax(self(x)[0]))
        xq, _ = quantize_activation(x)
        acc = self.engine.matmul(xq, self.handle)[0]
        return int(np.argmax(acc * self.scale))


class Layer:
    def __init__(
        self,
        cfg: ModelConfig,
        w: Mapping[str, np.ndarray],
        p: str,
        engine: MatmulEngine | None,
        num: Float32Numerics = FLOAT32,
        precision: Policy | None = None,
    ) -> None:
        cat = np.concatenate
        formats = policy(precision or {})
        biases = {"qkv": cat([w[p + "bq"], w[p + "bk"], w[p + "bv"]]) if cfg.qkv_bias else None}
        self.tile_formats: dict[str, str] = {}  # site -> the format its weights stream in (roofline)
        for site in LAYER_SITES:  # one job each: qkv, o, gate_up, down (sites.py)
            fmt, bias = formats[site.name], biases.get(site.name)
            self.tile_formats[site.name] = streamed_format(w, [p + n for n in site.weights], fmt)
            linear = native_linear(w, [p + n for n in site.weights], engine, fmt, bias)  # int4-gguf
            if linear is None:
                kernels = [(w[p + n].shape[0], num.matmul_kernel(p + n)) for n in site.weights]
                linear = Linear(cat([w[p + n] for n in site.weights]), bias, engine, kernels, fmt)
            setattr(self, site.name, linear)
        self.norms = {
            k: w[p + k]
            for k in ("attn_norm", "ffn_norm", "q_norm", "k_norm", "post_attn_norm", "post_ffn_norm")
            if p + k in w
        }


class Transformer:
    """Weights are quantized and packed once here; `forward` streams them through the engine per call.

    Without an engine, `numerics` picks the reference arithmetic: float32 (default), or another
    implementation's rounding, e.g. zynpu.model.validation.llamacpp_numerics to compare with llama.cpp.
    """

    def __init__(
        self,
        cfg: ModelConfig,
        weights: Mapping[str, np.ndarray],
        engine: MatmulEngine | None = None,
        progress: bool = True,
        numerics: Float32Numerics = FLOAT32,
        precision: Policy | None = None,
    ) -> None:
        if engine is not None and numerics is not FLOAT32:
            raise ValueError("numerics apply to the reference forward only (engine=None)")
        self.cfg, self.num = cfg, numerics
        self.precision = policy(precision or {})
        self.engine = MeteredEngine(engine) if engine is not None else None
        embed = weights["embed"]  # a StoredRows stays stored: rows are dequantized when looked up
        self.embed = embed if isinstance(embed, StoredRows) else np.asarray(embed, dtype=np.float32)
        self.final_norm = weights["final_norm"]
        self.layers = [
            Layer(cfg, weights, f"layers.{i}.", self.engine, numerics, self.precision)
            for i in tqdm(
                range(cfg.n_layers),
                desc="quantize+pack" if engine else "load",
                unit="layer",
                disable=not progress,
            )
        ]
        head = weights["embed"] if cfg.tie_embeddings else weights["lm_head"]
        head_kernels = [(head.shape[0], numerics.matmul_kernel(LM_HEAD.name))]
        head_name, head_fmt = "embed" if cfg.tie_embeddings else "lm_head", self.precision[LM_HEAD.name]
        self.lm_head = native_linear(weights, [head_name], self.engine, head_fmt) or Linear(
            head, None, self.engine, head_kernels, head_fmt
        )
        # Per decode job (roofline.decode_jobs order), the tile format its weights really stream in:
        # an int4-gguf site the GGUF does not store in 4 bits streams as int8.
        self.tile_formats = [f for layer in self.layers for f in layer.tile_formats.values()] + [
            streamed_format(weights, [head_name], head_fmt)
        ]
        self.ropes = layer_ropes(cfg, numerics)

    def new_cache(self, max_ctx: int | None = None) -> KVCache:
        c = self.cfg
        return KVCache(c.n_layers, min(max_ctx or c.max_position, c.max_position), c.n_kv_heads, c.head_dim)

    def forward(self, tokens: np.ndarray, cache: KVCache, all_logits: bool = False) -> np.ndarray:
        """Run tokens (T,) at positions cache.length..; T > 1 is prefill (GEMM), T == 1 decode (GEMV).

        Returns float32 logits (T, V) if all_logits else (V,) for the last token.
        """
        x = self.hidden(tokens, cache, all_logits)
        logits = self.lm_head(x)
        return logits if all_logits else logits[0]

    def next_token(self, tokens: np.ndarray, cache: KVCache) -> int:
        """Greedy decode step: the arg-max token after `tokens`, without dequantizing the vocabulary."""
        return self.lm_head.argmax(self.hidden(tokens, cache, False))

    def hidden(self, tokens: np.ndarray, cache: KVCache, all_rows: bool = False) -> np.ndarray:
        """The final-normed hidden states the LM head reads: (T, D) if all_rows else (1, D)."""
        c, t, num = self.cfg, len(tokens), self.num
        rms_norm = num.rms_norm
        cache.check_room(t)
        start = cache.length
        x = embed_tokens(c, self.embed, tokens)
        for i, layer in enumerate(self.layers):
            x = decoder_layer(c, num, layer, self.ropes[i], i, x, cache, start)
        cache.advance(t)
        return rms_norm(x if all_rows else x[-1:], self.final_norm, c.rms_eps, c.norm_offset)

    @property
    def jobs_per_token(self) -> int:
        """Engine jobs per decoded token: every layer site per layer, plus the LM head (sites.py)."""
        return jobs_per_token(self.cfg)

    def engine_stats(self, reset: bool = False) -> EngineStats:
        if self.engine is None:
            return EngineStats()
        return self.engine.reset() if reset else self.engine.stats


def layer_ropes(cfg: ModelConfig, num: Float32Numerics) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer, the RoPE cos/sin tables it rotates with (global or local base)."""
    global_rope = num.rope_tables(cfg.head_dim, cfg.max_position, cfg.rope_theta, cfg.rope_scale)
    local_rope = (
        num.rope_tables(cfg.head_dim, cfg.max_position, cfg.rope_local_theta)
        if cfg.rope_local_theta and cfg.sliding_window
        else global_rope
    )
    return [global_rope if cfg.is_global(i) else local_rope for i in range(cfg.n_layers)]


def embed_tokens(c: ModelConfig, embed: np.ndarray | StoredRows, tokens: np.ndarray) -> np.ndarray:
    """The input rows of `tokens` (T,), scaled as the family does."""
    x = embed[np.asarray(tokens)]
    if c.embed_scale:
        x = x * np.float32(np.sqrt(c.hidden_size))
    return x


def decoder_layer(
    c: ModelConfig,
    num: Float32Numerics,
    layer: Layer,
    rope: tuple[np.ndarray, np.ndarray],
    i: int,
    x: np.ndarray,
    cache: KVCache,
    start: int,
) -> np.ndarray:
    """Layer i on hidden states x (T, D) at positions start..; its K/V go to cache layer i.

    A function of one layer, so a pass can run the model layer by layer (SmoothQuant's calibration
    builds one float32 layer at a time) with the same arithmetic as `Transformer.forward`.
    """
    t, rms_norm = len(x), num.rms_norm
    hd, nq, nkv = c.head_dim, c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim
    n = layer.norms
    h = rms_norm(x, n["attn_norm"], c.rms_eps, c.norm_offset)
    qkv = layer.qkv(h)
    q = qkv[:, :nq].reshape(t, c.n_heads, hd)
    k = qkv[:, nq : nq + nkv].reshape(t, c.n_kv_heads, hd)
    v = qkv[:, nq + nkv :].reshape(t, c.n_kv_heads, hd)
    if c.qk_norm:
        q = rms_norm(q, n["q_norm"], c.rms_eps, c.norm_offset)
        k = rms_norm(k, n["k_norm"], c.rms_eps, c.norm_offset)
    cos, sin = (tab[start : start + t] for tab in rope)
    q, k = num.apply_rope(q, cos, sin, c.rope_style), num.apply_rope(k, cos, sin, c.rope_style)
    keys, values = cache.store(i, num.kv(k), num.kv(v))
    window = None if c.is_global(i) else c.sliding_window
    a = layer.o(num.attention(q, keys, values, start, c.attn_scale(), window))
    if c.sandwich_norm:
        a = rms_norm(a, n["post_attn_norm"], c.rms_eps, c.norm_offset)
    x = x + a
    h = rms_norm(x, n["ffn_norm"], c.rms_eps, c.norm_offset)
    gu = layer.gate_up(h)
    m = layer.down(num.glu(gu[:, : c.intermediate_size], gu[:, c.intermediate_size :], c.activation))
    if c.sandwich_norm:
        m = rms_norm(m, n["post_ffn_norm"], c.rms_eps, c.norm_offset)
    x = x + m
    return x
