"""The NPU driver: int8 matmuls on the tile through any device (sim, ref, board), over P weight ports.

Each weight tensor is packed in one of the tile's weight formats (manifest `weight_formats`): int8, or
int4 with group scales (`pack_weights_int4`); the host picks the format per tensor (zynpu.model.precision).

Weights are packed into device buffers once (`pack_weights`), with room in front of them for the job
header and activations, so a call writes only `1 + M*ceil(K/L)` beats per port and launches one DMA
transfer each way over the whole packet. `plan` is the one tiling of a logical matmul into tile jobs
(the roofline counts the same jobs): M is tiled over the tile's rows, K beyond `max_k` is split into
parts whose int32 results are summed (wrapping, as the tile's adders do), and N is split over the
device's weight ports (whole lane blocks each), every port with its own DMA and tile. A wave of jobs,
one per port, is launched on every port before any is waited on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .device.base import Buffer, Device, DmaError
from .tile import packing
from .tile.manifest import TileManifest

MASK32 = 0xFFFFFFFF
_JOB_COUNTERS = ("CYCLES", "ACTIVE", "STARVED", "STALLED")  # what JobStats needs, in this order
# Host costs are measured in CPU time, not wall time: the development machine is shared, and CPU seconds
# do not count the time other processes held the core. The calling thread's: the host's work is all on
# it, and helper threads (a BLAS pool inside a device model) are not the driver's.
_cpu = time.thread_time


class HardwareMismatch(RuntimeError):
    """The device's ID/VERSION/CONFIG/hash registers disagree with the manifest the host was built for."""


class TileError(RuntimeError):
    """The tile rejected a job; `code` and `name` say why (spec.ErrorCode)."""

    def __init__(self, message: str, code: int, name: str, beat: int | None) -> None:
        super().__init__(message)
        self.code, self.name, self.beat = code, name, beat


class NpuTimeout(RuntimeError):
    """A DMA transfer missed its deadline; the message carries STATUS and the counters."""


# Tiling ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TileJob:
    """One hardware job of a logical matmul: rows m0.., K slice k0.., columns n0.. on weight port `port`."""

    port: int
    m0: int
    k0: int
    n0: int
    shape: packing.JobShape


def port_columns(n: int, lanes: int, ports: int) -> list[tuple[int, int]]:
    """N split over `ports` into contiguous column ranges of whole lane blocks, as even as blocks allow.

    Fewer ranges than ports when N has fewer blocks than there are ports (idle ports cost nothing).
    """
    blocks = -(-n // lanes)
    used = max(1, min(ports, blocks))
    base, extra = divmod(blocks, used)
    ranges, b0 = [], 0
    for p in range(used):
        b1 = b0 + base + (1 if p < extra else 0)
        ranges.append((b0 * lanes, min(n, b1 * lanes)))
        b0 = b1
    return ranges


def plan(
    manifest: TileManifest, m: int, k: int, n: int, ports: int = 1, weights: str = "int8"
) -> list[list[TileJob]]:
    """The tile jobs of Y (M, N) = X (M, K) @ W.T, in waves: one job per used port, launched together.

    Waves run one after another (for each K part, for each block of `rows` token rows); within a wave
    the ports stream concurrently, so a wave costs its slowest port's cycles. `weights`: the tensor's
    weight format; int4 K parts start on a group boundary (max_k is a whole number of groups).
    """
    columns = port_columns(n, manifest.lanes, ports)
    waves = []
    for k0 in range(0, k, manifest.max_k):
        kp = min(manifest.max_k, k - k0)
        for m0 in range(0, m, manifest.rows):
            mp = min(manifest.rows, m - m0)
            waves.append(
                [
                    TileJob(p, m0, k0, n0, packing.check_shape(manifest, mp, kp, n1 - n0, weights))
                    for p, (n0, n1) in enumerate(columns)
                ]
            )
    return waves


# Packed weights -------------------------------------------------------------------------------------
@dataclass
class WeightPart:
    """One K-slice of one port's columns, packed behind room for a header and `rows` activation rows."""

    port: int
    k0: int
    k: int
    n0: int
    n: int
    buffer: Buffer
    prefix_bytes: int  # bytes reserved in front of the weights
    output: Buffer
    # Per token-row count m: where that job starts in `buffer` and a plain int8 view (m, beats * L) of
    # its activation rows, so a job writes its activations straight into device memory (`_slot`).
    slots: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict, repr=False)
    header_m: int = 0  # the m whose header beat is in place (0: none yet)
    # Per job shape whose results (M, N) are a view of `output` (M = 1 always; M > 1 needs a copy made
    # per job): that view, built once.
    results: dict[packing.JobShape, np.ndarray | None] = field(default_factory=dict, repr=False)


