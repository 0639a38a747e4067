"""W8A8 arithmetic: symmetric per-output-channel int8 weights, per-token dynamic int8 activations.

Scales stay float32 on the host; only int8 x int8 -> int32 products go to the engine. Weights and
activations share one quantizer (one scale per row: a weight's output channel, an activation's token).
"""

from __future__ import annotations

import numpy as np

QMAX = 127  # symmetric: -128 is never produced, so negation and the NPU's signed range stay safe
_QMAX, _QMIN, _ONE = np.float32(QMAX), np.float32(-QMAX), np.float32(1)


def quantize_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, C) float32 -> int8 (R, C), float32 scale (R,) with a ~= q * scale[:, None]; zero rows get 1.

    Written as bare ufuncs working in place: a decode step quantizes 73 small rows per token, where
    numpy's per-call cost (np.clip, np.where and .max go through Python wrappers) is most of the work.
    Same operations in the same order as scale = max|a| / 127, q = clip(rint(a / scale)): bit-exact.
    """
    a = np.asarray(a, dtype=np.float32)
    scale = np.maximum.reduce(np.abs(a), axis=1)
    np.divide(scale, _QMAX, out=scale)
    np.copyto(scale, _ONE, where=~(scale > 0))  # all-zero (or NaN) rows
    q = np.divide(a, scale[:, None])
    np.rint(q, out=q)
    np.maximum(q, _QMIN, out=q)
    np.minimum(q, _QMAX, out=q)
    return q.astype(np.int8), scale


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) float -> int8 (N, K), float32 scale (N,): one scale per output channel, at load time."""
    return quantize_rows(np.asarray(w, dtype=np.float32))


def quantize_activation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, K) float32 -> int8 (M, K), float32 scale (M,): one scale per token, computed on the fly."""
    return quantize_rows(x)


def dequantize_output(acc: np.ndarray, x_scale: np.ndarray, w_scale: np.ndarray) -> np.ndarray:
    """int32 (M, N) accumulators -> float32 via the outer product of the two scales."""
    y = acc.astype(np.float32)
    np.multiply(y, x_scale[:, None], out=y)  # in place, in the order (acc * x_scale) * w_scale
    np.multiply(y, w_scale, out=y)
    return y
