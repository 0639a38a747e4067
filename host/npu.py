"""The NPU driver: int8 matmuls on the tile through any device (sim, ref, board).

Weights are packed into a device buffer once (`load_weights`), with room in front of them for the
job header and activations, so a call writes only `1 + M*ceil(K/L)` beats and launches one DMA
transfer each way over the whole packet. M is tiled over the tile's rows on the host; K beyond the
tile's `max_k` is split into parts whose int32 results are summed (wrapping, as the tile's adders do).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .device.base import Buffer, Device, DmaError
from .tile import packing
from .tile.manifest import TileManifest

MASK32 = 0xFFFFFFFF


class HardwareMismatch(RuntimeError):
    """The device's ID/VERSION/CONFIG/hash registers disagree with the manifest the host was built for."""


class TileError(RuntimeError):
    """The tile rejected a job; `code` and `name` say why (spec.ErrorCode)."""

    def __init__(self, message: str, code: int, name: str, beat: int | None) -> None:
        super().__init__(message)
        self.code, self.name, self.beat = code, name, beat


class NpuTimeout(RuntimeError):
    """A DMA transfer missed its deadline; the message carries STATUS and the counters."""


@dataclass
class WeightPart:
    """One K-slice of a weight matrix, packed behind room for a header and `rows` activation rows."""

    k0: int
    k: int
    buffer: Buffer
    prefix_bytes: int  # bytes reserved in front of the weights
    output: Buffer
    weights: str = "int8"  # weight format (packing.WEIGHT_FORMATS)


@dataclass
class PackedWeights:
    """A weight matrix W (N, K) resident in device memory in the tile's layout."""

    n: int
    k: int
    parts: list[WeightPart] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        """Weight bytes streamed per job (padding included)."""
        return sum(p.buffer.nbytes - p.prefix_bytes for p in self.parts)


@dataclass
class JobStats:
    """Counter increments and traffic of the last `matmul` call (all its tile jobs)."""

    jobs: int = 0
    cycles: int = 0
    active: int = 0
    starved: int = 0
    stalled: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


