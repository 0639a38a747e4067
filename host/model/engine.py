"""The matmul engine interface every linear layer goes through, a bit-exact numpy engine, and a meter.

The NPU driver (`zynpu.npu.Npu`) implements the same two methods; the model never looks further.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class MatmulEngine(Protocol):
    def pack_weights(self, w: np.ndarray) -> Any:
        """w: int8 (N, K). Pack once at load time into the engine's memory; return an opaque handle."""
        ...

    def matmul(self, x: np.ndarray, weights: Any) -> np.ndarray:
        """x: int8 (M, K) -> int32 (M, N) = x @ w.T, exact. M may exceed any hardware row count."""
        ...


@runtime_checkable
class Int4Engine(MatmulEngine, Protocol):
    """An engine that also runs the tile's int4 format (zynpu.model.w4a8)."""

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> Any:
        """q: int4 values in int8 (N, K), scales uint8 (N, ceil(K/group)); matmul then gives
        sum_g scales[:, g] * (x @ q.T over group g), exact."""
        ...


# Integers up to 2**24 are exact in float32; a K-chunk of 1024 int8*int8 products stays within that, so
# BLAS sgemm over such a chunk is exact whatever its summation order, and far faster than integer matmul.
_EXACT_K = 1024
# int4 weights times their group scale reach |8 * 255| = 2040: 64 products of 128 * 2040 stay below 2**24.
_EXACT_K_INT4 = 64


@dataclass
class _Dense:
    """NumpyEngine's handle: the integer weights the products use, as float32 (K, N), and the K chunk."""

    wt: np.ndarray
    chunk: int


class NumpyEngine:
    """Exact int8 x int8 -> int32 matmul on the host CPU (the reference the NPU must match bit for bit)."""

    def pack_weights(self, w: np.ndarray) -> _Dense:
        _check_int8(w, "w", 2)
        return _Dense(np.ascontiguousarray(w.T, dtype=np.float32), _EXACT_K)  # (K, N), cast once

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> _Dense:
        from zynpu.model.w4a8 import effective_weights

        _check_int8(q, "q", 2)
        wt = np.ascontiguousarray(effective_weights(q, scales, group).T, dtype=np.float32)
        return _Dense(wt, _EXACT_K_INT4)

    def matmul(self, x: np.ndarray, weights: _Dense) -> np.ndarray:
        _check_int8(x, "x", 2)
        wt, chunk = weights.wt, weights.chunk
        k = wt.shape[0]
        if x.shape[1] != k:
            raise ValueError(f"x has K={x.shape[1]}, weights have K={k}")
        xf = x.astype(np.float32)
        acc = np.zeros((x.shape[0], wt.shape[1]), dtype=np.int64)
        for k0 in range(0, k, chunk):
            acc += (xf[:, k0 : k0 + chunk] @ wt[k0 : k0 + chunk]).astype(np.int64)
        return acc.astype(np.int32)  # no build's K overflows int32 (docs/tile.md)


def _check_int8(a: np.ndarray, name: str, ndim: int) -> None:
    if a.dtype != np.int8 or a.ndim != ndim:
        raise TypeError(f"{name} must be a {ndim}-D int8 array, got {a.dtype} {a.shape}")


@dataclass
class _Handle:
    inner: Any
    n: int
    k: int
    weight_bytes: int  # streamed per job: int8 N*K, int4 N*(ceil(K/2) + groups)
    params: int


@dataclass
class EngineStats:
    """What went through the engine: jobs, bytes moved (weights + int8 activations in, int32 out), and
    the calling thread's CPU seconds inside the engine's matmul (the rest of a forward is host work
    between jobs)."""

    jobs: int = 0
    weight_bytes: int = 0
    act_in_bytes: int = 0
    act_out_bytes: int = 0
    macs: int = 0
    params: int = 0
    engine_s: float = 0.0

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.act_in_bytes + self.act_out_bytes

    @property
    def weight_bits_per_param(self) -> float:
        return 8 * self.weight_bytes / self.params if self.params else 0.0


class MeteredEngine:
    """Wraps any engine and counts jobs and streamed bytes, so per-token costs come from the real calls."""

    def __init__(self, inner: MatmulEngine) -> None:
        self.inner = inner
        self.stats = EngineStats()
        self.packed_bytes = 0

    def pack_weights(self, w: np.ndarray) -> _Handle:
        self.packed_bytes += w.size
        return _Handle(self.inner.pack_weights(w), w.shape[0], w.shape[1], w.size, w.size)

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> _Handle:
        from zynpu.model.w4a8 import weight_bytes

        if not isinstance(self.inner, Int4Engine):
            raise TypeError(f"{type(self.inner).__name__} has no int4 weights; choose int8 for every site")
        nbytes = weight_bytes(q.shape[0], q.shape[1], group)
        self.packed_bytes += nbytes
        return _Handle(self.inner.pack_weights_int4(q, scales, group), q.shape[0], q.shape[1], nbytes, q.size)

    def matmul(self, x: np.ndarray, weights: _Handle) -> np.ndarray:
        m = x.shape[0]
        s = self.stats
        s.jobs += 1
        s.weight_bytes += weights.weight_bytes  # weights are streamed from DRAM on every job
        s.params += weights.params
        s.act_in_bytes += m * weights.k
        s.act_out_bytes += 4 * m * weights.n
        s.macs += m * weights.n * weights.k
        start = time.thread_time()  # the calling thread's CPU time, the clock zynpu.npu and the bench use
        y = self.inner.matmul(x, weights.inner)
        s.engine_s += time.thread_time() - start
        return y

    def reset(self) -> EngineStats:
        old, self.stats = self.stats, EngineStats()
        return old


def close_engine(engine: Any) -> None:
    """Release what an engine holds: the device behind an `Npu` (through any wrappers that keep it as
    `inner`); host engines hold nothing."""
    while engine is not None:
        close = getattr(engine, "close", None)
        if callable(close):
            close()
            return
        engine = getattr(engine, "inner", None)


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
