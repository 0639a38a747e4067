"""`NativeEngine`: the model's matmul engine on P native ports, holding the packed weights C reads.

The Python model quantizes and packs its weights through this engine (int8 or int4 with group scales),
exactly as it does through the NPU driver; the native decoder then hands the same arrays to C. Prefill
(M > 1) runs row by row through the same ports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lib import library, ptr

INT8, INT4 = 0, 1  # zn_weights.fmt
COMPUTE, RECORD, REPLAY = 0, 1, 2  # zn_ports.mode


@dataclass
class NativeWeights:
    """W (N, K) as the ports read it: int8 values (int4 values in int8 storage), int4 group scales."""

    q: np.ndarray
    scales: np.ndarray | None
    fmt: int
    group: int

    @property
    def n(self) -> int:
        return self.q.shape[0]

    @property
    def k(self) -> int:
        return self.q.shape[1]


class NativeEngine:
    """Exact int8 (and int4) matmuls through `ports` C ports of one kind (`ref`: the tile's arithmetic)."""

    def __init__(self, ports: int = 1, lanes: int | None = None, kind: str = "ref") -> None:
        if kind != "ref":
            raise ValueError(f"no native {kind!r} port; the native host has the ref port only")
        if lanes is None:
            from ..tile.manifest import load_manifest

            lanes = load_manifest().lanes
        self.lib = library()
        self.ports, self.lanes = ports, lanes
        self.handle = self.lib.zn_ports_new_ref(ports, lanes)
        if not self.handle:
            raise ValueError(f"cannot open {ports} native ports (1..64)")

    def close(self) -> None:
        if self.handle:
            self.lib.zn_ports_free(self.handle)
            self.handle = None

    def __del__(self) -> None:
        self.close()

    def pack_weights(self, w: np.ndarray) -> NativeWeights:
        _check(w, "w")
        return NativeWeights(np.ascontiguousarray(w), None, INT8, 0)

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> NativeWeights:
        _check(q, "q")
        if q.min(initial=0) < -8 or q.max(initial=0) > 7:
            raise ValueError("int4 weights must lie in -8..7")
        s = np.ascontiguousarray(scales, dtype=np.uint8)
        if s.shape != (q.shape[0], -(-q.shape[1] // group)):
            raise ValueError(f"scales {s.shape} do not match int4 weights {q.shape} at group {group}")
        return NativeWeights(np.ascontiguousarray(q), s, INT4, group)

    def matmul(self, x: np.ndarray, weights: NativeWeights) -> np.ndarray:
        _check(x, "x")
        if x.shape[1] != weights.k:
            raise ValueError(f"x has K={x.shape[1]}, weights have K={weights.k}")
        x = np.ascontiguousarray(x)
        y = np.empty((x.shape[0], weights.n), dtype=np.int32)
        for m in range(x.shape[0]):
            rc = self.lib.zn_ports_matmul(
                self.handle,
                ptr(x[m]),
                weights.n,
                weights.k,
                weights.fmt,
                weights.group,
                ptr(weights.q),
                ptr(weights.scales),
                ptr(y[m]),
            )
            if rc:
                raise RuntimeError(f"a native port failed (code {rc})")
        return y

    def mode(self, mode: int) -> None:
        """COMPUTE; RECORD: compute and keep every result on a tape; REPLAY: serve the tape back."""
        self.lib.zn_ports_mode(self.handle, mode)

    def stats(self) -> dict[str, float]:
        """Running totals: matmul_s (wall seconds in matmul calls), device_s (summed over the ports'
        compute, each timed around it), matmuls, jobs (port jobs)."""
        from ctypes import c_double

        out = (c_double * 4)()
        self.lib.zn_ports_stats(self.handle, out)
        return {"matmul_s": out[0], "device_s": out[1], "matmuls": out[2], "jobs": out[3]}

    def port_stats(self) -> list[tuple[float, int]]:
        """Per port: (device seconds from its own clock_gettime windows, jobs)."""
        from ctypes import c_double

        out = (c_double * 2)()
        result = []
        for port in range(self.ports):
            self.lib.zn_ports_port_stats(self.handle, port, out)
            result.append((out[0], int(out[1])))
        return result


def _check(a: np.ndarray, name: str) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != np.int8 or a.ndim != 2:
        raise TypeError(f"{name} must be a 2-D int8 array")
