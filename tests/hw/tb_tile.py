"""cocotb testbench of `zynpu_tile`: jobs, error paths, resets, registers and counters vs the reference.

Run through `test_tile_cocotb.py` (cocotb runner). Environment: ZYNPU_MANIFEST (manifest JSON of the
build under test), ZYNPU_SEED, ZYNPU_JOBS (random jobs), ZYNPU_PAUSE (max pause probability).

Every output packet is compared byte for byte with `reference.run_packet`. A monitor samples both
streams every clock and counts the events the performance counters define (regmap docs), so the
counters are checked exactly even with random source gaps and sink backpressure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiResp,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from zynpu.tile import reference
from zynpu.tile.manifest import TileManifest, load_manifest
from zynpu.tile.packing import WEIGHT_FORMATS, check_shape

from .tile_stimulus import ERROR_KINDS, Packet, error_packet, job_packet, random_shape

CLOCK_NS = 10


def _manifest() -> TileManifest:
    return load_manifest(os.environ["ZYNPU_MANIFEST"])


def _seed() -> int:
    return int(os.environ.get("ZYNPU_SEED", "1"))


def pause_pattern(rng: np.random.Generator, probability: float) -> Iterator[bool]:
    """Random pauses in bursts: a source gap / sink backpressure pattern for cocotbext-axi."""
    while True:
        if rng.random() < probability:
            for _ in range(int(rng.integers(1, 6))):
                yield True
        yield False


class Monitor:
    """Counts, every clock, what the performance counters count, and checks the output's AXIS rules."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.clear()
        self.in_job = False
        self.violations: list[str] = []

    def clear(self) -> None:
        self.cycles = self.starved = self.stalled = 0
        self.header_beats = 0

    async def run(self) -> None:
        dut = self.dut
        held: tuple[int, int, int] | None = None
        while True:
            await RisingEdge(dut.aclk)
            if not int(dut.aresetn.value):
                self.in_job = False
                held = None
                continue
            s_valid, s_ready = int(dut.s_axis_tvalid.value), int(dut.s_axis_tready.value)
            m_valid, m_ready = int(dut.m_axis_tvalid.value), int(dut.m_axis_tready.value)
            if self.in_job:
                self.cycles += 1
                if s_ready and not s_valid:
                    self.starved += 1
            elif s_valid and s_ready:
                self.cycles += 1  # header acceptance
                self.header_beats += 1
                self.in_job = True
            if m_valid:
                beat = (
                    int(dut.m_axis_tdata.value),
                    int(dut.m_axis_tlast.value),
                    int(dut.m_axis_tkeep.value),
                )
                if beat[2] != (1 << len(dut.m_axis_tkeep)) - 1:
                    self.violations.append(f"m_axis TKEEP {beat[2]:#x} is not all ones")
                if held is not None and beat != held:
                    self.violations.append("m_axis TDATA/TLAST/TKEEP changed while stalled")
                if not m_ready:
                    self.stalled += 1
                    held = beat
                else:
                    held = None
                    if beat[1] and self.in_job:
                        self.in_job = False
            elif held is not None:
                self.violations.append("m_axis TVALID dropped before TREADY")
                held = None


