"""The native decode step equals the Python engine on the tiny model of every family.

Integers are exact, and the norms, quantizer, RoPE and residuals follow numpy's float32 operation
order (numpy's pairwise summation included), so the first layer's int8 activations are identical.
Attention's dot products are summed in another order than BLAS sums them, and expf/tanhf are libm's,
not numpy's SIMD versions, so later floats differ in the last bits: hidden states and logits are
compared with a tolerance, the greedy tokens exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.model.engine import NumpyEngine
from zynpu.model.layers import rms_norm
from zynpu.model.transformer import Transformer, decoder_layer, embed_tokens
from zynpu.model.w8a8 import quantize_activation
from zynpu.native import NativeDecoder, NativeEngine
from zynpu.native.lib import library, ptr

FAMILIES = ("llama", "qwen2", "qwen3", "gemma3")
PROMPTS = ("The tile streams one weight beat", "hello world", "a b c d e f g h")


def _pair(tiny, family: str, ports: int = 4):  # type: ignore[no-untyped-def]
    cfg, weights, tok = tiny(family)
    python = Transformer(cfg, weights, NumpyEngine(), progress=False)
    engine = NativeEngine(ports)
    native = Transformer(cfg, weights, engine, progress=False)
    return python, native, NativeDecoder(native, engine), tok


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_tokens_equal_the_python_engine(tiny, family: str) -> None:  # type: ignore[no-untyped-def]
    python, native, decoder, tok = _pair(tiny, family)
    for prompt in PROMPTS:
        ids = np.asarray(tok.encode(prompt))
        c1, c2 = python.new_cache(len(ids) + 24), native.new_cache(len(ids) + 24)
        a, b = [python.next_token(ids, c1)], [native.next_token(ids, c2)]
        for _ in range(20):  # past the tiny Gemma's sliding window of 4
            a.append(python.next_token(np.asarray([a[-1]]), c1))
            b.append(decoder.step(b[-1], c2))
        assert b == a, prompt
        assert c2.length == c1.length
        np.testing.assert_allclose(c2.k[:, : c2.length], c1.k[:, : c1.length], rtol=0, atol=1e-5)


@pytest.mark.parametrize("family", ["llama", "gemma3"])
def test_first_layer_int8_activations_are_identical(tiny, family: str) -> None:  # type: ignore[no-untyped-def]
    python, *_ = _pair(tiny, family)
    c = python.cfg
    lib = library()
    for token in (1, 7, 100):
        x = embed_tokens(c, python.embed, np.asarray([token]))
        h = rms_norm(x, python.layers[0].norms["attn_norm"], c.rms_eps, c.norm_offset)
        want_q, want_s = quantize_activation(h)
        row = np.ascontiguousarray(python.embed[[token]][0], dtype=np.float32)
        if c.embed_scale:
            row = row * np.float32(np.sqrt(c.hidden_size))
        w = np.ascontiguousarray(python.layers[0].norms["attn_norm"], dtype=np.float32)
        normed, tmp = np.empty_like(row), np.empty_like(row)
        lib.zn_rms_norm(ptr(row), ptr(w), c.hidden_size, c.rms_eps, c.norm_offset, ptr(normed), ptr(tmp))
        np.testing.assert_array_equal(normed, h[0])
        q = np.empty(c.hidden_size, dtype=np.int8)
        from ctypes import byref, c_float

        scale = c_float()
        lib.zn_quantize_row(ptr(normed), c.hidden_size, ptr(q), byref(scale))
        np.testing.assert_array_equal(q, want_q[0])
        assert np.float32(scale.value) == want_s[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_one_layer_and_the_logits_are_close(tiny, family: str) -> None:  # type: ignore[no-untyped-def]
    python, native, decoder, tok = _pair(tiny, family, ports=2)
    c = python.cfg
    ids = np.asarray(tok.encode("hello world"))
    c1, c2 = python.new_cache(16), native.new_cache(16)
    python.next_token(ids, c1), native.next_token(ids, c2)
    token = 42
    # one layer at position len(ids)
    x = embed_tokens(c, python.embed, np.asarray([token]))
    want = decoder_layer(c, python.num, python.layers[0], python.ropes[0], 0, x, c1, c1.length)
    got = np.empty(c.hidden_size, dtype=np.float32)
    decoder.step(token, c2, layers=1, hidden=got)
    assert c2.length == c1.length  # a partial step does not advance the cache
    np.testing.assert_allclose(got, want[0], rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
    # the whole step: final-normed hidden state and the logits computed from it
    want_hidden = python.hidden(np.asarray([token]), c1)
    decoder.step(token, c2, hidden=got)
    scale = float(np.abs(want_hidden).max())
    np.testing.assert_allclose(got, want_hidden[0], rtol=0, atol=2e-3 * scale)
    want_logits = python.lm_head(want_hidden)[0]
    got_logits = python.lm_head(got[None, :])[0]
    spread = float(want_logits.max() - want_logits.min())
    np.testing.assert_allclose(got_logits, want_logits, rtol=0, atol=2e-2 * spread)


@pytest.mark.parametrize("precision", ["w4a8", "w8a8-o4"])
def test_int4_policies_decode_the_python_engines_tokens(tiny, precision: str) -> None:  # type: ignore[no-untyped-def]
    """int4 sites (group scales, the tile's w4a8 format) through the native ref port, token for token."""
    from zynpu.model.precision import policy

    cfg, weights, tok = tiny("llama")
    chosen = policy(precision)
    python = Transformer(cfg, weights, NumpyEngine(), progress=False, precision=chosen)
    engine = NativeEngine(3)
    native = Transformer(cfg, weights, engine, progress=False, precision=chosen)
    decoder = NativeDecoder(native, engine)
    sites = (native.layers[0].qkv, native.layers[0].o, native.lm_head)
    assert any(s.handle.inner.fmt == 1 for s in sites)  # at least one int4 site runs
    ids = np.asarray(tok.encode(PROMPTS[0]))
    c1, c2 = python.new_cache(len(ids) + 20), native.new_cache(len(ids) + 20)
    a, b = [python.next_token(ids, c1)], [native.next_token(ids, c2)]
    for _ in range(16):
        a.append(python.next_token(np.asarray([a[-1]]), c1))
        b.append(decoder.step(b[-1], c2))
    assert b == a
