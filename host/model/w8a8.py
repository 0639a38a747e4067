"""W8A8 arithmetic: symmetric per-output-channel int8 weights, per-token dynamic int8 activations.

Scales stay float32 on the host; only int8 x int8 -> int32 products go to the engine.
"""

from __future__ import annotations

import numpy as np

QMAX = 127  # symmetric: -128 is never produced, so negation and the NPU's signed range stay safe


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) float -> int8 (N, K), float32 scale (N,) with w ~= q * scale[:, None]."""
    w = np.asarray(w, dtype=np.float32)
    scale = np.abs(w).max(axis=1) / QMAX
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -QMAX, QMAX).astype(np.int8)
    return q, scale


def quantize_activation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, K) float32 -> int8 (M, K), float32 scale (M,): one scale per token, computed on the fly."""
    scale = np.abs(x).max(axis=1) / QMAX
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(x / scale[:, None]), -QMAX, QMAX).astype(np.int8)
    return q, scale


def dequantize_output(acc: np.ndarray, x_scale: np.ndarray, w_scale: np.ndarray) -> np.ndarray:
    """int32 (M, N) accumulators -> float32 via the outer product of the two scales."""
    return acc.astype(np.float32) * x_scale[:, None] * w_scale[None, :]
