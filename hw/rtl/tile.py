"""The NPU tile: parser, MAC array, result drain, register file and counters, joined.

Streams in and out, a simple register bus (the AXI4-Lite slave in `top` drives it) and an interrupt.
Register offsets and fields come from `regmap`, constants from `spec`; nothing is restated here.
"""

from __future__ import annotations

from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import regmap, spec
from .axis import ErrorCode, axis_signature, register_bus_signature
from .counters import PerfCounters
from .job_parser import JobParser
from .mac_array import MacArray
from .result_drain import ResultDrain
from .weight_unpack import WeightUnpack


class NpuTile(wiring.Component):
    def __init__(self, config: spec.TileConfig, config_hash32: int, *, primitives: bool = False) -> None:
        self.config = config
        self.primitives = primitives  # see `mac_array.MacArray`
        self.config_hash32 = config_hash32
        super().__init__(
            {
                "sink": In(axis_signature(config.lanes)),
                "source": Out(axis_signature(config.lanes)),
                "regs": In(register_bus_signature(spec.AXIL_ADDR_BITS, spec.AXIL_DATA_BITS)),
                "irq": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self.config
        soft_reset = Signal()
        parser = JobParser(cfg)
        unpack = WeightUnpack(cfg)
        array = MacArray(cfg, primitives=self.primitives)
        drain = ResultDrain(cfg)
        counters = PerfCounters(regmap.COUNTERS)
        m.submodules.parser = ResetInserter(soft_reset)(parser)
        m.submodules.unpack = ResetInserter(soft_reset)(unpack)
        m.submodules.array = ResetInserter(soft_reset)(array)
        m.submodules.drain = ResetInserter(soft_reset)(drain)
        m.submodules.counters = counters

        wiring.connect(m, wiring.flipped(self.sink), parser.sink)
        wiring.connect(m, drain.source, wiring.flipped(self.source))
        # The feed fans out to the unpacker (weight and scale beats) and the array (activation writes).
        wiring.connect(m, parser.feed, unpack.feed, array.feed)
        wiring.connect(m, unpack.beat, array.beat)
        wiring.connect(m, parser.error, drain.error)
        wiring.connect(m, drain.drained, parser.drained)
        m.d.comb += [
            parser.array_idle.eq(array.idle & ~unpack.busy),
            drain.block_ready.eq(array.commit.bit_select(parser.feed.last_row, 1)),
            drain.last_row.eq(parser.feed.last_row),
            drain.final_block.eq(parser.final_block),
            array.sel_beat.eq(drain.sel_beat),
            array.shift_rows.eq(drain.shift_rows),
            drain.result_beat.eq(array.result_beat),
        ]
        output_done = drain.drained.valid & drain.drained.payload.final
        error_sent = parser.error.valid & parser.error.ready

        # Status.
        done = Signal()
        error = Signal(ErrorCode)
        irq_enable = Signal()
        # The parser latches the code in the cycle it detects the error; STATUS follows a cycle later.
        err_detected = Signal()
        m.d.sync += err_detected.eq(parser.err_detect)
        with m.If(err_detected):
            m.d.sync += error.eq(parser.error.payload.code)
        with m.If(output_done | error_sent):
            m.d.sync += done.eq(1)

        # Counters: see the register map for what each one counts.
        sink_fire = self.sink.valid & self.sink.ready
        src = self.source
        m.d.comb += [
            counters.inc_cycles.eq(parser.busy | sink_fire),
            counters.inc_active.eq(parser.feed.push_valid),
            counters.inc_starved.eq(parser.input_phase & self.sink.ready & ~self.sink.valid),
            counters.inc_stalled.eq(src.valid & ~src.ready),
            counters.inc_jobs.eq(output_done),
            counters.inc_errors.eq(error_sent),
            self.irq.eq(irq_enable & done),
        ]

        # Register writes.
        def offset(name: str) -> int:
            return regmap.register(name).offset

        control = regmap.register("CONTROL")
        bits = {f.name: f.lsb for f in control.fields}
        regs = self.regs
        waddr = regs.wr_addr & ~0b11
        scratch = Signal(32)
        m.d.sync += [soft_reset.eq(0), counters.clear.eq(0)]
        with m.Switch(waddr):
            with m.Case(offset("CONTROL")):
                m.d.comb += regs.wr_ok.eq(1)
                with m.If(regs.wr_en & regs.wr_strb[0]):
                    m.d.sync += [
                        soft_reset.eq(regs.wr_data[bits["SOFT_RESET"]]),
                        counters.clear.eq(regs.wr_data[bits["CLEAR_COUNTERS"]]),
                        irq_enable.eq(regs.wr_data[bits["IRQ_ENABLE"]]),
                    ]
                    with m.If(regs.wr_data[bits["CLEAR_STATUS"]]):
                        m.d.sync += [done.eq(0), error.eq(0)]
            with m.Case(offset("SCRATCH")):
                m.d.comb += regs.wr_ok.eq(1)
                with m.If(regs.wr_en):
                    for byte in range(4):
                        with m.If(regs.wr_strb[byte]):
                            m.d.sync += scratch.word_select(byte, 8).eq(regs.wr_data.word_select(byte, 8))

        # Register reads.
        major, minor, patch = spec.RTL_VERSION
        status = regmap.register("STATUS")
        sbits = {f.name: f.lsb for f in status.fields}
        status_word = Signal(32)
        m.d.comb += [
            status_word[sbits["BUSY"]].eq(parser.busy),
            status_word[sbits["DONE"]].eq(done),
            status_word[sbits["ERROR"] : sbits["ERROR"] + regmap.field("STATUS", "ERROR").width].eq(error),
        ]
        values = {
            "ID": spec.ID_MAGIC,
            "VERSION": major << 16 | minor << 8 | patch,
            "CONFIG": cfg.rows | cfg.lanes << 8 | cfg.stream_bytes << 16 | int(spec.FEATURES) << 24,
            "MAX_K": cfg.max_k,
            "CONFIG_HASH": self.config_hash32,
            "CONTROL": irq_enable << bits["IRQ_ENABLE"],
            "STATUS": status_word,
            "SCRATCH": scratch,
        }
        for name in regmap.COUNTERS:
            values[name] = getattr(counters, f"count_{name.lower()}")
        raddr = regs.rd_addr & ~0b11
        with m.Switch(raddr):
            for reg in regmap.REGISTERS:
                with m.Case(reg.offset):
                    m.d.comb += [regs.rd_ok.eq(1), regs.rd_data.eq(values[reg.name])]
        return m
