"""The NPU tile: parser, MAC array, result drain, register file and counters, joined.

Streams in and out, a simple register bus (the AXI4-Lite slave in `top` drives it) and an interrupt.
Register offsets and fields come from `regmap`, constants from `spec`; nothing is restated here.
"""

from __future__ import annotations

from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import regmap, spec
from .axis import axis_signature
from .counters import PerfCounters
from .job_parser import JobParser
from .mac_array import MacArray
from .result_drain import ResultDrain


class NpuTile(wiring.Component):
    def __init__(self, config: spec.TileConfig, config_hash32: int) -> None:
        self.config = config
        self.config_hash32 = config_hash32
        super().__init__(
            {
                "sink": In(axis_signature(config.lanes)),
                "source": Out(axis_signature(config.lanes)),
                "wr_en": In(1),
                "wr_addr": In(spec.AXIL_ADDR_BITS),
                "wr_data": In(32),
                "wr_strb": In(4),
                "wr_ok": Out(1),
                "rd_addr": In(spec.AXIL_ADDR_BITS),
                "rd_data": Out(32),
                "rd_ok": Out(1),
                "irq": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self.config
        soft_reset = Signal()
        parser = JobParser(cfg)
        array = MacArray(cfg)
        drain = ResultDrain(cfg)
        counters = PerfCounters(regmap.COUNTERS)
        m.submodules.parser = ResetInserter(soft_reset)(parser)
        m.submodules.array = ResetInserter(soft_reset)(array)
        m.submodules.drain = ResetInserter(soft_reset)(drain)
        m.submodules.counters = counters

        wiring.connect(m, wiring.flipped(self.sink), parser.sink)
        wiring.connect(m, drain.source, wiring.flipped(self.source))
        wiring.connect(m, parser.feed, array.feed)
        m.d.comb += [
            parser.array_idle.eq(array.idle),
            drain.block_ready.eq(array.commit.bit_select((parser.feed.job_rows - 1).as_unsigned(), 1)),
            drain.job_rows.eq(parser.feed.job_rows),
            drain.final_block.eq(parser.final_block),
            array.sel_beat.eq(drain.sel_beat),
            array.shift_rows.eq(drain.shift_rows),
            drain.result_beat.eq(array.result_beat),
            parser.block_drained.eq(drain.block_drained),
            parser.output_done.eq(drain.output_done),
            drain.err_req.eq(parser.err_req),
            drain.err_code.eq(parser.err_code),
            drain.err_index.eq(parser.err_index),
            parser.err_ack.eq(drain.err_ack),
        ]

        # Status.
        done = Signal()
        error = Signal(8)
        irq_enable = Signal()
        # The parser latches the code in the cycle it detects the error; STATUS follows a cycle later.
        err_detected = Signal()
        m.d.sync += err_detected.eq(parser.err_detect)
        with m.If(err_detected):
            m.d.sync += error.eq(parser.err_code)
        with m.If(drain.output_done | drain.err_ack):
            m.d.sync += done.eq(1)

        # Counters: see the register map for what each one counts.
        sink_fire = self.sink.valid & self.sink.ready
        src = self.source
        m.d.comb += [
            counters.inc_cycles.eq(parser.busy | sink_fire),
            counters.inc_active.eq(parser.feed.push_valid),
            counters.inc_starved.eq(parser.input_phase & self.sink.ready & ~self.sink.valid),
            counters.inc_stalled.eq(src.valid & ~src.ready),
            counters.inc_jobs.eq(drain.output_done),
            counters.inc_errors.eq(drain.err_ack),
            self.irq.eq(irq_enable & done),
        ]

        # Register writes.
        def offset(name: str) -> int:
            return regmap.register(name).offset

        control = regmap.register("CONTROL")
        bits = {f.name: f.lsb for f in control.fields}
        waddr = self.wr_addr & ~0b11
        scratch = Signal(32)
        m.d.sync += [soft_reset.eq(0), counters.clear.eq(0)]
        with m.Switch(waddr):
            with m.Case(offset("CONTROL")):
                m.d.comb += self.wr_ok.eq(1)
                with m.If(self.wr_en & self.wr_strb[0]):
                    m.d.sync += [
                        soft_reset.eq(self.wr_data[bits["SOFT_RESET"]]),
                        counters.clear.eq(self.wr_data[bits["CLEAR_COUNTERS"]]),
                        irq_enable.eq(self.wr_data[bits["IRQ_ENABLE"]]),
                    ]
                    with m.If(self.wr_data[bits["CLEAR_STATUS"]]):
                        m.d.sync += [done.eq(0), error.eq(0)]
            with m.Case(offset("SCRATCH")):
                m.d.comb += self.wr_ok.eq(1)
                with m.If(self.wr_en):
                    for byte in range(4):
                        with m.If(self.wr_strb[byte]):
                            m.d.sync += scratch.word_select(byte, 8).eq(self.wr_data.word_select(byte, 8))

        # Register reads.
        major, minor, patch = spec.RTL_VERSION
        status = regmap.register("STATUS")
        sbits = {f.name: f.lsb for f in status.fields}
        status_word = Signal(32)
        m.d.comb += [
            status_word[sbits["BUSY"]].eq(parser.busy),
            status_word[sbits["DONE"]].eq(done),
            status_word[sbits["ERROR"] : sbits["ERROR"] + 8].eq(error),
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
        raddr = self.rd_addr & ~0b11
        with m.Switch(raddr):
            for reg in regmap.REGISTERS:
                with m.Case(reg.offset):
                    m.d.comb += [self.rd_ok.eq(1), self.rd_data.eq(values[reg.name])]
        return m
