"""GGUF block formats read as integers: codes, integer sub-scales and float block factors, never values.

Every supported type is one formula (`BlockCodes`):

    value[n, k] = d[n, k // super] * scale[n, k // block] * (code[n, k] + zero)
                  - dmin[n, k // super] * mins[n, k // block]

Q4_0, Q5_0, Q8_0: one fp16 `d` per block of 32, scale 1, signed codes (-8..7, -16..15, -127..127), no mins.
Q4_K: super-blocks of 256 with fp16 `d` and `dmin`, 8 sub-blocks of 32 with 6-bit scales and mins;
its unsigned codes 0..15 are kept as code - 8 (zero = 8), so they are already the tile's int4 grid.
Q6_K: super-blocks of 256 with fp16 `d`, 16 sub-blocks of 16 with int8 scales, codes q - 32 in -32..31.

`BlockCodes.dequantize` evaluates the formula in float32 in the order gguf.quants does, so the
decoders are checked bit for bit against the gguf package (tests/model/test_gguf_quants.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

Q = GGMLQuantizationType


@dataclass(frozen=True)
class BlockCodes:
    """One 2-D GGUF tensor (N rows of K) as the integers and block factors its bytes hold."""

    qtype: Q
    codes: np.ndarray  # int8 (N, K): centered codes (Q4_K: stored code - 8)
    zero: int  # added back to a code before scaling (8 for Q4_K, else 0)
    block: int  # values per integer sub-scale
    superblock: int  # values per float factor d (and dmin)
    scales: np.ndarray  # int16 (N, K / block): integer sub-scales (all 1 where the type has none)
    d: np.ndarray  # float32 (N, K / superblock): the fp16 factors, widened exactly
    mins: np.ndarray | None = None  # uint8 (N, K / block) (Q4_K)
    dmin: np.ndarray | None = None  # float32 (N, K / superblock) (Q4_K)

    @property
    def shape(self) -> tuple[int, int]:
        return self.codes.shape  # type: ignore[return-value]

    def steps(self) -> np.ndarray:
        """float32 (N, K / block): d * scale, the value of one code step per sub-block (exact: <= 18 bits)."""
        per = self.superblock // self.block
        return np.repeat(self.d, per, axis=1) * self.scales.astype(np.float32)

    def min_values(self) -> np.ndarray | None:
        """float32 (N, K / block): dmin * mins, subtracted per sub-block (exact), or None."""
        if self.mins is None or self.dmin is None:
            return None
        per = self.superblock // self.block
        return np.repeat(self.dmin, per, axis=1) * self.mins.astype(np.float32)

    def dequantize(self) -> np.ndarray:
        """float32 (N, K), bit-identical to gguf.quants.dequantize of the same bytes."""
        n, k = self.shape
        step = self.steps()[:, :, None]
        q = (self.codes.astype(np.float32) + np.float32(self.zero)).reshape(n, -1, self.block)
        out = step * q
        mins = self.min_values()
        if mins is not None:
            out = out - mins[:, :, None]
        return out.reshape(n, k)


def _f16(raw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(raw).view(np.float16).astype(np.float32)


def _nibbles(qs: np.ndarray, chunk: int) -> np.ndarray:
    """Bytes (B, chunk // 2 * c) -> 4-bit values (B, chunk * c): per chunk, low nibbles then high ones."""
    b = qs.shape[0]
    q = qs.reshape(b, -1, 1, chunk // 2) >> np.array([0, 4], dtype=np.uint8).reshape(1, 1, 2, 1)
    return (q & np.uint8(15)).reshape(b, -1)


def _simple(qtype: Q, blocks: np.ndarray, n: int, k: int) -> BlockCodes:
    """Q4_0, Q5_0, Q8_0: fp16 d, then the codes of 32 values."""
    d = _f16(blocks[:, :2])
    if qtype == Q.Q8_0:
        codes = np.ascontiguousarray(blocks[:, 2:]).view(np.int8)
    elif qtype == Q.Q4_0:
        codes = _nibbles(blocks[:, 2:], 32).astype(np.int8) - np.int8(8)
    else:  # Q5_0: 4 bytes of high bits (bit j = value j), then 16 bytes of low nibbles
        qh = np.ascontiguousarray(blocks[:, 2:6]).view(np.uint32)
        high = (qh >> np.arange(32, dtype=np.uint32)[None, :]) & np.uint32(1)
        five = _nibbles(blocks[:, 6:], 32) | (high.astype(np.uint8) << np.uint8(4))
        codes = five.astype(np.int8) - np.int8(16)
    blocks_per_row = k // 32
    return BlockCodes(
        qtype,
        codes.reshape(n, k),
        0,
        32,
        32,
        np.ones((n, blocks_per_row), dtype=np.int16),
        d.reshape(n, blocks_per_row),
    )


def _q4_k_scales(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """12 bytes -> 8 six-bit scales and 8 six-bit mins: sub-blocks 0-3 in the low 6 bits of bytes 0-3 and
    4-7; sub-blocks 4-7 as nibbles of bytes 8-11 with their top 2 bits in the high bits of bytes 0-7."""
    s = packed.reshape(-1, 3, 4)
    a, b, c = s[:, 0], s[:, 1], s[:, 2]
    sc = np.concatenate([a & 63, (c & 15) | ((a >> 6) << 4)], axis=1)
    mn = np.concatenate([b & 63, (c >> 4) | ((b >> 6) << 4)], axis=1)
    return sc, mn


def _q4_k(blocks: np.ndarray, n: int, k: int) -> BlockCodes:
    """144 bytes per 256 values: d, dmin (fp16), 12 bytes of scales and mins, 128 bytes of nibbles."""
    d, dmin = _f16(blocks[:, 0:2]), _f16(blocks[:, 2:4])
    sc, mn = _q4_k_scales(blocks[:, 4:16])
    codes = _nibbles(blocks[:, 16:], 64).astype(np.int8) - np.int8(8)
    sb, sub = k // 256, k // 32
    return BlockCodes(
        Q.Q4_K,
        codes.reshape(n, k),
        8,
        32,
        256,
        sc.reshape(n, sub).astype(np.int16),
        d.reshape(n, sb),
        mn.reshape(n, sub).astype(np.uint8),
        dmin.reshape(n, sb),
    )


def _q6_k(blocks: np.ndarray, n: int, k: int) -> BlockCodes:
    """210 bytes per 256 values: low nibbles (128), top 2 bits (64), 16 int8 scales, fp16 d.

    Value h*128 + s*64 + l (l < 64) has its low nibble in byte h*64 + l (s: low or high nibble);
    value h*128 + j*32 + l (l < 32) has its top bits at bits 2j, 2j+1 of qh byte h*32 + l.
    """
    b = blocks.shape[0]
    low = _nibbles(blocks[:, :128], 128)  # (B, 256) in h, s, l order
    qh = blocks[:, 128:192].reshape(b, 2, 1, 32) >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)
    high = (qh & np.uint8(3)).reshape(b, 256)
    codes = (low | (high << np.uint8(4))).astype(np.int8) - np.int8(32)
    sc = np.ascontiguousarray(blocks[:, 192:208]).view(np.int8)
    d = _f16(blocks[:, 208:210])
    scales = sc.reshape(n, k // 16).astype(np.int16)
    return BlockCodes(Q.Q6_K, codes.reshape(n, k), 0, 16, 256, scales, d.reshape(n, k // 256))


DECODABLE = frozenset({Q.Q4_0, Q.Q5_0, Q.Q8_0, Q.Q4_K, Q.Q6_K})


def decode(raw: np.ndarray, qtype: Q, shape: tuple[int, int]) -> BlockCodes:
    """Raw bytes of an (N, K) tensor of type `qtype` (as gguf_file.GGUFTensor.data holds them) -> codes."""
    if qtype not in DECODABLE:
        known = ", ".join(sorted(t.name for t in DECODABLE))
        raise ValueError(f"no integer decoder for {qtype.name} (decodable: {known})")
    n, k = shape
    block, size = GGML_QUANT_SIZES[qtype]
    if k % block:
        raise ValueError(f"rows of {k} values are not whole {qtype.name} blocks of {block}")
    blocks = np.asarray(raw, dtype=np.uint8).reshape(n * (k // block), size)
    if qtype == Q.Q4_K:
        return _q4_k(blocks, n, k)
    if qtype == Q.Q6_K:
        return _q6_k(blocks, n, k)
    return _simple(qtype, blocks, n, k)
