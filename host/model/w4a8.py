"""W4A8 arithmetic: int4 weights with group-wise unsigned 8-bit integer scales along K, int8 activations.

The tile's int4 format (docs/tile.md, "Weight formats"): W[n, k] in -8..7 and S[n, g] in 0..255 for
groups of `group` k values; the tile returns Y[m, n] = sum_g S[n, g] * sum_(k in g) X[m, k] * W[n, k]
exactly in integers. A real weight is row_scale[n] * S[n, g] * W[n, k]: the float row scale stays on
the host and multiplies the int32 results, as W8A8's per-channel scale does.
"""

from __future__ import annotations

import numpy as np

WMIN, WMAX = -8, 7  # int4, two's complement
SMAX = 255  # unsigned 8-bit group scale

# Step shrink factors tried per group (1.0: no clipping), the one with the least squared error kept.
CLIP_SEARCH = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75)


def int4_group() -> int:
    """K values per int4 group scale, from the tile manifest (the one definition)."""
    from zynpu.tile.manifest import load_manifest

    return load_manifest().int4_group


def groups(k: int, group: int) -> int:
    return -(-k // group)


def quantize_weight_int4(w: np.ndarray, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, K) float -> int4 values (int8 storage) (N, K), uint8 scales (N, G), float32 row scale (N,).

    Per group the step is max|w| / 7 shrunk by the factor in CLIP_SEARCH with the least squared error
    (clipping the largest weight a little buys a finer grid for the rest); the row scale makes the largest
    step 255 integer units, each group's integer scale is its step rounded on that grid (at least 1),
    and each weight is rounded to the nearest multiple of its group's effective step, clipped to -8..7.
    """
    w = np.asarray(w, dtype=np.float32)
    n, k = w.shape
    g = groups(k, group)
    padded = np.zeros((n, g * group), dtype=np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, g, group)
    amax = np.abs(blocks).max(axis=2) / WMAX  # (N, G): the step that clips nothing
    best_err = np.full(amax.shape, np.inf, dtype=np.float32)
    step = amax.copy()
    for shrink in CLIP_SEARCH:
        trial = np.where(amax > 0, amax * np.float32(shrink), 1.0).astype(np.float32)[:, :, None]
        err = ((np.clip(np.rint(blocks / trial), WMIN, WMAX) * trial - blocks) ** 2).sum(axis=2)
        better = err < best_err
        step[better], best_err[better] = (amax * np.float32(shrink))[better], err[better]
    row = step.max(axis=1) / SMAX
    row = np.where(row > 0, row, 1.0).astype(np.float32)
    scales = np.clip(np.rint(step / row[:, None]), 1, SMAX).astype(np.uint8)
    eff = (row[:, None] * scales.astype(np.float32))[:, :, None]
    q = np.clip(np.rint(blocks / eff), WMIN, WMAX).astype(np.int8).reshape(n, g * group)[:, :k]
    return np.ascontiguousarray(q), scales, row


def effective_weights(q: np.ndarray, scales: np.ndarray, group: int) -> np.ndarray:
    """The integer weight the tile multiplies by: W * S per k (int16; |W * S| <= 2040)."""
    per_k = np.repeat(scales.astype(np.int16), group, axis=1)[:, : q.shape[1]]
    return q.astype(np.int16) * per_k


def matmul_int4(x: np.ndarray, q: np.ndarray, scales: np.ndarray, group: int) -> np.ndarray:
    """The tile's int4 arithmetic, in numpy: sum_g S[n, g] * sum_(k in g) x[m, k] * q[n, k], int32.

    Same contract as zynpu.tile.reference.matmul_int4 (the tile's own model, once merged): switch by
    importing that one instead. No int32 wrap can occur within max_k (docs/tile.md, "No overflow").
    """
    acc = x.astype(np.int64) @ effective_weights(q, scales, group).astype(np.int64).T
    return ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)


def weight_bytes(n: int, k: int, group: int) -> int:
    """Bytes an int4 (N, K) weight streams: two weights a byte plus one scale byte per group and column."""
    return n * (-(-k // 2) + groups(k, group))
