"""llama.cpp's CPU arithmetic (llamacpp_numerics, llamacpp_kernels): quantizers against gguf's own, the
float32 building blocks against exact arithmetic, the vectorized kernels against scalar models of
the same algorithm, and the mode on the tiny models. llama.cpp itself: the slow tests in test_validate."""

from __future__ import annotations

from fractions import Fraction

import gguf
import numpy as np
import pytest

pytest.importorskip("zynpu.model.validation", reason="validation code is not deployed to the board")

from zynpu.model.gguf_file import GGUFTensor
from zynpu.model.kquants import quantize_k
from zynpu.model.layers import FLOAT32, rope_tables
from zynpu.model.transformer import Transformer
from zynpu.model.validation import llamacpp_kernels as K
from zynpu.model.validation import llamacpp_numerics as L

Q = gguf.GGMLQuantizationType
F32 = np.float32


def _tensor(w: np.ndarray, qtype: Q) -> GGUFTensor:
    data = quantize_k(w, qtype.name) if qtype in (Q.Q4_K, Q.Q6_K) else gguf.quants.quantize(w, qtype)
    return GGUFTensor("w", qtype, w.shape, data)


def _round_f32(x: Fraction) -> F32:
    """Exact rational -> nearest float32, ties to even (the reference for one rounding)."""
    f = F32(float(x))
    lo, hi = (
        (np.nextafter(f, F32(-np.inf)), f) if Fraction(float(f)) > x else (f, np.nextafter(f, F32(np.inf)))
    )
    dl, dh = x - Fraction(float(lo)), Fraction(float(hi)) - x
    return lo if dl < dh or (dl == dh and not lo.view(np.uint32) & 1) else hi


def test_q8_0_matches_gguf_quantizer() -> None:
    """Scales bit for bit; quants too, except where ggml's reference (x * (1/d), ties away) and the
    AVX2 path modelled here (x * (127/amax), ties to even) round a value at .5 differently."""
    x = (np.random.default_rng(0).standard_normal((512, 256)) * 3).astype(F32)
    raw = gguf.quants.quantize(x, Q.Q8_0).reshape(512, 8, 34)
    d, q = K.quantize_q8_0(x)
    assert np.array_equal(d.view(np.uint16), raw[..., :2].copy().view(np.uint16)[..., 0])
    ref = raw[..., 2:].copy().view(np.int8)
    diff = q != ref
    assert diff.sum() <= 2 and np.abs(q.astype(int) - ref)[diff].max(initial=0) <= 1
    scaled = x.reshape(512, 8, 32) * (F32(127) / np.abs(x.reshape(512, 8, 32)).max(-1, keepdims=True))
    assert np.all(np.abs(np.abs(scaled[diff] % 1) - 0.5) < 1e-4)  # only at half-way points


def test_q8_k_block_rules() -> None:
    """iscale = -127 / (first element of largest |x|), q = rint(iscale * x) (ties to even), d = 1/iscale."""
    x = np.zeros((4, 256), dtype=F32)
    x[0, 5], x[0, 9], x[0, 10:13] = -127, 127, [0.5, 1.5, 2.5]  # iscale = 1 exactly
    x[1] = np.linspace(-1, 0.5, 256, dtype=F32)
    x[2, 7] = 2.0  # a positive maximum maps to -127 too, with a negative scale
    d, q = K.quantize_q8_k(x)
    assert d[0, 0] == 1 and q[0, 0, [5, 9, 10, 11, 12]].tolist() == [-127, 127, 0, 2, 2]
    assert q[1, 0, 0] == -127 and q[1, 0].max() < 127
    assert q[2, 0, 7] == -127 and d[2, 0] == F32(1) / (F32(-127) / F32(2))
    assert d[3, 0] == 0 and not q[3].any()  # all-zero block
    err = np.abs(L.dequantize_blocks(d, q) - x)
    assert np.all(err <= np.repeat(np.abs(d), 256, axis=-1) / 2 * (1 + 1e-6))


def test_fma_rounds_once() -> None:
    rng = np.random.default_rng(1)
    n = 1500
    a = rng.standard_normal(n).astype(F32)
    b = (rng.standard_normal(n) * 2.0 ** rng.integers(-40, 0, n)).astype(F32)  # far apart: inexact sums
    c = rng.standard_normal(n).astype(F32)
    got = K.fma(a, b, c)
    want = [
        _round_f32(Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(float(c[i]))) for i in range(n)
    ]
    assert np.array_equal(got, np.array(want, dtype=F32))
    acc = K.FmaAccumulator((n,))
    acc.acc[:] = c
    acc.add(a, b)
    assert np.array_equal(acc.acc, got)