class Npu:
    """Drive the tile on `device`; refuses hardware that does not match `manifest`."""

    def __init__(
        self,
        device: Device,
        manifest: TileManifest | None = None,
        *,
        timeout: float = 10.0,
        collect_stats: bool = True,
    ) -> None:
        self.device = device
        self.manifest = manifest or device.manifest
        self.timeout = timeout
        self.collect_stats = collect_stats
        self.last = JobStats()
        self.total = JobStats()
        self.identity = self.identify()
        self._reg = {name: self.manifest.offset(name) for name in ("STATUS", "CONTROL")}
        self._counter_offsets = {name: self.manifest.offset(name) for name in self.manifest.counters}

    # Identity -----------------------------------------------------------------------------------
    def identify(self) -> dict[str, int]:
        """Read the identity registers and compare them with the manifest, naming any difference."""
        man = self.manifest
        expected = {
            "ID": man.id_magic,
            "VERSION": man.version_word,
            "CONFIG": man.config_word,
            "MAX_K": man.max_k,
            "CONFIG_HASH": man.config_hash32,
        }
        found = {name: self.device.read(man.offset(name)) for name in expected}
        wrong = [
            f"{name} reads 0x{found[name]:08X}, the manifest expects 0x{value:08X}"
            for name, value in expected.items()
            if found[name] != value
        ]
        if wrong:
            raise HardwareMismatch(
                f"the {self.device.name} device is not the tile this host was built for: "
                + "; ".join(wrong)
                + ". Load the matching bitstream, or rebuild it from this tree (make overlay)."
            )
        return found

    @property
    def rows(self) -> int:
        return self.manifest.rows

    @property
    def lanes(self) -> int:
        return self.manifest.lanes

    # Weights ------------------------------------------------------------------------------------
    def load_weights(self, w: np.ndarray, scales: np.ndarray | None = None) -> PackedWeights:
        """Pack W int8 (N, K) into device memory once; every later matmul streams it from there.

        With `scales` (uint8, (N, ceil(K/group)), group = the manifest's int4 group) W holds int4 values
        (-8..7) and streams as int4: matmul then returns sum_g scales[:, g] * (X @ W.T over group g).
        """
        if not isinstance(w, np.ndarray) or w.dtype != np.int8 or w.ndim != 2:
            raise TypeError(f"weights must be a 2-D int8 array, not {_describe(w)}")
        n, k = w.shape
        packing.check_shape(self.manifest, 1, min(k, self.manifest.max_k), n)
        group = self.manifest.int4_group
        if scales is not None:
            packing.check_int4(w, scales, group)
        packed = PackedWeights(n, k)
        for k0 in range(0, k, self.manifest.max_k):  # max_k is a multiple of the int4 group
            k1 = min(k, k0 + self.manifest.max_k)
            part_scales = None if scales is None else scales[:, k0 // group : -(-k1 // group)]
            packed.parts.append(self._load_part(np.ascontiguousarray(w[:, k0:k1]), k0, part_scales))
        return packed

    def _load_part(self, w: np.ndarray, k0: int, scales: np.ndarray | None = None) -> WeightPart:
        n, k = w.shape
        lanes = self.lanes
        fmt = "int8" if scales is None else "int4"
        full = packing.check_shape(self.manifest, self.rows, k, n, fmt)
        prefix = full.prefix_beats * lanes
        if scales is None:
            weights = packing.pack_weights(w, lanes)
        else:
            weights = packing.pack_weights_int4(w, np.ascontiguousarray(scales), lanes, full.group)
        buffer = self.device.allocate(prefix + weights.size, np.uint8)
        buffer[prefix:] = weights
        buffer.flush()
        output = self.device.allocate(full.output_bytes + lanes, np.uint8)
        return WeightPart(k0, k, buffer, prefix, output, fmt)

    # Matmul -------------------------------------------------------------------------------------
    def matmul(self, x: np.ndarray, weights: PackedWeights) -> np.ndarray:
        """Y = X @ W.T for X int8 (M, K): int32 (M, N), bit-exact with the tile's arithmetic."""
        if not isinstance(x, np.ndarray) or x.dtype != np.int8 or x.ndim != 2:
            raise TypeError(f"activations must be a 2-D int8 array, not {_describe(x)}")
        if x.shape[1] != weights.k:
            raise ValueError(f"activations have K={x.shape[1]} but the weights have K={weights.k}")
        if x.shape[0] == 0:
            raise ValueError("activations have no rows (M=0)")
        self.last = JobStats()
        y = np.zeros((x.shape[0], weights.n), dtype=np.int32)
        for part in weights.parts:
            xs = x[:, part.k0 : part.k0 + part.k]
            for m0 in range(0, x.shape[0], self.rows):
                chunk = np.ascontiguousarray(xs[m0 : m0 + self.rows])
                with np.errstate(over="ignore"):
                    y[m0 : m0 + chunk.shape[0]] += self._run_job(part, chunk, weights.n)
        _accumulate(self.total, self.last)
        return y

    def _run_job(self, part: WeightPart, x: np.ndarray, n: int) -> np.ndarray:
        man, dev = self.manifest, self.device
        shape = packing.check_shape(man, x.shape[0], part.k, n, part.weights)
        start = part.prefix_bytes - shape.prefix_beats * self.lanes
        buf = part.buffer
        buf[start : start + self.lanes] = self._header(shape)
        buf[start + self.lanes : part.prefix_bytes] = packing.pack_activations(x, self.lanes)
        buf.flush()
        before = self._read_counters() if self.collect_stats else None

        try:
            dev.recv.transfer(part.output, 0, shape.output_bytes + self.lanes)
            dev.send.transfer(buf, start, shape.input_bytes)
            dev.send.wait(self.timeout)
            dev.recv.wait(self.timeout)
        except DmaError as error:
            state = self._describe_state()
            self._recover()
            raise NpuTimeout(f"{error}; {state}") from error

        received = dev.recv.transferred
        status = dev.read(self._reg["STATUS"])
        code = man.extract("STATUS", "ERROR", status)
        if code or received != shape.output_bytes:
            self._raise_tile_error(part.output, received, code, status, shape)
        part.output.invalidate()
        if before is not None:
            self._count(before, shape)
        return packing.unpack_results(np.asarray(part.output[: shape.output_bytes]), shape)

    def _header(self, shape: packing.JobShape) -> np.ndarray:
        return packing.pack_header(self.manifest, shape.m, shape.k, shape.n, weights=shape.weights)

    # Errors and recovery ------------------------------------------------------------------------
    def _raise_tile_error(self, out: Buffer, received: int, code: int, status: int, shape) -> None:
        man = self.manifest
        beat = None
        if received >= self.lanes:
            parsed = packing.parse_error_beat(man, np.asarray(out[received - self.lanes : received]))
            if parsed is not None:
                code, beat = parsed
        self.device.write(self._reg["CONTROL"], man.bit("CONTROL", "CLEAR_STATUS"))
        name = man.error_name(code) if code else "SHORT_OUTPUT"
        where = f" at input beat {beat}" if beat is not None else ""
        raise TileError(
            f"tile rejected the job (M={shape.m}, K={shape.k}, N={shape.n}): {name}{where}; "
            f"{received} of {shape.output_bytes} output bytes received; STATUS=0x{status:08X}",
            code,
            name,
            beat,
        )

    def _recover(self) -> None:
        """After a timeout: tile to idle first (its unfinished output packet is dropped, without TLAST),
        then both DMA channels (discarding the cut packet), then the tile again (input the DMA pushed in
        between) with its status cleared. docs/tile.md, "Soft reset", says why in this order."""
        man = self.manifest
        self.device.write(self._reg["CONTROL"], man.bit("CONTROL", "SOFT_RESET"))
        for channel in (self.device.send, self.device.recv):
            channel.reset()
        self.device.write(
            self._reg["CONTROL"], man.bit("CONTROL", "SOFT_RESET") | man.bit("CONTROL", "CLEAR_STATUS")
        )

    def _describe_state(self) -> str:
        status = self.device.read(self._reg["STATUS"])
        counters = ", ".join(f"{k}={v}" for k, v in self._read_counters().items())
        return f"STATUS=0x{status:08X} before recovery; counters {counters}"

    def reset(self) -> None:
        """Soft-reset the tile and clear its status (counters keep counting)."""
        self._recover()

    # Counters -----------------------------------------------------------------------------------
    def _read_counters(self) -> dict[str, int]:
        return {name: self.device.read(offset) for name, offset in self._counter_offsets.items()}

    def counters(self) -> dict[str, int]:
        """The tile's performance counters now (32-bit, wrapping)."""
        return self._read_counters()

    def clear_counters(self) -> None:
        self.device.write(self._reg["CONTROL"], self.manifest.bit("CONTROL", "CLEAR_COUNTERS"))

    def _count(self, before: dict[str, int], shape: packing.JobShape) -> None:
        after = self._read_counters()
        delta = {k: (after[k] - before[k]) & MASK32 for k in after}
        last = self.last
        last.jobs += 1
        last.cycles += delta["CYCLES"]
        last.active += delta["ACTIVE"]
        last.starved += delta["STARVED"]
        last.stalled += delta["STALLED"]
        last.bytes_in += shape.input_bytes
        last.bytes_out += shape.output_bytes


def _accumulate(total: JobStats, step: JobStats) -> None:
    for name in vars(total):
        setattr(total, name, getattr(total, name) + getattr(step, name))


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-D {value.dtype} array of shape {value.shape}"
    return type(value).__name__
