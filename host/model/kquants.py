"""Writers for llama.cpp's K-quant blocks (Q4_K, Q5_K, Q6_K), which the gguf package can read but not write.

Only test models need them: a simple min/max fit (not llama.cpp's search), packed bit for bit per the
block layouts. Each format is split into fields -> bytes (`pack_*`) and fields -> values (`values_*`),
so tests can check gguf's dequantizers against this independent reading of the format.
"""

from __future__ import annotations

import numpy as np

QK_K = 256


def _f16(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float16)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0)


def _pack_scales(sc: np.ndarray, m: np.ndarray) -> np.ndarray:
    """8 six-bit scales and mins -> 12 bytes: low 6 bits of sub-blocks 0-3 in bytes 0-7, sub-blocks 4-7
    split as 4-bit nibbles in bytes 8-11 plus their top 2 bits in the high bits of bytes 0-7."""
    sc, m = sc.astype(np.uint8), m.astype(np.uint8)
    b0 = (sc[:, :4] & 63) | ((sc[:, 4:] >> 4) << 6)
    b1 = (m[:, :4] & 63) | ((m[:, 4:] >> 4) << 6)
    b2 = (sc[:, 4:] & 15) | ((m[:, 4:] & 15) << 4)
    return np.concatenate([b0, b1, b2], axis=1).astype(np.uint8)


def _nibbles(q: np.ndarray) -> np.ndarray:
    """256 values (0..15) -> 128 bytes: each 64-value chunk is 32 bytes, first half low nibbles."""
    q = q.reshape(-1, 4, 2, 32).astype(np.uint8)
    return (q[:, :, 0] | (q[:, :, 1] << 4)).reshape(-1, 128)


def fit_q4_k(x: np.ndarray, bits: int = 4) -> dict[str, np.ndarray]:
    """x (n_blocks, 256) -> fields d, dmin (f16), sc, m (n, 8) in 0..63, q (n, 256) in 0..2**bits-1."""
    qmax = 2**bits - 1
    sub = x.reshape(-1, 8, 32).astype(np.float32)
    lo = np.minimum(sub.min(axis=2), 0)
    step, mins = (sub.max(axis=2) - lo) / qmax, -lo
    d, dmin = _f16(step.max(axis=1) / 63), _f16(mins.max(axis=1) / 63)
    sc = np.clip(np.rint(_div(step, d.astype(np.float32)[:, None])), 0, 63)
    m = np.clip(np.rint(_div(mins, dmin.astype(np.float32)[:, None])), 0, 63)
    s = (d.astype(np.float32)[:, None] * sc)[:, :, None]
    o = (dmin.astype(np.float32)[:, None] * m)[:, :, None]
    q = np.clip(np.rint(_div(sub + o, np.broadcast_to(s, sub.shape))), 0, qmax)
    return {
        "d": d,
        "dmin": dmin,
        "sc": sc.astype(np.uint8),
        "m": m.astype(np.uint8),
        "q": q.reshape(-1, QK_K).astype(np.uint8),
    }


def values_q4_k(f: dict[str, np.ndarray]) -> np.ndarray:
    """Block value = d * sc[j] * q - dmin * m[j] for sub-block j (32 values), in float32."""
    d = (f["d"].astype(np.float32)[:, None] * f["sc"].astype(np.float32))[:, :, None]
    o = (f["dmin"].astype(np.float32)[:, None] * f["m"].astype(np.float32))[:, :, None]
    return (d * f["q"].reshape(-1, 8, 32).astype(np.float32) - o).reshape(-1, QK_K)


values_q5_k = values_q4_k


def pack_q4_k(f: dict[str, np.ndarray]) -> np.ndarray:
    """144 bytes/block: d, dmin (f16), scales (12), qs (128)."""
    return np.concatenate(
        [
            f["d"].reshape(-1, 1).view(np.uint8),
            f["dmin"].reshape(-1, 1).view(np.uint8),
            _pack_scales(f["sc"], f["m"]),
            _nibbles(f["q"] & 15),
        ],
        axis=1,
    )


