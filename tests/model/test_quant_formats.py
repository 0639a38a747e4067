"""GGUF block formats: gguf's dequantizers checked against this package's independent reading of the
K-quant layouts (exact), and round trips where gguf can quantize (error within half a step)."""

import gguf
import numpy as np
import pytest

from zynpu.model import kquants as kq
from zynpu.model.w8a8 import quantize_activation, quantize_weight

Q = gguf.GGMLQuantizationType


def _random_fields(kind: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    d = rng.uniform(-1, 1, n).astype(np.float16)  # signed d exercises every bit of the f16 field
    if kind == "Q6_K":
        return {
            "d": d,
            "sc": rng.integers(-128, 128, (n, 16)).astype(np.int8),
            "q": rng.integers(0, 64, (n, 256)).astype(np.uint8),
        }
    qmax = 16 if kind == "Q4_K" else 32
    return {
        "d": d,
        "dmin": rng.uniform(-1, 1, n).astype(np.float16),
        "sc": rng.integers(0, 64, (n, 8)).astype(np.uint8),
        "m": rng.integers(0, 64, (n, 8)).astype(np.uint8),
        "q": rng.integers(0, qmax, (n, 256)).astype(np.uint8),
    }


@pytest.mark.parametrize("kind", ["Q4_K", "Q5_K", "Q6_K"])
def test_gguf_k_dequantizers_match_block_format(kind: str) -> None:
    rng = np.random.default_rng(1)
    f = _random_fields(kind, 64, rng)
    packed = {"Q4_K": kq.pack_q4_k, "Q5_K": kq.pack_q5_k, "Q6_K": kq.pack_q6_k}[kind](f)
    assert packed.shape == (64, gguf.GGML_QUANT_SIZES[Q[kind]][1])
    values = {"Q4_K": kq.values_q4_k, "Q5_K": kq.values_q5_k, "Q6_K": kq.values_q6_k}[kind](f)
    # same float32 operations in the same order: exact equality, not closeness
    assert np.array_equal(gguf.quants.dequantize(packed, Q[kind]), values)


@pytest.mark.parametrize(("kind", "rel"), [("Q4_K", 0.5 / 15), ("Q5_K", 0.5 / 31), ("Q6_K", 0.5 / 31)])
def test_k_quant_writer_round_trip(kind: str, rel: float) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 512)).astype(np.float32)
    y = gguf.quants.dequantize(kq.quantize_k(x, kind), Q[kind])
    # error bound: half a quantization step of the block's range, plus the 6/8-bit scale rounding
    span = np.ptp(x.reshape(-1, 256), axis=1).max()
    assert np.abs(y - x).max() <= 1.5 * rel * span


@pytest.mark.parametrize(("qtype", "levels"), [(Q.Q8_0, 127), (Q.Q4_0, 8), (Q.Q5_0, 16)])
def test_gguf_round_trip_legacy_types(qtype: Q, levels: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 256)).astype(np.float32)
    packed = gguf.quants.quantize(x, qtype)
    y = gguf.quants.dequantize(packed, qtype)
    step = np.abs(x.reshape(-1, 32)).max(axis=1, keepdims=True) / levels
    # Q8_0: half a step. Q4_0/Q5_0 map the signed extreme to -levels, so the opposite extreme can clip at
    # levels-1: up to one step. Plus the float16 rounding of the scale (relative 2**-11, times |q| <= levels).
    bound = step * ((0.5 if qtype == Q.Q8_0 else 1.0) + levels * 2.0**-10)
    assert (np.abs(y - x).reshape(-1, 32) <= bound).all()
    if qtype == Q.Q8_0:  # block = f16 d, then 32 x int8
        blocks = packed.reshape(-1, 34)
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        ref = blocks[:, 2:].copy().view(np.int8).astype(np.float32) * d
        assert np.array_equal(ref.reshape(x.shape), y)


def test_w8a8_weight_quantization_is_symmetric_per_channel() -> None:
    rng = np.random.default_rng(4)
    w = rng.standard_normal((16, 64)).astype(np.float32) * rng.uniform(0.01, 10, (16, 1)).astype(np.float32)
    w[3] = 0  # a dead channel must not divide by zero
    q, s = quantize_weight(w)
    assert q.dtype == np.int8 and s.shape == (16,)
    assert q.min() >= -127 and (np.abs(q).max(axis=1)[np.arange(16) != 3] == 127).all()
    assert np.all(np.abs(q * s[:, None] - w) <= s[:, None] / 2 * 1.0001)


def test_w8a8_activation_quantization_is_per_token() -> None:
    x = np.array([[1.0, -2.0, 0.5], [100.0, 0.0, -50.0], [0, 0, 0]], np.float32)
    q, s = quantize_activation(x)
    assert np.allclose(s[:2], [2 / 127, 100 / 127]) and s[2] == 1.0
    assert q[0, 1] == -127 and q[1, 0] == 127 and not q[2].any()