def test_hsum8_adds_in_the_avx_order() -> None:
    lanes = np.array([1e8, 1, 1, 1, -1e8, 1, 1, 1], dtype=F32)[:, None]
    assert K.hsum8(lanes)[0] == 6  # ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)); left to right gives 3


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q5_0, Q.Q4_K, Q.Q6_K], ids=lambda q: q.name)
def test_unpacked_fields_give_ggufs_values(qtype: Q) -> None:
    w = np.random.default_rng(2).standard_normal((8, 512)).astype(F32)
    t = _tensor(w, qtype)
    want = gguf.quants.dequantize(t.data, qtype).reshape(w.shape)
    if qtype in (Q.Q8_0, Q.Q5_0):
        d, q = (K.unpack_q8_0 if qtype == Q.Q8_0 else K.unpack_q5_0)(t)
        got = L.dequantize_blocks(d, q)
    elif qtype == Q.Q4_K:
        f = K.unpack_q4_k(t)
        got = (
            f["d"][..., None, None] * f["sc"][..., None] * f["q"] - (f["dmin"][..., None] * f["m"])[..., None]
        )
    else:
        d, wi = K.unpack_q6_k(t)
        got = d[..., None] * wi
    np.testing.assert_allclose(got.reshape(w.shape), want, rtol=1e-6, atol=1e-7)


def _scalar_q0(x: np.ndarray, wd: np.ndarray, wq: np.ndarray) -> np.ndarray:
    """tinyBLAS_Q0 for one output at a time, written out as the C loop (the model the kernel vectorizes)."""
    xd, xq = K.quantize_q8_0(x)
    out = np.zeros((len(x), len(wd)), dtype=F32)
    for t in range(len(x)):
        for n in range(len(wd)):
            lanes = np.zeros((8, 1), dtype=F32)
            for b in range(wd.shape[1]):
                scale = F32(xd[t, b]) * wd[n, b]
                for j in range(8):
                    dot = int(
                        np.dot(
                            xq[t, b, 4 * j : 4 * j + 4].astype(int), wq[n, b, 4 * j : 4 * j + 4].astype(int)
                        )
                    )
                    lanes[j, 0] = K.fma(scale, F32(dot), lanes[j, 0])
            out[t, n] = K.hsum8(lanes)[0]
    return out


def _scalar_q6_k(x: np.ndarray, wd: np.ndarray, wi: np.ndarray) -> np.ndarray:
    xd, xq = K.quantize_q8_k(x)
    out = np.zeros((len(x), len(wd)), dtype=F32)
    for t in range(len(x)):
        for n in range(len(wd)):
            acc = F32(0)
            for b in range(wd.shape[1]):
                isum = int(np.dot(xq[t, b].astype(np.int64), wi[n, b].astype(np.int64)))
                acc = K.fma(F32(F32(isum) * wd[n, b]), xd[t, b], acc)
            out[t, n] = acc
    return out


