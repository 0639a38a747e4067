"""Sends results out: `beats_per_row * M` beats per weight block, then TLAST on the job's last; or one
error beat.

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
from .axis import axis_signature, block_signature, error_signature


class ResultDrain(wiring.Component):
    def __init__(self, config: spec.TileConfig) -> None:
        self.config = config
        lanes = config.lanes
        self.row_bits = config.row_bits
        super().__init__(
            {
                "source": Out(axis_signature(lanes)),
                "block_ready": In(1),  # pulse: the job's last row committed a block
                "last_row": In(self.row_bits),
                "final_block": In(1),
                "drained": Out(block_signature()),  # pulse: the block's results have all been sent
                "sel_beat": Out(range(config.beats_per_row)),
                "shift_rows": Out(1),
                "result_beat": In(8 * lanes),
                "error": In(error_signature()),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes = self.config.lanes
        beats = self.config.beats_per_row
        src = self.source
        full = Signal()
        row = Signal(self.row_bits)
        beat = Signal(range(beats))
        fire = src.valid & src.ready
        block_end = (beat == beats - 1) & (row == self.last_row)

        code = Signal(32)
        m.d.comb += code.eq(self.error.payload.code.as_value())  # the error beat carries it as 32 bits
        error_data = Cat(
            Const(spec.ERROR_MAGIC, 32), code, self.error.payload.index, Const(0, 8 * lanes - 96)
        )
        m.d.comb += [
            self.sel_beat.eq(beat),
            src.valid.eq(full | self.error.valid),
            src.payload.data.eq(Mux(full, self.result_beat, error_data)),
            src.payload.keep.eq(~0),
            src.payload.last.eq(Mux(full, block_end & self.final_block, 1)),
            self.error.ready.eq(~full & src.ready),
            self.drained.payload.final.eq(self.final_block),
        ]
        with m.If(self.block_ready):
            m.d.sync += [full.eq(1), row.eq(0), beat.eq(0)]
        with m.If(fire & full):
            m.d.sync += beat.eq(beat + 1)
            with m.If(beat == beats - 1):
                m.d.sync += [row.eq(row + 1), beat.eq(0)]
                m.d.comb += self.shift_rows.eq(1)
            with m.If(block_end):
                m.d.sync += full.eq(0)
                m.d.comb += self.drained.valid.eq(1)
        return m
