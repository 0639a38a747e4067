"""`NativeDecoder`: greedy decode steps of a loaded `Transformer`, each one C call (src/decode.c).

It reads everything from the Python model: the packed weights and scales its `NativeEngine` holds,
the norms, the RoPE tables, the KV cache arrays (C appends to them in place), so prefill can run in
Python and decode in C on one cache.
"""

from __future__ import annotations

from ctypes import addressof

import numpy as np

from ..errors import UserError
from ..model.kvcache import KVCache
from ..model.sites import LAYER_SITES
from ..model.transformer import Linear, Transformer
from .engine import NativeEngine, NativeWeights
from .lib import library, ptr

STAGES = ("rms_norm", "quantize", "dequantize", "rope", "attention", "glu", "residual", "lm_head_argmax")
_NORMS = ("attn_norm", "ffn_norm", "q_norm", "k_norm", "post_attn_norm", "post_ffn_norm")  # decode.c order


class NativeDecoder:
    """The C model (src/decode.c) over a loaded Transformer and the NativeEngine that packed its weights:
    the engine must outlive the decoder (C runs its jobs on the engine's ports)."""

    def __init__(self, transformer: Transformer, engine: NativeEngine) -> None:
        c = transformer.cfg
        self.transformer, self.engine, self.cfg = transformer, engine, c
        self.lib = library()
        self._keep: list[np.ndarray] = []  # arrays C points into
        ints = [
            c.hidden_size,
            c.n_layers,
            c.n_heads,
            c.n_kv_heads,
            c.head_dim,
            c.intermediate_size,
            c.vocab_size,
            c.max_position,
            engine.lanes,
            int(c.qk_norm),
            int(c.sandwich_norm),
            int(c.activation == "gelu_tanh"),
            int(c.rope_style == "gptj"),
            engine.ports,
        ]
        embed_scale = float(np.float32(np.sqrt(c.hidden_size))) if c.embed_scale else 0.0
        floats = [c.rms_eps, c.norm_offset, c.attn_scale(), embed_scale]
        from ctypes import c_float, c_int

        self.model = self.lib.zn_model_new(
            (c_int * len(ints))(*ints), (c_float * len(floats))(*floats), engine.handle
        )
        for i, layer in enumerate(transformer.layers):
            for site_index, site in enumerate(LAYER_SITES):
                self._set_linear(i, site_index, getattr(layer, site.name))
            for index, name in enumerate(_NORMS):
                if name in layer.norms:
                    self.lib.zn_model_set_norm(self.model, i, index, ptr(self._f32(layer.norms[name])))
        self.embed_in_c = self._stored_embedding()
        self._set_linear(-1, 0, transformer.lm_head)
        self.lib.zn_model_set_norm(self.model, -1, 0, ptr(self._f32(transformer.final_norm)))
        self._cache: KVCache | None = None

    def _stored_embedding(self) -> bool:
        """Hand C the embedding table as stored (float32, float16 or GGUF Q8_0 rows) when its rows
        dequantize there bit for bit as in Python (checked on a few rows); otherwise rows stay a Python
        lookup per step."""
        c, embed = self.cfg, self.transformer.embed
        data = embed if isinstance(embed, np.ndarray) else getattr(embed, "data", None)
        if not isinstance(data, np.ndarray) or data.ndim != 2 or not data.flags.c_contiguous:
            return False
        if data.dtype == np.float32:
            table, fmt = data.view(np.uint8), 0
        elif data.dtype == np.uint8 and data.shape[1] == 2 * c.hidden_size:
            table, fmt = data, 1
        elif data.dtype == np.uint8 and c.hidden_size % 32 == 0 and data.shape[1] == c.hidden_size // 32 * 34:
            table, fmt = data, 2
        else:
            return False
        row = np.empty(c.hidden_size, dtype=np.float32)
        for token in {0, 1, c.vocab_size // 2, c.vocab_size - 1}:
            self.lib.zn_embed_row(ptr(table), fmt, table.shape[1], c.hidden_size, token, ptr(row))
            if not np.array_equal(row, np.asarray(embed[[token]][0], dtype=np.float32)):
                return False
        self._keep.append(table)
        self.lib.zn_model_set_embed(self.model, ptr(table), fmt, table.shape[1])
        return True

    def _f32(self, a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=np.float32)
        self._keep.append(a)
        return a

    def _set_linear(self, layer: int, site: int, linear: object) -> None:
        inner = getattr(getattr(linear, "handle", None), "inner", None)
        if not isinstance(linear, Linear) or not isinstance(inner, NativeWeights):
            raise UserError(
                "the native host runs int8 and int4 (w4a8) sites packed by its NativeEngine; this model has "
                f"a {type(linear).__name__} site (a gguf-native policy?): use --host python for it"
            )
        scale = self._f32(linear.scale)
        bias = self._f32(linear.bias) if linear.bias is not None else None
        self.lib.zn_model_set_linear(
            self.model,
            layer,
            site,
            inner.n,
            inner.k,
            inner.fmt,
            inner.group,
            ptr(inner.q),
            ptr(inner.scales),
            None if inner.port_data is None else addressof(inner.port_data),
            ptr(scale),
            ptr(bias),
        )

    def stages(self) -> dict[str, float]:
        """Wall seconds per host stage inside the C step so far (src/decode.c times each)."""
        from ctypes import c_double

        out = (c_double * 8)()
        self.lib.zn_model_stages(self.model, out)
        return dict(zip(STAGES, out, strict=True))

    def close(self) -> None:
        if self.model:
            self.lib.zn_model_free(self.model)
            self.model = None

    def __del__(self) -> None:
        self.close()

    def _bind(self, cache: KVCache) -> None:
        """Point every layer at its slice of `cache` (C appends K/V there) and its RoPE tables."""
        if self._cache is cache:
            return
        c = self.cfg
        if (
            cache.k.dtype != np.float32
            or not cache.k.flags.c_contiguous
            or cache.k.shape[1:] != (cache.max_ctx, c.n_kv_heads, c.head_dim)
        ):
            raise ValueError("the KV cache is not the float32 (layers, ctx, kv heads, head dim) layout")
        for i, (cos, sin) in enumerate(self.transformer.ropes):
            window = 0 if c.is_global(i) else int(c.sliding_window or 0)
            self.lib.zn_model_set_layer(
                self.model,
                i,
                ptr(self._f32(cos)),
                ptr(self._f32(sin)),
                window,
                ptr(cache.k[i]),
                ptr(cache.v[i]),
            )
        self._cache = cache

    def step(
        self, token: int, cache: KVCache, layers: int | None = None, hidden: np.ndarray | None = None
    ) -> int:
        """Decode `token` at position cache.length: the arg-max next token (the cache advances by one).

        `layers` < n_layers stops after that many layers (tests), leaving the residual in `hidden`
        and the cache where it was; `hidden` (D,) float32 receives the final-normed state otherwise.
        """
        cache.check_room(1)
        self._bind(cache)
        upto = self.cfg.n_layers if layers is None else layers
        if self.embed_in_c:
            out = self.lib.zn_decode_token(self.model, int(token), cache.length, upto, ptr(hidden))
        else:
            row = np.ascontiguousarray(self.transformer.embed[[int(token)]][0], dtype=np.float32)
            out = self.lib.zn_decode(self.model, ptr(row), cache.length, upto, ptr(hidden))
        if out < 0:
            raise RuntimeError("a native port failed during the decode step")
        if upto == self.cfg.n_layers:
            cache.advance(1)
        return int(out)
