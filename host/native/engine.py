"""`NativeEngine`: the model's matmul engine on P native ports, holding the packed weights C reads.

The Python model quantizes and packs its weights through this engine (int8 or int4 with group scales),
exactly as it does through the NPU driver; the native decoder then hands the same arrays to C. Prefill
(M > 1) runs row by row through the same ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .lib import library, ptr

INT8, INT4 = 0, 1  # zn_weights.fmt
COMPUTE, RECORD, REPLAY = 0, 1, 2  # zn_ports.mode


@dataclass
class NativeWeights:
    """W (N, K) as the ports read it: int8 values (int4 values in int8 storage), int4 group scales, and
    for ports other than ref each port's packed copy (`port_data`, a C array of zn_axi_part pointers)."""

    q: np.ndarray
    scales: np.ndarray | None
    fmt: int
    group: int
    port_data: Any = None
    keep: list[Any] = field(default_factory=list)  # what port_data points into

    @property
    def n(self) -> int:
        return self.q.shape[0]

    @property
    def k(self) -> int:
        return self.q.shape[1]


KINDS = ("ref", "axi-model")


class NativeEngine:
    """Exact int8 (and int4) matmuls through `ports` C ports of one kind.

    `ref`: the tile's arithmetic in C. `axi-model`: each port a tile behind an AXI DMA driven by the C
    job driver (src/axi_dma.c) over the project's PG021 register model and its stream-level tile
    (zynpu.device.axi_dma_model), weights packed in the tile's layout in that model's memory: the board
    port's code path, with Python models where the board has registers and DDR (slow: for tests).
    """

    def __init__(self, ports: int = 1, lanes: int | None = None, kind: str = "ref") -> None:
        from ..tile.manifest import load_manifest

        if kind not in KINDS:
            raise ValueError(f"no native {kind!r} port; choose one of {', '.join(KINDS)}")
        self.manifest = load_manifest()
        lanes = lanes or self.manifest.lanes
        self.lib = library()
        self.ports, self.lanes, self.kind = ports, lanes, kind
        if kind == "ref":
            self.handle = self.lib.zn_ports_new_ref(ports, lanes)
        else:
            self.handle = self._open_axi_models(ports, lanes)
        if not self.handle:
            raise ValueError(f"cannot open {ports} native ports (1..64)")

    def _open_axi_models(self, ports: int, lanes: int) -> Any:
        from ctypes import addressof, c_void_p

        from ..device.axi_dma_model import AxiDmaModel, PhysicalMemory, StreamTile
        from .axi_dma import NativeAxiDma

        self.memories, self.dmas = [], []
        for _ in range(ports):
            memory = PhysicalMemory()
            model = AxiDmaModel(memory, StreamTile(self.manifest), beats_per_tick=64)
            self.memories.append(memory)
            self.dmas.append(NativeAxiDma(model))
        pointers = (c_void_p * ports)(*(addressof(d.dma) for d in self.dmas))
        return self.lib.zn_ports_new_axi(ports, lanes, pointers)

    def _pack_axi(self, weights: NativeWeights) -> NativeWeights:
        """Each port's columns packed for M = 1 jobs in its memory: header, activation row, weights."""
        from ctypes import addressof, c_void_p

        from ..npu import port_columns
        from ..tile import packing
        from .axi_dma import AxiPart

        man, lanes = self.manifest, self.lanes
        fmt = "int4" if weights.fmt == INT4 else "int8"
        if weights.k > man.max_k:
            raise ValueError(f"K={weights.k} needs K parts; the native axi port runs single-part jobs only")
        parts = []
        for port, (n0, n1) in enumerate(port_columns(weights.n, lanes, self.ports)):
            shape = packing.check_shape(man, 1, weights.k, n1 - n0, fmt)
            prefix = shape.prefix_beats * lanes
            address, memory = self.memories[port].allocate(prefix + shape.weight_bytes)
            memory[:] = 0
            target = memory[prefix : prefix + shape.weight_bytes]
            if weights.scales is None:
                packing.pack_weights(weights.q[n0:n1], lanes, out=target)
            else:
                packing.pack_weights_int4(
                    weights.q[n0:n1], weights.scales[n0:n1], lanes, shape.group, out=target
                )
            out_address, out = self.memories[port].allocate(shape.output_bytes + lanes)
            header = np.ascontiguousarray(packing.pack_header(man, 1, weights.k, n1 - n0, weights=fmt))
            part = AxiPart(
                memory.ctypes.data, address, out.ctypes.data, out_address, header.ctypes.data,
                lanes, weights.k, n1 - n0, shape.input_bytes, shape.output_bytes,
            )  # fmt: skip
            parts.append(part)
            weights.keep += [memory, out, header, part]
        weights.port_data = (c_void_p * self.ports)(*(addressof(p) for p in parts))
        return weights

    def close(self) -> None:
        if self.handle:
            self.lib.zn_ports_free(self.handle)
            self.handle = None

    def __del__(self) -> None:
        self.close()

    def pack_weights(self, w: np.ndarray) -> NativeWeights:
        _check(w, "w")
        packed = NativeWeights(np.ascontiguousarray(w), None, INT8, 0)
        return self._pack_axi(packed) if self.kind != "ref" else packed

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> NativeWeights:
        _check(q, "q")
        if q.min(initial=0) < -8 or q.max(initial=0) > 7:
            raise ValueError("int4 weights must lie in -8..7")
        s = np.ascontiguousarray(scales, dtype=np.uint8)
        if s.shape != (q.shape[0], -(-q.shape[1] // group)):
            raise ValueError(f"scales {s.shape} do not match int4 weights {q.shape} at group {group}")
        packed = NativeWeights(np.ascontiguousarray(q), s, INT4, group)
        return self._pack_axi(packed) if self.kind != "ref" else packed

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
                _address(weights.port_data),
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


def _address(port_data: Any) -> int | None:
    from ctypes import addressof

    return None if port_data is None else addressof(port_data)


def _check(a: np.ndarray, name: str) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != np.int8 or a.ndim != 2:
        raise TypeError(f"{name} must be a 2-D int8 array")