class TileTB:
    def __init__(self, dut, manifest: TileManifest | None = None) -> None:
        self.dut = dut
        self.manifest = manifest or _manifest()
        self.lanes = self.manifest.lanes
        dut.aresetn.value = 0
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        Clock(dut.aclk, CLOCK_NS, unit="ns").start()
        self.source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn, reset_active_level=False
        )
        self.sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn, reset_active_level=False
        )
        self.axil = AxiLiteMaster(
            AxiLiteBus.from_prefix(dut, "s_axi"), dut.aclk, dut.aresetn, reset_active_level=False
        )
        for logger in (self.source.log, self.sink.log, self.axil.write_if.log, self.axil.read_if.log):
            logger.setLevel("WARNING")
        self.monitor = Monitor(dut)
        cocotb.start_soon(self.monitor.run())
        self.irq_enable = False

    async def reset(self) -> None:
        self.dut.aresetn.value = 0
        await ClockCycles(self.dut.aclk, 4)
        self.dut.aresetn.value = 1
        await ClockCycles(self.dut.aclk, 2)

    def set_pauses(self, rng: np.random.Generator, source_p: float, sink_p: float) -> None:
        self.no_pauses()
        if source_p > 0:
            self.source.set_pause_generator(pause_pattern(rng, source_p))
        if sink_p > 0:
            self.sink.set_pause_generator(pause_pattern(rng, sink_p))

    def no_pauses(self) -> None:
        """Stop pausing (clearing a generator leaves its last value in force)."""
        for stream in (self.source, self.sink):
            stream.clear_pause_generator()
            stream.pause = False

    # Registers.
    async def read(self, name: str) -> int:
        resp = await self.axil.read(self.manifest.offset(name), 4)
        assert resp.resp == AxiResp.OKAY, f"read {name}: {resp.resp!r}"
        return int.from_bytes(resp.data, "little")

    async def write(self, name: str, value: int) -> None:
        resp = await self.axil.write(self.manifest.offset(name), value.to_bytes(4, "little"))
        assert resp.resp == AxiResp.OKAY, f"write {name}: {resp.resp!r}"

    async def control(self, *pulses: str) -> None:
        value = self.manifest.bit("CONTROL", "IRQ_ENABLE") if self.irq_enable else 0
        for p in pulses:
            value |= self.manifest.bit("CONTROL", p)
        await self.write("CONTROL", value)

    async def counters(self) -> dict[str, int]:
        return {name: await self.read(name) for name in self.manifest.counters}

    # Streams.
    def send(self, packet: Packet) -> None:
        """Queue a packet: one cocotbext frame per TLAST, TKEEP cleared on one byte of each bad beat."""
        lanes = self.lanes
        start = 0
        ends = [int(i) for i in np.flatnonzero(packet.last)]
        assert ends and ends[-1] == packet.beats - 1, "a packet must end with TLAST"
        for end in ends:
            beats = range(start, end + 1)
            keep = []
            for b in beats:
                lane_keep = [1] * lanes
                if not packet.keep_ok[b]:
                    lane_keep[b % lanes] = 0
                keep += lane_keep
            data = packet.data[start * lanes : (end + 1) * lanes].tobytes()
            self.source.send_nowait(AxiStreamFrame(data, tkeep=keep))
            start = end + 1

    async def wait_idle(self, timeout_cycles: int = 10_000) -> None:
        for _ in range(timeout_cycles):
            if not self.monitor.in_job:
                await ClockCycles(self.dut.aclk, 2)
                return
            await RisingEdge(self.dut.aclk)
        raise AssertionError("tile still busy")

    async def run_batch(self, packets: list[Packet], *, clean: bool = False) -> list[reference.PacketResult]:
        """Send packets back to back; check every output packet, STATUS and every counter exactly."""
        man = self.manifest
        await self.wait_idle()
        await self.control("CLEAR_COUNTERS", "CLEAR_STATUS")
        self.monitor.clear()
        expected = [reference.run_packet(man, p.data, last=p.last, keep_ok=p.keep_ok) for p in packets]
        budget = 0
        for p, exp in zip(packets, expected, strict=True):
            self.send(p)
            budget += 40 * (p.beats + exp.output.size // self.lanes) + 5000
        for p, exp in zip(packets, expected, strict=True):
            frame = await with_timeout(self.sink.recv(), budget * CLOCK_NS, "ns")
            got = np.frombuffer(bytes(frame.tdata), dtype=np.uint8)
            if got.size != exp.output.size or not np.array_equal(got, exp.output):
                raise AssertionError(
                    f"{p.label}: output differs from the reference (batch: {[q.label for q in packets]})\n"
                    f"{_diff(got, exp.output)}"
                )
        await self.wait_idle()
        assert self.sink.empty(), "extra output packets"
        assert not self.monitor.violations, self.monitor.violations[:5]
        counts = await self.counters()
        want = {
            "CYCLES": self.monitor.cycles,
            "ACTIVE": sum(e.weight_beats for e in expected),
            "STARVED": self.monitor.starved,
            "STALLED": self.monitor.stalled,
            "JOBS": sum(e.error == 0 for e in expected),
            "ERRORS": sum(e.error != 0 for e in expected),
        }
        assert self.monitor.header_beats == len(packets), "the monitor saw a different number of jobs"
        if clean:
            assert all(e.error == 0 for e in expected)
            want["STARVED"] = want["STALLED"] = 0
            model = sum(e.cycles for e in expected)
            assert counts["CYCLES"] == model, (
                f"CYCLES {counts['CYCLES']} != cycle model {model} for " + ", ".join(p.label for p in packets)
            )
        self.dut._log.info("batch %s: counters %s", [p.label for p in packets], counts)
        assert counts == want, f"counters {counts} != expected {want}"
        status = await self.read("STATUS")
        errors = [e.error for e in expected if e.error]
        assert man.extract("STATUS", "BUSY", status) == 0
        assert man.extract("STATUS", "DONE", status) == 1
        assert man.extract("STATUS", "ERROR", status) == (errors[-1] if errors else 0), f"STATUS {status:#x}"
        return expected


def _diff(got: np.ndarray, want: np.ndarray) -> str:
    lines = [f"got {got.size} bytes, want {want.size}"]
    beats = max(got.size, want.size) // 16 + 1
    shown = 0
    for b in range(beats):
        g, w = got[b * 16 : b * 16 + 16], want[b * 16 : b * 16 + 16]
        if not np.array_equal(g, w):
            lines.append(f"beat {b}: got {g.tobytes().hex()} want {w.tobytes().hex()}")
            shown += 1
            if shown == 8:
                break
    return "\n".join(lines)


async def _start(dut) -> TileTB:
    tb = TileTB(dut)
    await tb.reset()
    return tb


@cocotb.test()
async def test_smoke(dut) -> None:
    """Three clean back-to-back jobs (M, K, N off the L and R multiples): bit-exact, CYCLES exact."""
    tb = await _start(dut)
    man, lanes, rows = tb.manifest, tb.lanes, tb.manifest.rows
    rng = np.random.default_rng(_seed())
    shapes = [(rows, 2 * lanes + 3, lanes + 5), (1, 1, 1), (min(3, rows), lanes, 2 * lanes)]
    packets = [job_packet(man, rng, *s, weights=f) for f in WEIGHT_FORMATS for s in shapes]
    await tb.run_batch(packets, clean=True)


@cocotb.test()
async def test_cycle_model(dut) -> None:
    """Single clean jobs across the drain-bound and K-bound regimes: CYCLES equals job_cycles exactly.

    int4 blocks are ceil(K/group) + ceil(K/2) beats, so int4 K from 2 * gap - 4 to 2 * gap puts blocks
    of gap - 1 .. gap + 2 beats (one or two scale beats) on both sides of the regime boundary.
    """
    tb = await _start(dut)
    man, lanes, rows = tb.manifest, tb.lanes, tb.manifest.rows
    rng = np.random.default_rng(_seed() + 1)
    model = man.cycle_model
    gap = model["drain_gap_per_row"] * rows + model["drain_gap_const"]  # block beats where the regimes meet
    shapes = [
        (1, 1, 1, "int8"),
        (1, 1, 3 * lanes, "int8"),
        (rows, 1, 2 * lanes + 1, "int8"),
        (rows, gap - 1, 3 * lanes, "int8"),
        (rows, gap, 3 * lanes, "int8"),
        (rows, gap + 1, 3 * lanes, "int8"),
        (max(1, rows // 2), 3 * lanes + 7, 2 * lanes, "int8"),
        (rows, 2, lanes, "int8"),
        (1, 1, 3 * lanes, "int4"),
        (rows, 2 * gap - 4, 3 * lanes, "int4"),
        (rows, 2 * gap - 2, 3 * lanes, "int4"),
        (rows, 2 * gap, 3 * lanes, "int4"),
        (max(1, rows // 2), 2 * man.int4_group + 3, 2 * lanes, "int4"),
    ]
    for m, k, n, weights in shapes:
        k = min(k, man.max_k)
        shape = check_shape(man, m, k, n, weights)
        await tb.run_batch([job_packet(man, rng, m, k, n, weights)], clean=True)
        cycles = await tb.read("CYCLES")
        dut._log.info("cycle model: %s M=%d K=%d N=%d -> CYCLES=%d", weights, m, k, n, cycles)
        assert cycles == reference.job_cycles(man, shape)
        assert await tb.read("ACTIVE") == shape.active_beats


@cocotb.test()
async def test_random_traffic(dut) -> None:
    """Random shapes in back-to-back batches with random source gaps and sink backpressure."""
    tb = await _start(dut)
    man = tb.manifest
    rng = np.random.default_rng(_seed() + 2)
    jobs = int(os.environ.get("ZYNPU_JOBS", "12"))
    max_pause = float(os.environ.get("ZYNPU_PAUSE", "0.5"))
    k_cap = int(os.environ.get("ZYNPU_K_CAP", "0"))
    done = 0
    while done < jobs:
        batch = min(jobs - done, int(rng.integers(1, 5)))
        tb.set_pauses(rng, float(rng.uniform(0, max_pause)), float(rng.uniform(0, max_pause)))
        packets = [
            job_packet(man, rng, *random_shape(man, rng, k_cap), weights=str(rng.choice(WEIGHT_FORMATS)))
            for _ in range(batch)
        ]
        await tb.run_batch(packets)
        done += batch


@cocotb.test()
async def test_error_paths(dut) -> None:
    """Every malformed-packet kind, each followed by a good job that must work; with random pauses."""
    tb = await _start(dut)
    man = tb.manifest
    rng = np.random.default_rng(_seed() + 3)
    max_pause = float(os.environ.get("ZYNPU_PAUSE", "0.3"))
    seen: set[int] = set()
    for kind in ERROR_KINDS:
        bad = error_packet(man, rng, kind)
        good = job_packet(man, rng, *random_shape(man, rng))
        tb.set_pauses(rng, float(rng.uniform(0, max_pause)), float(rng.uniform(0, max_pause)))
        results = await tb.run_batch([bad, good])
        assert results[0].error != 0, f"{kind}: the reference says this packet is fine"
        assert results[1].error == 0
        seen.add(results[0].error)
    missing = {int(c) for c in man.errors.values() if c} - seen
    assert not missing, f"error codes never exercised: {missing}"


async def _partial_job(tb: TileTB, rng: np.random.Generator, phase: str) -> None:
    """Start a long job and stop feeding it in `phase` (activations, weights or output)."""
    man, lanes = tb.manifest, tb.lanes
    m, k, n = man.rows, min(man.max_k, 4 * lanes + 3), 3 * lanes
    p = job_packet(man, rng, m, k, n)
    shape = check_shape(man, m, k, n)
    stop_after = {
        "activations": max(2, shape.prefix_beats // 2),
        "weights": shape.prefix_beats + k + 3,
        "output": shape.input_beats,  # everything sent; the sink refuses the results
    }[phase]
    if phase == "output":
        tb.sink.set_pause_generator(iter(lambda: True, False))
    tb.send(p)
    sent = 0
    while sent < stop_after:
        await RisingEdge(tb.dut.aclk)
        if int(tb.dut.s_axis_tvalid.value) and int(tb.dut.s_axis_tready.value):
            sent += 1
        if phase == "output" and int(tb.dut.m_axis_tvalid.value):
            break
    # Stop the source mid-packet: drop the rest of the frame, TVALID low.
    tb.source.clear()
    tb.source.assert_reset()
    busy = await tb.read("STATUS")
    assert tb.manifest.extract("STATUS", "BUSY", busy) == 1, f"{phase}: the job should still be in flight"


@cocotb.test()
async def test_soft_reset(dut) -> None:
    """CONTROL.SOFT_RESET mid-activations, mid-weights and mid-output returns the tile to idle."""
    tb = await _start(dut)
    man = tb.manifest
    rng = np.random.default_rng(_seed() + 4)
    for phase in ("activations", "weights", "output"):
        await _partial_job(tb, rng, phase)
        await tb.control("SOFT_RESET")
        await ClockCycles(dut.aclk, 2)
        status = await tb.read("STATUS")
        assert man.extract("STATUS", "BUSY", status) == 0, f"{phase}: still busy after SOFT_RESET"
        assert int(dut.m_axis_tvalid.value) == 0, f"{phase}: output still valid after SOFT_RESET"
        tb.no_pauses()
        tb.sink.assert_reset()
        tb.sink.clear()
        tb.monitor.in_job = False
        tb.monitor.violations.clear()  # a reset may drop TVALID
        await tb.run_batch([job_packet(man, rng, *random_shape(man, rng))])


@cocotb.test()
async def test_aresetn(dut) -> None:
    """aresetn low mid-job returns the tile to idle with SCRATCH and counters at their reset values."""
    tb = await _start(dut)
    man = tb.manifest
    rng = np.random.default_rng(_seed() + 5)
    for phase in ("activations", "weights", "output"):
        await tb.write("SCRATCH", 0xA5A5_0000 + len(phase))
        await _partial_job(tb, rng, phase)
        tb.source.assert_reset(False)
        await tb.reset()
        tb.no_pauses()
        tb.sink.clear()
        status = await tb.read("STATUS")
        assert status == 0, f"{phase}: STATUS {status:#x} after aresetn"
        assert await tb.read("SCRATCH") == 0
        assert all(v == 0 for v in (await tb.counters()).values())
        tb.monitor.violations.clear()
        await tb.run_batch([job_packet(man, rng, *random_shape(man, rng))])


@cocotb.test()
async def test_registers(dut) -> None:
    """ID/VERSION/CONFIG/MAX_K/CONFIG_HASH, SCRATCH strobes, SLVERR, CONTROL pulses, STATUS and IRQ."""
    tb = await _start(dut)
    man = tb.manifest
    rng = np.random.default_rng(_seed() + 6)
    assert await tb.read("ID") == man.id_magic
    assert await tb.read("VERSION") == man.version_word
    assert await tb.read("CONFIG") == man.config_word
    assert await tb.read("MAX_K") == man.max_k
    assert await tb.read("CONFIG_HASH") == man.config_hash32
    assert await tb.read("STATUS") == 0
    assert int(dut.irq.value) == 0

    # SCRATCH: full words, then single bytes and halves through the strobes.
    scratch = man.offset("SCRATCH")
    await tb.write("SCRATCH", 0x1234_5678)
    assert await tb.read("SCRATCH") == 0x1234_5678
    resp = await tb.axil.write(scratch + 2, b"\xab")
    assert resp.resp == AxiResp.OKAY
    assert await tb.read("SCRATCH") == 0x12AB_5678
    resp = await tb.axil.write(scratch, b"\xcd\xef")
    assert resp.resp == AxiResp.OKAY
    assert await tb.read("SCRATCH") == 0x12AB_EFCD
    resp = await tb.axil.write(scratch + 3, b"\x00")
    assert await tb.read("SCRATCH") == 0x00AB_EFCD

    # Unmapped addresses answer SLVERR (reads return 0) and change nothing.
    mapped = {r["offset"] for r in man.raw["registers"]}
    for addr in (max(mapped) + 4, 0x100, 0xFFC):
        assert addr not in mapped
        r = await tb.axil.read(addr, 4)
        assert r.resp == AxiResp.SLVERR and r.data == bytes(4), f"read {addr:#x}: {r}"
        w = await tb.axil.write(addr, b"\xff\xff\xff\xff")
        assert w.resp == AxiResp.SLVERR, f"write {addr:#x}: {w}"
    assert await tb.read("SCRATCH") == 0x00AB_EFCD
    # Read-only registers ignore writes.
    await tb.axil.write(man.offset("ID"), b"\x00\x00\x00\x00")
    assert await tb.read("ID") == man.id_magic

    # CONTROL: pulses read as 0, IRQ_ENABLE is kept.
    await tb.write("CONTROL", 0b0111)
    assert await tb.read("CONTROL") == 0
    tb.irq_enable = True
    await tb.control()
    assert await tb.read("CONTROL") == man.bit("CONTROL", "IRQ_ENABLE")
    assert int(dut.irq.value) == 0, "IRQ without DONE"

    # STATUS.BUSY during a job, DONE and IRQ after it.
    long_k = min(man.max_k, 8 * tb.lanes)
    p = job_packet(man, rng, man.rows, long_k, 2 * tb.lanes)
    tb.send(p)
    saw_busy = False
    for _ in range(200):
        status = await tb.read("STATUS")
        if man.extract("STATUS", "BUSY", status):
            saw_busy = True
            assert man.extract("STATUS", "DONE", status) == 0
            assert int(dut.irq.value) == 0
            break
    assert saw_busy, "STATUS.BUSY never seen during a job"
    frame = await with_timeout(tb.sink.recv(), 200_000, "ns")
    exp = reference.run_packet(man, p.data)
    assert np.array_equal(np.frombuffer(bytes(frame.tdata), dtype=np.uint8), exp.output)
    await tb.wait_idle()
    status = await tb.read("STATUS")
    assert man.extract("STATUS", "DONE", status) == 1 and man.extract("STATUS", "BUSY", status) == 0
    assert int(dut.irq.value) == 1, "IRQ_ENABLE & DONE must raise irq"
    counts = await tb.counters()
    assert counts["JOBS"] == 1 and counts["ACTIVE"] == exp.weight_beats
    assert counts["CYCLES"] == reference.job_cycles(man, check_shape(man, man.rows, long_k, 2 * tb.lanes))

    # IRQ follows IRQ_ENABLE & DONE.
    tb.irq_enable = False
    await tb.control()
    await ClockCycles(dut.aclk, 1)
    assert int(dut.irq.value) == 0
    tb.irq_enable = True
    await tb.control()
    await ClockCycles(dut.aclk, 1)
    assert int(dut.irq.value) == 1
    await tb.control("CLEAR_STATUS")
    await ClockCycles(dut.aclk, 1)
    assert int(dut.irq.value) == 0
    assert await tb.read("STATUS") == 0

    # An error sets DONE and ERROR; CLEAR_STATUS clears both; CLEAR_COUNTERS zeroes every counter.
    bad = error_packet(man, rng, "bad_magic")
    tb.send(bad)
    frame = await with_timeout(tb.sink.recv(), 200_000, "ns")
    exp = reference.run_packet(man, bad.data, last=bad.last, keep_ok=bad.keep_ok)
    assert np.array_equal(np.frombuffer(bytes(frame.tdata), dtype=np.uint8), exp.output)
    await tb.wait_idle()
    status = await tb.read("STATUS")
    assert man.extract("STATUS", "ERROR", status) == man.errors["BAD_HEADER"]
    assert man.extract("STATUS", "DONE", status) == 1
    assert int(dut.irq.value) == 1
    assert (await tb.counters())["ERRORS"] == 1
    await tb.control("CLEAR_STATUS", "CLEAR_COUNTERS")
    assert await tb.read("STATUS") == 0
    assert all(v == 0 for v in (await tb.counters()).values())
