"""GGUF codes on the tile's grids (zynpu.model.gguf_to_tile) and the int4-gguf sites built from them."""

from __future__ import annotations

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="GGUF tests need the model extra (pip install .[model])")

from zynpu.model.engine import Int4Engine, NumpyEngine  # noqa: E402
from zynpu.model.gguf_native import NativeLinear  # noqa: E402
from zynpu.model.gguf_quants import decode  # noqa: E402
from zynpu.model.gguf_to_tile import mapping_error, to_int4, to_int8  # noqa: E402
from zynpu.model.kquants import fit_q4_k, pack_q4_k, quantize_k  # noqa: E402
from zynpu.model.w4a8 import matmul_int4, quantize_weight_int4  # noqa: E402
from zynpu.model.w8a8 import dequantize_output, quantize_activation, quantize_rows  # noqa: E402
from zynpu.tile import reference  # noqa: E402

Q = gguf.GGMLQuantizationType


def _q4_0(d: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Q4_0 bytes for block factors d (N, B) and codes -8..7 (N, 32 B), packed as the format says."""
    n, b = d.shape
    q = (codes.reshape(n * b, 2, 16) + 8).astype(np.uint8)
    blocks = np.concatenate(
        [d.astype(np.float16).reshape(-1, 1).view(np.uint8), q[:, 0] | (q[:, 1] << 4)], axis=1
    )
    return blocks.reshape(n, b * 18)


def test_q4_0_codes_copy_exactly_where_block_pairs_share_a_power_of_two_grid() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(-8, 8, size=(6, 256)).astype(np.int8)
    d = np.repeat(np.array([[0.5, 0.25, 1.0, 0.125]] * 6, dtype=np.float32), 2, axis=1)  # pairs share d
    bc = decode(_q4_0(d, codes), Q.Q4_0, (6, 256))
    for group in (32, 64):
        tw = to_int4(bc, group)
        err = mapping_error(bc, tw)
        assert err.exact and err.max_abs == 0 and tw.codes_copied == 1.0 and tw.steps_exact == 1.0
        np.testing.assert_array_equal(tw.q, codes)
    # pairs that differ: group 32 still copies every code; group 64 re-rounds the finer block of a pair
    d[:, 1::2] *= 0.75
    bc = decode(_q4_0(d, codes), Q.Q4_0, (6, 256))
    g32, g64 = to_int4(bc, 32), to_int4(bc, 64)
    assert mapping_error(bc, g32).exact and g32.codes_copied == 1.0
    e64 = mapping_error(bc, g64)
    assert not e64.exact and g64.codes_copied < 1.0
    assert e64.max_abs <= 0.5 * d.max() + 1e-12  # at most half the kept step of the coarser block
    np.testing.assert_array_equal(g64.q[:, 0::64][:, :4], codes[:, 0::64][:, :4])  # coarse blocks kept


def test_q4_k_is_exact_at_group_32_when_its_super_blocks_share_d() -> None:
    """value = d*sc*q - dmin*m: codes q - 8 on the tile with S = 4 * sc and r = d / 4; the zero point
    8 * d * sc - dmin * m goes to the host, and the tile's weights then equal gguf's to the bit."""
    rng = np.random.default_rng(1)
    f = fit_q4_k((rng.standard_normal((8 * 4, 256)) * 0.02).astype(np.float32))
    f["d"][:] = np.float16(0.001)  # one d per row (4 super-blocks a row here)
    f["sc"] = np.maximum(f["sc"], 1)
    bc = decode(pack_q4_k(f).reshape(8, -1), Q.Q4_K, (8, 1024))
    tw = to_int4(bc, 32)
    err = mapping_error(bc, tw)
    assert err.exact and tw.codes_copied == 1.0 and tw.steps_exact == 1.0
    assert tw.offsets is not None and err.host_bits_per_param == 0.5
    assert err.stream_bits_per_param == 4.25  # 16 code bytes + 1 scale byte per 32 values
    assert mapping_error(bc, to_int4(bc, 64)).stream_bits_per_param == 4.125


def test_q4_k_native_beats_requantizing_its_float_at_either_group() -> None:
    """The float path (w4a8.quantize_weight_int4 on gguf's values) has no zero point; the codes do."""
    rng = np.random.default_rng(2)
    w = (rng.standard_normal((64, 1024)) * 0.02 + 0.01).astype(np.float32)
    bc = decode(quantize_k(w, "Q4_K"), Q.Q4_K, (64, 1024))
    ref = bc.dequantize().astype(np.float64)
    for group in (32, 64):
        q, s, r = quantize_weight_int4(ref.astype(np.float32), group)
        via_float = np.sqrt(((np.repeat(s, group, 1) * q * r[:, None] - ref) ** 2).mean())
        native = mapping_error(bc, to_int4(bc, group))
        assert native.rel_rms * np.sqrt((ref**2).mean()) < via_float
        assert native.codes_copied == 1.0 if group == 32 else native.codes_copied > 0.5


def test_host_offsets_are_the_zero_points_summed_over_the_activations() -> None:
    rng = np.random.default_rng(3)
    w = (rng.standard_normal((16, 512)) * 0.03).astype(np.float32)
    bc = decode(quantize_k(w, "Q4_K"), Q.Q4_K, (16, 512))
    off = to_int4(bc, 64).offsets
    assert off is not None
    x = rng.integers(-128, 128, size=(5, 512), dtype=np.int8)
    x[0] = -128
    per_k = np.repeat(off.values(), off.block, axis=1)  # (N, K) float64, exact per sub-block
    np.testing.assert_allclose(off.correction(x), x.astype(np.float64) @ per_k.T, rtol=1e-13, atol=0)


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q5_0, Q.Q6_K, Q.Q4_0], ids=lambda t: t.name)
def test_int8_copies_rows_whose_steps_allow_it_and_otherwise_equals_the_float_path(qtype: Q) -> None:
    rng = np.random.default_rng(4)
    w = (rng.standard_normal((12, 512)) * 0.05).astype(np.float32)
    w[0] = np.sign(w[0]) * 0.05  # one magnitude: every block of the row gets the same d
    raw = quantize_k(w, qtype.name) if qtype == Q.Q6_K else gguf.quants.quantize(w, qtype)
    bc = decode(raw, qtype, (12, 512))
    tw = to_int8(bc)
    fq, fs = quantize_rows(bc.dequantize())
    # random rows: steps with no common integer grid, re-rounded exactly as the float path rounds them
    np.testing.assert_array_equal(tw.q[1:], fq[1:])
    np.testing.assert_array_equal(tw.row_scale[1:], fs[1:])
    assert not mapping_error(bc, tw).exact
    flat = decode(raw[:1], qtype, (1, 512))
    if qtype != Q.Q6_K:  # Q6_K's int8 sub-scales vary even in a flat row: its codes never copy
        assert mapping_error(flat, to_int8(flat)).exact and to_int8(flat).codes_copied == 1.0
        # codes over unchanged, negated in blocks whose d has the other sign (Q4_0, Q5_0: d = max / -8)
        np.testing.assert_array_equal(np.abs(to_int8(flat).q), np.abs(flat.codes))