def pack_q5_k(f: dict[str, np.ndarray]) -> np.ndarray:
    """176 bytes/block: d, dmin, scales (12), qh (32: bit j of byte l = high bit of q[32j + l]), qs (128)."""
    high = (f["q"].reshape(-1, 8, 32) >> 4) & 1
    qh = (high << np.arange(8, dtype=np.uint8)[None, :, None]).sum(axis=1).astype(np.uint8)
    return np.concatenate(
        [
            f["d"].reshape(-1, 1).view(np.uint8),
            f["dmin"].reshape(-1, 1).view(np.uint8),
            _pack_scales(f["sc"], f["m"]),
            qh,
            _nibbles(f["q"] & 15),
        ],
        axis=1,
    )


def fit_q6_k(x: np.ndarray) -> dict[str, np.ndarray]:
    """x (n, 256) -> fields d (f16), sc (n, 16) int8, q (n, 256) in 0..63 (value offset by 32)."""
    sub = x.reshape(-1, 16, 16).astype(np.float32)
    step = np.abs(sub).max(axis=2) / 31
    d = _f16(step.max(axis=1) / 127)
    sc = np.clip(np.rint(_div(step, d.astype(np.float32)[:, None])), -128, 127)
    s = np.broadcast_to((d.astype(np.float32)[:, None] * sc)[:, :, None], sub.shape)
    q = np.clip(np.rint(_div(sub, s)), -32, 31) + 32
    return {"d": d, "sc": sc.astype(np.int8), "q": q.reshape(-1, QK_K).astype(np.uint8)}


def values_q6_k(f: dict[str, np.ndarray]) -> np.ndarray:
    """Block value = d * sc[i] * (q - 32) for sub-block i (16 values), in float32."""
    d = (f["d"].astype(np.float32)[:, None] * f["sc"].astype(np.float32))[:, :, None]
    return (d * (f["q"].reshape(-1, 16, 16).astype(np.float32) - 32)).reshape(-1, QK_K)


def pack_q6_k(f: dict[str, np.ndarray]) -> np.ndarray:
    """210 bytes/block: ql (128), qh (64), scales (16 x int8), d (f16).

    Value h*128 + s*64 + l keeps its low nibble in ql[h*64 + l] (s picks low/high nibble); value
    h*128 + k*32 + l keeps its top 2 bits in qh[h*32 + l] at bits 2k, 2k+1.
    """
    q = f["q"].reshape(-1, 2, 2, 64)  # (block, half, nibble, l)
    ql = ((q[:, :, 0] & 15) | ((q[:, :, 1] & 15) << 4)).reshape(-1, 128)
    hi = (f["q"].reshape(-1, 2, 4, 32) >> 4) & 3  # (block, half, k, l)
    qh = (hi << (2 * np.arange(4, dtype=np.uint8))[None, None, :, None]).sum(axis=2).reshape(-1, 64)
    return np.concatenate(
        [
            ql.astype(np.uint8),
            qh.astype(np.uint8),
            f["sc"].view(np.uint8),
            f["d"].reshape(-1, 1).view(np.uint8),
        ],
        axis=1,
    )


def quantize_k(x: np.ndarray, kind: str) -> np.ndarray:
    """(rows, K) float32 with K % 256 == 0 -> (rows, K/256 * block_bytes) uint8, as GGUFWriter expects."""
    rows, k = x.shape
    if k % QK_K:
        raise ValueError(f"{kind} needs rows of a multiple of {QK_K} values, got {k}")
    blocks = x.reshape(-1, QK_K)
    if kind == "Q4_K":
        packed = pack_q4_k(fit_q4_k(blocks))
    elif kind == "Q5_K":
        packed = pack_q5_k(fit_q4_k(blocks, bits=5))
    elif kind == "Q6_K":
        packed = pack_q6_k(fit_q6_k(blocks))
    else:
        raise ValueError(kind)
    return packed.reshape(rows, -1)
