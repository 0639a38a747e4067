"""The matmul engine interface every linear layer goes through, a bit-exact numpy engine, and a meter.

The NPU driver (`zynpu.npu.Npu`) implements the same two methods; the model never looks further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class MatmulEngine(Protocol):
    def load_weights(self, w: np.ndarray) -> Any:
        """w: int8 (N, K). Pack once at load time; return an opaque handle."""
        ...

    def matmul(self, x: np.ndarray, weights: Any) -> np.ndarray:
        """x: int8 (M, K) -> int32 (M, N) = x @ w.T, exact. M may exceed any hardware row count."""
        ...


# Integers up to 2**24 are exact in float32; a K-chunk of 1024 int8*int8 products stays within that, so
# BLAS sgemm over such a chunk is exact whatever its summation order, and far faster than integer matmul.
_EXACT_K = 1024


class NumpyEngine:
    """Exact int8 x int8 -> int32 matmul on the host CPU (the reference the NPU must match bit for bit)."""

    def load_weights(self, w: np.ndarray) -> Any:
        _check_int8(w, "w", 2)
        return np.ascontiguousarray(w.T, dtype=np.float32)  # (K, N), cast once

    def matmul(self, x: np.ndarray, weights: Any) -> np.ndarray:
        _check_int8(x, "x", 2)
        k = weights.shape[0]
        if x.shape[1] != k:
            raise ValueError(f"x has K={x.shape[1]}, weights have K={k}")
        xf = x.astype(np.float32)
        acc = np.zeros((x.shape[0], weights.shape[1]), dtype=np.int64)
        for k0 in range(0, k, _EXACT_K):
            acc += (xf[:, k0 : k0 + _EXACT_K] @ weights[k0 : k0 + _EXACT_K]).astype(np.int64)
        return acc.astype(np.int32)  # |sum| <= K * 2**14 fits int32 for K < 131072


def _check_int8(a: np.ndarray, name: str, ndim: int) -> None:
    if a.dtype != np.int8 or a.ndim != ndim:
        raise TypeError(f"{name} must be a {ndim}-D int8 array, got {a.dtype} {a.shape}")


@dataclass
class _Handle:
    inner: Any
    n: int
    k: int


@dataclass
class EngineStats:
    """What went through the engine: jobs, and bytes moved (int8 weights + int8 activations in, int32 out)."""

    jobs: int = 0
    weight_bytes: int = 0
    act_in_bytes: int = 0
    act_out_bytes: int = 0
    macs: int = 0

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.act_in_bytes + self.act_out_bytes


class MeteredEngine:
    """Wraps any engine and counts jobs and streamed bytes, so per-token costs come from the real calls."""

    def __init__(self, inner: MatmulEngine) -> None:
        self.inner = inner
        self.stats = EngineStats()
        self.packed_bytes = 0

    def load_weights(self, w: np.ndarray) -> _Handle:
        self.packed_bytes += w.size
        return _Handle(self.inner.load_weights(w), w.shape[0], w.shape[1])

    def matmul(self, x: np.ndarray, weights: _Handle) -> np.ndarray:
        m = x.shape[0]
        s = self.stats
        s.jobs += 1
        s.weight_bytes += weights.n * weights.k  # weights are streamed from DRAM on every job
        s.act_in_bytes += m * weights.k
        s.act_out_bytes += 4 * m * weights.n
        s.macs += m * weights.n * weights.k
        return self.inner.matmul(x, weights.inner)

    def reset(self) -> EngineStats:
        old, self.stats = self.stats, EngineStats()
        return old


def make_engine(name: str) -> MatmulEngine | None:
    """The engine for a registry name (`zynpu.device.select.ENGINES`): an NPU device or a host engine."""
    from zynpu.device.select import ENGINES, NPU_DEVICES, UnknownDeviceError

    if name in NPU_DEVICES:
        from zynpu.device import open_device
        from zynpu.npu import Npu

        return Npu(open_device(name))
    if name == "numpy":
        return NumpyEngine()  # exact int8 on the host CPU
    if name == "float":
        return None  # float32 reference: no quantization, no engine
    raise UnknownDeviceError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