def test_codes_wider_than_4_bits_are_refused_for_int4() -> None:
    raw = gguf.quants.quantize(np.ones((2, 64), dtype=np.float32), Q.Q8_0)
    with pytest.raises(ValueError, match="do not fit int4"):
        to_int4(decode(raw, Q.Q8_0, (2, 64)), 64)


def _q4_k_site(seed: int, n: int = 40, k: int = 512):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((n, k)) * 0.03 + 0.005).astype(np.float32)
    return decode(quantize_k(w, "Q4_K"), Q.Q4_K, (n, k))


def test_native_linear_is_the_tile_formula_plus_the_host_offsets() -> None:
    bcs = [_q4_k_site(5), _q4_k_site(6, n=24)]
    parts = [to_int4(bc, 64) for bc in bcs]
    lin = NativeLinear(parts, NumpyEngine())
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 512)).astype(np.float32)
    y = lin(x)
    xq, xs = quantize_activation(x)
    q = np.concatenate([p.q for p in parts])
    s = np.concatenate([p.scales for p in parts])  # type: ignore[misc]
    expect = dequantize_output(matmul_int4(xq, q, s, 64), xs, lin.scale)
    a = 0
    for p in parts:
        b = a + p.q.shape[0]
        expect[:, a:b] += (p.offsets.correction(xq) * xs[:, None].astype(np.float64)).astype(np.float32)  # type: ignore[union-attr]
        a = b
    np.testing.assert_array_equal(y, expect)
    # and it computes x @ W.T for the tile's weights (float64 reference on the quantized activations)
    w = np.concatenate([p.values() for p in parts])
    ref = (xq.astype(np.float64) * xs[:, None]) @ w.T
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())
    assert lin.argmax(x[:1]) == int(np.argmax(ref[0]))