@dataclass
class PackedWeights:
    """A weight matrix W (N, K) resident in device memory in the tile's layout, split over the ports."""

    n: int
    k: int
    weights: str = "int8"  # the tile's weight format of this tensor (manifest weight_formats)
    parts: list[WeightPart] = field(default_factory=list)
    _index: dict[tuple[int, int], WeightPart] = field(default_factory=dict, repr=False, init=False)

    @property
    def nbytes(self) -> int:
        """Weight bytes streamed per job (padding included), all ports together."""
        return sum(p.buffer.nbytes - p.prefix_bytes for p in self.parts)

    def part(self, port: int, k0: int) -> WeightPart:
        if len(self._index) != len(self.parts):
            self._index = {(p.port, p.k0): p for p in self.parts}
        return self._index[port, k0]


@dataclass
class JobStats:
    """Counter increments, traffic and host timing of the last `matmul` call (all its tile jobs).

    cycles, active, starved, stalled: summed over every port's tile. wave_cycles: the critical path,
    each wave's slowest port (equal to cycles on one port): what the job costs in time.
    cpu_s: CPU time in `matmul`; device_cpu_s: CPU time inside the device's DMA transfers, waits and register
    reads (on sim: the simulator running; on ref: the numpy model; on a board: the hardware streaming
    and the MMIO reads); cpu_s - device_cpu_s is the driver's own work (packing, launching, unpacking).
    """

    jobs: int = 0
    waves: int = 0
    cycles: int = 0
    wave_cycles: int = 0
    active: int = 0
    starved: int = 0
    stalled: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    register_reads: int = 0
    cpu_s: float = 0.0
    device_cpu_s: float = 0.0

    @property
    def driver_s(self) -> float:
        return max(0.0, self.cpu_s - self.device_cpu_s)