def _scalar_q4_k(x: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    xd, xq = K.quantize_q8_k(x)
    out = np.zeros((len(x), len(f["d"])), dtype=F32)
    for t in range(len(x)):
        for n in range(len(f["d"])):
            acc = acc_min = F32(0)
            for b in range(f["d"].shape[1]):
                xs = xq[t, b].reshape(8, 32).astype(int)
                for j in (0, 2, 4, 6):
                    isum = sum(
                        int(f["sc"][n, b, s]) * int(np.dot(xs[s], f["q"][n, b, s].astype(int)))
                        for s in (j, j + 1)
                    )
                    imin = sum(int(f["m"][n, b, s]) * int(xs[s].sum()) for s in (j, j + 1))
                    acc = K.fma(F32(f["d"][n, b] * xd[t, b]), F32(isum), acc)
                    acc_min = K.fma(F32(f["dmin"][n, b] * xd[t, b]), F32(imin), acc_min)
            out[t, n] = acc - acc_min
    return out


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q5_0, Q.Q4_K, Q.Q6_K], ids=lambda q: q.name)
def test_kernel_models(qtype: Q) -> None:
    """Vectorized kernel == its scalar model, bit for bit; close to float32; `rows` selects outputs."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((5, 512)).astype(F32)
    x = rng.standard_normal((3, 512)).astype(F32)
    t = _tensor(w, qtype)
    kernel = K.exact_kernel(t)
    assert kernel is not None
    got = kernel(x, None)
    if qtype in (Q.Q8_0, Q.Q5_0):
        scalar = _scalar_q0(x, *(K.unpack_q8_0 if qtype == Q.Q8_0 else K.unpack_q5_0)(t))
    elif qtype == Q.Q6_K:
        scalar = _scalar_q6_k(x, *K.unpack_q6_k(t))
    else:
        scalar = _scalar_q4_k(x, K.unpack_q4_k(t))
    assert np.array_equal(got, scalar)
    wdq = gguf.quants.dequantize(t.data, qtype).reshape(w.shape)
    approx = L.activation_cast(qtype.name)(x) @ wdq.T
    np.testing.assert_allclose(got, approx, rtol=1e-5, atol=1e-4)
    assert np.array_equal(kernel(x, None, rows=np.array([4, 1])), got[:, [4, 1]])


def test_unmodelled_types_fall_back_to_rounded_float32() -> None:
    t = _tensor(np.ones((4, 64), dtype=F32), Q.Q4_0)
    assert K.exact_kernel(t) is None and not K.exact_kernel_type("Q4_0")
    num = L.LlamaCppNumerics({"wo": t}, prescale_q=False)
    w = gguf.quants.dequantize(t.data, Q.Q4_0).reshape(4, 64)
    x = np.linspace(-1, 1, 128, dtype=F32).reshape(2, 64)
    assert np.array_equal(num.matmul_kernel("wo")(x, w), L.activation_cast("Q4_0")(x) @ w.T)
    assert num.modelled() == {"wo": False}


def test_f16_lane_dot_and_softmax() -> None:
    rng = np.random.default_rng(4)
    a = L.round_f16(rng.standard_normal((3, 1, 64)))
    b = L.round_f16(rng.standard_normal((1, 5, 64)))
    lanes = np.zeros((8, 3, 5), dtype=F32)
    for c in range(0, 64, 8):  # lane j: a[8c + j] * b[8c + j] in order
        lanes += np.moveaxis(a[..., c : c + 8] * b[..., c : c + 8], -1, 0)
    assert np.array_equal(K.dot_f16_lanes(a, b), K.hsum8(lanes))
    np.testing.assert_allclose(K.dot_f16_lanes(a, b), (a * b).sum(-1), rtol=1e-5, atol=1e-5)
    x = np.linspace(-87, 0, 1000, dtype=F32)
    np.testing.assert_allclose(K.v_expf(x), np.exp(x.astype(np.float64)), rtol=3e-7)
    assert K.v_expf(np.array([-200.0], dtype=F32))[0] == 0
    scores = rng.standard_normal((2, 13)).astype(F32) * 4
    visible = np.tril(np.ones((2, 13), dtype=bool), 10)
    p = K.softmax_rows(scores, visible)
    assert np.all(p[~visible] == 0)
    np.testing.assert_allclose(p.sum(-1), 1, atol=1e-6)


def test_gelu_table_and_rope_tables() -> None:
    assert L.gelu_table().shape == (1 << 16,)
    x = np.array([-12, -10, 0, 1, 9.99, 10, 12], dtype=F32)
    g = L.gelu_lookup(x)
    assert g[0] == 0 and g[1] == 0 and g[2] == 0 and g[5] == 10 and g[6] == 12
    assert g[3] == F32(np.float16(0.5 * (1 + np.tanh(0.7978845608 * (1 + 0.044715)))))
    cos, sin = L.rope_tables_f32(64, 300, 10000.0)
    ref_cos, ref_sin = rope_tables(64, 300, 10000.0)
    assert cos[0].tolist() == [1.0] * 32 and not sin[0].any()
    np.testing.assert_allclose(cos, ref_cos, atol=1e-4)  # float32 angle recurrence vs float64
    np.testing.assert_allclose(sin, ref_sin, atol=1e-4)


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama", "gemma3"])
def test_mode_runs_on_tiny_models_close_to_float32(family: str, tiny_paths, loaded) -> None:  # type: ignore[no-untyped-def]
    cfg, w, tok = loaded(family)
    num = L.for_gguf(str(tiny_paths(family)[0]), cfg.family)
    ids = np.array(tok.encode("The quick brown fox jumps over the lazy dog")[:12])
    ref = Transformer(cfg, w, None, progress=False)
    emu = Transformer(cfg, w, None, progress=False, numerics=num)
    assert ref.num is FLOAT32 and emu.num is num
    a = ref.forward(ids, ref.new_cache(), all_logits=True)
    b = emu.forward(ids, emu.new_cache(), all_logits=True)
    assert np.abs(b - a).max() <= 0.05 * np.abs(a).max()
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.75
    with pytest.raises(ValueError, match="reference forward"):
        from zynpu.model.engine import NumpyEngine

        Transformer(cfg, w, NumpyEngine(), progress=False, numerics=num)