def test_int8_gguf_weights_are_bit_exact_on_the_ref_device() -> None:
    """Codes mapped to int8 run through the NPU driver on the ref device exactly as on the numpy engine."""
    from zynpu.device import open_device
    from zynpu.npu import Npu

    bc = decode(gguf.quants.quantize(np.random.default_rng(8).standard_normal((96, 640)).astype(np.float32),
                                     Q.Q5_0), Q.Q5_0, (96, 640))
    tw = to_int8(bc)
    x = np.random.default_rng(9).integers(-128, 128, size=(3, 640), dtype=np.int8)
    npu, host = Npu(open_device("ref")), NumpyEngine()
    out = npu.matmul(x, npu.pack_weights(tw.q))
    np.testing.assert_array_equal(out, host.matmul(x, host.pack_weights(tw.q)))
    np.testing.assert_array_equal(out, reference.matmul(x, tw.q))


def test_int4_gguf_weights_are_bit_exact_on_the_ref_device() -> None:
    from zynpu.device import open_device
    from zynpu.npu import Npu

    npu = Npu(open_device("ref"))
    if not isinstance(npu, Int4Engine):
        pytest.skip("the NPU driver has no int4 weights on this branch (issue 16's tile side not merged)")
    tw = to_int4(_q4_k_site(10), 64)
    x = np.random.default_rng(11).integers(-128, 128, size=(2, 512), dtype=np.int8)
    out = npu.matmul(x, npu.pack_weights_int4(tw.q, tw.scales, 64))
    np.testing.assert_array_equal(out, matmul_int4(x, tw.q, tw.scales, 64))  # type: ignore[arg-type]


def test_q4_0_from_gguf_quantizer_keeps_every_code_complemented_where_d_is_negative() -> None:
    """gguf's Q4_0 puts the largest weight of a block at code -8 with d = max / -8, so d has either sign.
    The unsigned group scale holds |d|; a negative block goes over as ~c = -c - 1 and the host adds
    |d| * sum(x) over it. At group 32 every code goes over and only the row's scale grid rounds."""
    w = (np.random.default_rng(12).standard_normal((32, 1024)) * 0.04).astype(np.float32)
    bc = decode(gguf.quants.quantize(w, Q.Q4_0), Q.Q4_0, (32, 1024))
    assert (bc.d < 0).any() and (bc.d > 0).any()
    tw = to_int4(bc, 32)
    flipped = np.repeat(bc.d < 0, 32, axis=1)
    np.testing.assert_array_equal(tw.q[~flipped], bc.codes[~flipped])
    np.testing.assert_array_equal(tw.q[flipped], ~bc.codes[flipped])
    assert tw.offsets is not None and tw.offsets.compact_bits_per_param == 1 / 32 + 16 / 32
    err = mapping_error(bc, tw)
    assert err.codes_copied == 1.0 and err.rel_rms < 0.01
    assert err.max_abs <= 8 * np.abs(bc.d).max() / 128  # the scale grid only: 8 codes x half a unit
    # and the offsets make the tile's product right: NativeLinear against the values in float64
    x = np.random.default_rng(14).standard_normal((2, 1024)).astype(np.float32)
    xq, xs = quantize_activation(x)
    ref = (xq.astype(np.float64) * xs[:, None]) @ tw.values().T
    np.testing.assert_allclose(NativeLinear([tw], NumpyEngine())(x), ref, rtol=1e-5, atol=1e-6)


def test_report_rows_say_exact_where_the_mapping_is_and_price_the_stream() -> None:
    from zynpu.model.gguf_report import tensor_rows

    codes = np.random.default_rng(13).integers(-8, 8, size=(4, 128)).astype(np.int8)
    d = np.array([[0.5, 0.5, 0.25, 0.25]] * 4, dtype=np.float32)
    rows = tensor_rows(decode(_q4_0(d, codes), Q.Q4_0, (4, 128)))
    assert rows["int4 g64 native"]["exact"] and rows["int4 g32 native"]["exact"]
    assert rows["int4 g64 native"]["max_abs"] == 0 < rows["int4 g64 via float"]["max_abs"]
    assert rows["int4 g64 via float"]["stream_bits_per_param"] == 4.125
    assert rows["int4 g32 native"]["stream_bits_per_param"] == 4.25
    assert rows["int8 native"]["stream_bits_per_param"] == 8.0
