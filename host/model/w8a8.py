"""W8A8 arithmetic: symmetric per-output-channel int8 weights, per-token dynamic int8 activations.

Scales stay float32 on the host; only int8 x int8 -> int32 products go to the engine. Weights and
activations share one quantizer (one scale per row: a weight's output channel, an activation's token).
"""

from __future__ import annotations

import numpy as np

QMAX = 127  # symmetric: -128 is never produced, so negation and the NPU's signed range stay safe


def quantize_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, C) float32 -> int8 (R, C), float32 scale (R,) with a ~= q * scale[:, None]; zero rows get 1."""
    scale = np.abs(a).max(axis=1) / QMAX
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(a / scale[:, None]), -QMAX, QMAX).astype(np.int8)
    return q, scale


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) float -> int8 (N, K), float32 scale (N,): one scale per output channel, at load time."""
    return quantize_rows(np.asarray(w, dtype=np.float32))


def quantize_activation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, K) float32 -> int8 (M, K), float32 scale (M,): one scale per token, computed on the fly."""
    return quantize_rows(x)


def dequantize_output(acc: np.ndarray, x_scale: np.ndarray, w_scale: np.ndarray) -> np.ndarray:
    """int32 (M, N) accumulators -> float32 via the outer product of the two scales."""
    return acc.astype(np.float32) * x_scale[:, None] * w_scale[None, :]