class Npu:
    """Drive the tile(s) on `device`; refuses hardware that does not match `manifest`.

    A device with a `ports` attribute (`zynpu.device.multiport`) offers one DMA and tile per weight
    port; any other device is one port.
    """

    def __init__(
        self,
        device: Device,
        manifest: TileManifest | None = None,
        *,
        timeout: float = 10.0,
        collect_stats: bool = True,
    ) -> None:
        self.device = device
        self.ports: tuple[Device, ...] = tuple(getattr(device, "ports", (device,)))
        self.manifest = manifest or device.manifest
        self.timeout = timeout
        self.collect_stats = collect_stats
        self.last = JobStats()
        self.total = JobStats()
        self.identity = self.identify()
        self._reg = {name: self.manifest.offset(name) for name in ("STATUS", "CONTROL")}
        lsb, width = self.manifest.field("STATUS", "ERROR")
        self._error_field = (lsb, (1 << width) - 1)  # read on every job: looked up once
        self._counter_offsets = {name: self.manifest.offset(name) for name in self.manifest.counters}
        # Per-call work the driver would otherwise redo on every token: the plan of a shape and the
        # header beat of a job (both pure functions of the shape).
        self._plans: dict[tuple[int, int, int, str], list[list[TileJob]]] = {}
        self._headers: dict[packing.JobShape, np.ndarray] = {}

    def close(self) -> None:
        """Close the device this driver was given (every weight port of it)."""
        self.device.close()

    def __enter__(self) -> Npu:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Identity -----------------------------------------------------------------------------------
    def identify(self) -> dict[str, int]:
        """Read every port's identity registers and compare them with the manifest, naming any difference."""
        man = self.manifest
        expected = man.identity
        found: dict[str, int] = {}
        for index, port in enumerate(self.ports):
            found = {name: port.read(man.offset(name)) for name in expected}
            wrong = [
                f"{name} reads 0x{found[name]:08X}, the manifest expects 0x{value:08X}"
                for name, value in expected.items()
                if found[name] != value
            ]
            if wrong:
                where = f" (weight port {index})" if len(self.ports) > 1 else ""
                raise HardwareMismatch(
                    f"the {self.device.name} device{where} is not the tile this host was built for: "
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
    def pack_weights(self, w: np.ndarray) -> PackedWeights:
        """Pack W int8 (N, K) into device memory once, split over the ports; every matmul streams it."""
        if not isinstance(w, np.ndarray) or w.dtype != np.int8 or w.ndim != 2:
            raise TypeError(f"weights must be a 2-D int8 array, not {_describe(w)}")
        n, k = w.shape
        packing.check_shape(self.manifest, 1, min(k, self.manifest.max_k), n)
        return self._pack(PackedWeights(n, k), w, None)

    load_weights = pack_weights  # the old name, while callers on other branches move to pack_weights

    def pack_weights_int4(self, q: np.ndarray, scales: np.ndarray, group: int) -> PackedWeights:
        """Pack int4 W (N, K) (values -8..7 in int8) with uint8 group scales (N, ceil(K/group)) once.

        Every matmul with it returns sum_g scales[:, g] * (X @ W.T over group g), exact in int32.
        """
        man = self.manifest
        if group != man.int4_group:
            raise ValueError(
                f"int4 group {group} is not the tile's ({man.int4_group}; manifest weight_formats)"
            )
        packing.check_int4(q, scales, group)
        n, k = q.shape
        packing.check_shape(man, 1, min(k, man.max_k), n, "int4")
        if k > man.max_k and man.max_k % group:
            raise ValueError(f"K={k} needs K parts, but max_k={man.max_k} is not a whole number of groups")
        return self._pack(PackedWeights(n, k, "int4"), q, scales)

    def _pack(self, packed: PackedWeights, w: np.ndarray, scales: np.ndarray | None) -> PackedWeights:
        """Split W (and its int4 scales) over the ports and K parts of `plan`, each into device memory."""
        man = self.manifest
        for wave in plan(man, 1, packed.k, packed.n, len(self.ports), packed.weights):
            for job in wave:
                s = job.shape
                cols = np.ascontiguousarray(w[job.n0 : job.n0 + s.n, job.k0 : job.k0 + s.k])
                part_scales = None
                if scales is not None:
                    g0 = job.k0 // s.group
                    part_scales = np.ascontiguousarray(scales[job.n0 : job.n0 + s.n, g0 : g0 + s.groups])
                packed.parts.append(self._pack_part(job.port, s, cols, part_scales, job.k0, job.n0))
        return packed

    def _pack_part(
        self, port: int, s: packing.JobShape, w: np.ndarray, scales: np.ndarray | None, k0: int, n0: int
    ) -> WeightPart:
        n, k = w.shape
        lanes = self.lanes
        full = packing.check_shape(self.manifest, self.rows, k, n, s.weights)
        prefix = full.prefix_beats * lanes
        device = self.ports[port]
        buffer = device.allocate(prefix + full.weight_bytes, np.uint8)
        # in place: no host copy of the weights
        if scales is None:
            packing.pack_weights(w, lanes, out=buffer[prefix:])
        else:
            packing.pack_weights_int4(w, scales, lanes, s.group, out=buffer[prefix:])
        buffer.flush()
        # Results are read by the CPU: a cacheable buffer (invalidated before each read, `_collect`)
        # reads at cache speed on a board, where non-cacheable reads are slow. The weights buffer stays
        # non-cacheable: it is large and only written, so flushing it whole every job would cost more.
        output = device.allocate(full.output_bytes + lanes, np.uint8, cacheable=True)
        return WeightPart(port, k0, k, n0, n, buffer, prefix, output)

    # Matmul -------------------------------------------------------------------------------------
    def matmul(self, x: np.ndarray, weights: PackedWeights) -> np.ndarray:
        """Y = X @ W.T for X int8 (M, K): int32 (M, N), bit-exact with the tile's arithmetic."""
        if not isinstance(x, np.ndarray) or x.dtype != np.int8 or x.ndim != 2:
            raise TypeError(f"activations must be a 2-D int8 array, not {_describe(x)}")
        if x.shape[1] != weights.k:
            raise ValueError(f"activations have K={x.shape[1]} but the weights have K={weights.k}")
        if x.shape[0] == 0:
            raise ValueError("activations have no rows (M=0)")
        timed = self.collect_stats
        start = _cpu() if timed else 0.0
        self.last = JobStats()
        # Every column is assigned by its K-part 0 wave before any later part adds to it: no zero-fill.
        y = np.empty((x.shape[0], weights.n), dtype=np.int32)
        key = (x.shape[0], weights.k, weights.n, weights.weights)
        waves = self._plans.get(key)
        if waves is None:
            waves = self._plans[key] = plan(self.manifest, *key[:3], len(self.ports), weights.weights)
        for wave in waves:
            self._run_wave(wave, weights, x, y)
        if timed:
            self.last.cpu_s = _cpu() - start
            _accumulate(self.total, self.last)
        return y

    def _run_wave(self, wave: list[TileJob], weights: PackedWeights, x: np.ndarray, y: np.ndarray) -> None:
        """Write every port's header and activations, launch all ports, then wait on each and unpack.

        The device's part (counter reads, the launches, the waits, STATUS) runs in one timed window per
        wave, so the driver's CPU time is measured with two clock reads a wave, not a dozen a job.
        """
        launched = []
        for job in wave:
            part = weights.part(job.port, job.k0)
            s = job.shape
            start, rows = self._slot(part, s)
            rows[:, : s.k] = x[job.m0 : job.m0 + s.m, job.k0 : job.k0 + s.k]  # into device memory
            part.buffer.flush()
            launched.append((job, part, start))
        stats = self.collect_stats
        inside = _cpu() if stats else 0.0
        try:
            before = [self._cycle_counters(self.ports[job.port]) for job in wave] if stats else None
            for job, part, start in launched:
                dev = self.ports[job.port]
                dev.recv.transfer(part.output, 0, job.shape.output_bytes + self.lanes)
                dev.send.transfer(part.buffer, start, job.shape.input_bytes)
            finished = []
            for job, _, _ in launched:
                dev = self.ports[job.port]
                dev.send.wait(self.timeout)
                dev.recv.wait(self.timeout)
                after = self._cycle_counters(dev) if stats else None
                finished.append((dev.recv.transferred, dev.read(self._reg["STATUS"]), after))
        except DmaError as error:
            if stats:
                self.last.device_cpu_s += _cpu() - inside
            self._fail(job.port, error)
        if stats:
            self.last.device_cpu_s += _cpu() - inside
        self.last.register_reads += len(wave)
        wave_cycles = 0
        for index, (job, part, _) in enumerate(launched):
            received, status, after = finished[index]
            self._collect(job, part, received, status, y)
            if before is not None and after is not None:
                wave_cycles = max(wave_cycles, self._count(before[index], after, job.shape))
        self.last.waves += 1
        self.last.wave_cycles += wave_cycles

    def _slot(self, part: WeightPart, shape: packing.JobShape) -> tuple[int, np.ndarray]:
        """Where a job of `shape` starts in the part's buffer and its activation rows there (a view);
        writes the header beat when the row count changed since the last job on this part."""
        slot = part.slots.get(shape.m)
        lanes = self.lanes
        if slot is None:
            start = part.prefix_bytes - shape.prefix_beats * lanes
            region = np.asarray(part.buffer)[start + lanes : part.prefix_bytes]
            slot = part.slots[shape.m] = (start, region.view(np.int8).reshape(shape.m, shape.k_beats * lanes))
        start, rows = slot
        if part.header_m != shape.m:
            part.buffer[start : start + lanes] = self._header(shape)
            rows[:, shape.k :] = 0  # the rows' padding lanes; another m's bytes may lie there
            part.header_m = shape.m
        return slot

    def _collect(
        self, job: TileJob, part: WeightPart, received: int, status: int, y: np.ndarray
    ) -> None:
        """The job's int32 results into y's block (assigned for K part 0, added after), or the tile's
        error named. Results are read in place from the output buffer: no byte copies."""
        shape = job.shape
        lsb, mask = self._error_field
        code = (status >> lsb) & mask
        if code or received != shape.output_bytes:
            self._raise_tile_error(self.ports[job.port], part.output, received, code, status, shape)
        part.output.invalidate()
        results = part.results.get(shape)
        if results is None:
            results = packing.results_view(np.asarray(part.output).view("<i4"), shape)
            # a view (M = 1 always) stays valid for every job; a copy (M > 1) is made again each time
            part.results[shape] = results if np.may_share_memory(results, part.output) else None
        block = y[job.m0 : job.m0 + shape.m, job.n0 : job.n0 + shape.n]
        if job.k0 == 0:
            block[...] = results
        else:  # a later K part: int32 adds wrap, as the tile's adders do
            np.add(block, results, out=block)

    def _header(self, shape: packing.JobShape) -> np.ndarray:
        if shape not in self._headers:
            self._headers[shape] = packing.pack_header(
                self.manifest, shape.m, shape.k, shape.n, weights=shape.weights
            )
        return self._headers[shape]

    # Errors and recovery ------------------------------------------------------------------------
    def _fail(self, port: int, error: DmaError) -> None:
        """A transfer failed or timed out: describe the port's state, recover every port, raise."""
        state = self._describe_state(self.ports[port])
        where = f"weight port {port}: " if len(self.ports) > 1 else ""
        self._recover()
        raise NpuTimeout(f"{where}{error}; {state}") from error

    def _raise_tile_error(
        self, dev: Device, out: Buffer, received: int, code: int, status: int, shape: packing.JobShape
    ) -> None:
        man = self.manifest
        beat = None
        if received >= self.lanes:
            parsed = packing.parse_error_beat(man, np.asarray(out[received - self.lanes : received]))
            if parsed is not None:
                code, beat = parsed
        dev.write(self._reg["CONTROL"], man.bit("CONTROL", "CLEAR_STATUS"))
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
        """After a timeout, on every port: tile to idle first (its unfinished output packet is dropped,
        without TLAST), then both DMA channels (discarding the cut packet), then the tile again (input the
        DMA pushed in between) with its status cleared. docs/tile.md, "Soft reset", says why in this order."""
        man = self.manifest
        for port in self.ports:
            port.write(self._reg["CONTROL"], man.bit("CONTROL", "SOFT_RESET"))
            for channel in (port.send, port.recv):
                channel.reset()
            port.write(
                self._reg["CONTROL"], man.bit("CONTROL", "SOFT_RESET") | man.bit("CONTROL", "CLEAR_STATUS")
            )

    def _describe_state(self, port: Device) -> str:
        status = port.read(self._reg["STATUS"])
        counters = ", ".join(f"{k}={v}" for k, v in self._read_counters(port).items())
        return f"STATUS=0x{status:08X} before recovery; counters {counters}"

    def reset(self) -> None:
        """Soft-reset every tile and clear its status (counters keep counting)."""
        self._recover()

    # Counters -----------------------------------------------------------------------------------
    def _read_counters(self, port: Device) -> dict[str, int]:
        inside = _cpu()
        values = {name: port.read(offset) for name, offset in self._counter_offsets.items()}
        self.last.device_cpu_s += _cpu() - inside
        self.last.register_reads += len(values)
        return values

    def counters(self) -> dict[str, int]:
        """The tiles' performance counters now (32-bit, wrapping), summed over the ports."""
        totals = dict.fromkeys(self._counter_offsets, 0)
        for port in self.ports:
            for name, value in self._read_counters(port).items():
                totals[name] = (totals[name] + value) & MASK32
        return totals

    def _cycle_counters(self, port: Device) -> tuple[int, ...]:
        """The four counters a job's statistics need (CYCLES, ACTIVE, STARVED, STALLED), nothing more:
        on a board every register read is a round trip over AXI-Lite."""
        self.last.register_reads += len(_JOB_COUNTERS)
        return tuple(port.read(self._counter_offsets[name]) for name in _JOB_COUNTERS)

    def _count(self, before: tuple[int, ...], after: tuple[int, ...], shape: packing.JobShape) -> int:
        """Add one job's counter increments to `last`; returns its CYCLES."""
        cycles, active, starved, stalled = ((a - b) & MASK32 for a, b in zip(after, before, strict=True))
        last = self.last
        last.jobs += 1
        last.cycles += cycles
        last.active += active
        last.starved += starved
        last.stalled += stalled
        last.bytes_in += shape.input_bytes
        last.bytes_out += shape.output_bytes
        return cycles


def _accumulate(total: JobStats, step: JobStats) -> None:
    for name in vars(total):
        setattr(total, name, getattr(total, name) + getattr(step, name))


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-D {value.dtype} array of shape {value.shape}"
    return type(value).__name__
