"""Sends results out: `4 * M` beats per weight block, then TLAST on the job's last; or one error beat.

The drain owns the output stream. It waits until the job's last token row has committed a block, then
sends row 0's beats and has the array shift the next row up. TVALID, once raised, stays up with stable
data until accepted (the result registers cannot change meanwhile: the parser holds the next block's
last beat back).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from .axis import axis_signature


class ResultDrain(wiring.Component):
    def __init__(self, config: spec.TileConfig) -> None:
        self.config = config
        lanes = config.lanes
        self.row_bits = config.row_bits
        super().__init__(
            {
                "source": Out(axis_signature(lanes)),
                "block_ready": In(1),  # pulse: the job's last row committed a block
                "job_rows": In(self.row_bits + 1),
                "final_block": In(1),
                "block_drained": Out(1),
                "output_done": Out(1),
                "sel_beat": Out(2),
                "shift_rows": Out(1),
                "result_beat": In(8 * lanes),
                "err_req": In(1),
                "err_code": In(8),
                "err_index": In(32),
                "err_ack": Out(1),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = self.config.lanes
        src = self.source
        full = Signal()
        row = Signal(self.row_bits + 1)
        beat = Signal(range(spec.OUTPUT_BEATS_PER_ROW))  # result beat within a token row
        fire = src.valid & src.ready
        block_end = (beat == spec.OUTPUT_BEATS_PER_ROW - 1) & (row == self.job_rows - 1)

        error_data = Cat(
            Const(spec.ERROR_MAGIC, 32), self.err_code, Const(0, 24), self.err_index, Const(0, 8 * lanes - 96)
        )
        m.d.comb += [
            self.sel_beat.eq(beat),
            src.valid.eq(full | self.err_req),
            src.payload.data.eq(Mux(full, self.result_beat, error_data)),
            src.payload.keep.eq(~0),
            src.payload.last.eq(Mux(full, block_end & self.final_block, 1)),
        ]
        with m.If(self.block_ready):
            m.d.sync += [full.eq(1), row.eq(0), beat.eq(0)]
        with m.If(fire):
            with m.If(full):
                m.d.sync += beat.eq(beat + 1)
                with m.If(beat == spec.OUTPUT_BEATS_PER_ROW - 1):
                    m.d.sync += row.eq(row + 1)
                    m.d.comb += self.shift_rows.eq(1)
                with m.If(block_end):
                    m.d.sync += full.eq(0)
                    m.d.comb += [self.block_drained.eq(1), self.output_done.eq(self.final_block)]
            with m.Else():
                m.d.comb += self.err_ack.eq(1)
        return m
