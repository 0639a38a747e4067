"""Parses the input packet of a job: header, activations, weights; polices its framing.

It writes activations into the array's row memories, pushes weight beats into the array (one per cycle
at full rate), and holds a block's last beat back while the previous block's results are still
draining (at most one block's results are ever pending). Every framing error is caught at the beat
that causes it; that beat is dropped, the rest of the packet drained, and an error beat requested.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from .axis import array_feed_signature, axis_signature


def _header_value(data: Signal, name: str):
    for f in spec.HEADER_FIELDS:
        if f.name == name:
            return data[8 * f.offset : 8 * (f.offset + f.size)]
    raise KeyError(name)


class JobParser(wiring.Component):
    def __init__(self, config: spec.TileConfig) -> None:
        self.config = config
        lanes = config.lanes
        self.row_bits, self.k_bits, self.word_bits = config.row_bits, config.k_bits, config.word_bits
        super().__init__(
            {
                "sink": In(axis_signature(lanes)),
                "feed": Out(array_feed_signature(config)),
                # Job facts for the result drain.
                "final_block": Out(1),  # the pending block is the job's last
                "block_drained": In(1),  # pulse: the pending block's results have all been sent
                "output_done": In(1),  # pulse: the job's final output beat was accepted
                "array_idle": In(1),
                # Error reporting.
                "err_req": Out(1),
                "err_code": Out(8),
                "err_index": Out(32),
                "err_ack": In(1),  # pulse: the error beat was accepted
                "err_detect": Out(1),  # pulse: an error was detected this cycle
                # State for status and counters.
                "busy": Out(1),
                "input_phase": Out(1),  # the tile expects input beats (not waiting on output)
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self.config
        lanes = cfg.lanes
        shift = (lanes - 1).bit_length()
        sink = self.sink
        beat = sink.payload
        fire = sink.valid & sink.ready
        keep_ok = beat.keep.all()

        rows = Signal(self.row_bits + 1)
        k = Signal(self.k_bits)
        k_beats = Signal(self.word_bits + 1)
        blocks = Signal(range(spec.MAX_N + 1))  # weight blocks of this job, up to MAX_N
        act_row = Signal(self.row_bits + 1)
        act_word = Signal(self.word_bits + 1)
        w_k = Signal(self.k_bits)
        w_block = Signal.like(blocks)
        index = Signal(32)  # index of the current input beat within the packet
        outstanding = Signal()
        cur_index = Signal(32)  # index of the beat on the bus within its packet
        err_at = Signal(32)
        m.d.comb += [self.feed.job_rows.eq(rows), self.err_index.eq(err_at)]

        with m.If(fire):
            m.d.sync += index.eq(index + 1)

        last_k = w_k == k - 1
        final = last_k & (w_block == blocks - 1)

        with m.If(self.block_drained):
            m.d.sync += outstanding.eq(0)

        def raise_error(code: int) -> None:
            m.d.comb += self.err_detect.eq(1)
            m.d.sync += [self.err_code.eq(code), err_at.eq(cur_index)]
            with m.If(beat.last):
                m.next = "ERROR_WAIT"
            with m.Else():
                m.next = "DRAIN"

        # Header fields of the current beat.
        h_m = _header_value(beat.data, "m")
        h_k = _header_value(beat.data, "k")
        h_n = _header_value(beat.data, "n")
        header_bad = (
            (_header_value(beat.data, "magic") != spec.HEADER_MAGIC)
            | (_header_value(beat.data, "format") != spec.HEADER_FORMAT)
            | (_header_value(beat.data, "flags") != 0)
            | (_header_value(beat.data, "reserved") != 0)
        )
        if lanes > spec.HEADER_BYTES:
            header_bad = header_bad | beat.data[8 * spec.HEADER_BYTES :].any()
        shape_bad = (
            (h_m == 0) | (h_m > cfg.rows) | (h_k == 0) | (h_k > cfg.max_k) | (h_n == 0) | (h_n > spec.MAX_N)
        )

        with m.FSM(name="parser"):
            with m.State("IDLE"):
                m.d.comb += [sink.ready.eq(1), cur_index.eq(0)]
                with m.If(fire):
                    m.d.sync += [
                        index.eq(1),
                        rows.eq(h_m),
                        k.eq(h_k),
                        k_beats.eq((h_k + lanes - 1) >> shift),
                        blocks.eq((h_n + lanes - 1) >> shift),
                        act_row.eq(0),
                        act_word.eq(0),
                        w_k.eq(0),
                        w_block.eq(0),
                        outstanding.eq(0),
                        self.final_block.eq(0),
                    ]
                    with m.If(~keep_ok):
                        raise_error(spec.ErrorCode.BAD_KEEP)
                    with m.Elif(header_bad):
                        raise_error(spec.ErrorCode.BAD_HEADER)
                    with m.Elif(shape_bad):
                        raise_error(spec.ErrorCode.BAD_SHAPE)
                    with m.Elif(beat.last):
                        raise_error(spec.ErrorCode.EARLY_LAST)
                    with m.Else():
                        m.next = "ACTIVATIONS"

            with m.State("ACTIVATIONS"):
                m.d.comb += [
                    cur_index.eq(index),
                    sink.ready.eq(1),
                    self.busy.eq(1),
                    self.input_phase.eq(1),
                    self.feed.act_row.eq(act_row),
                    self.feed.act_addr.eq(act_word),
                    self.feed.act_data.eq(beat.data),
                ]
                with m.If(fire):
                    with m.If(~keep_ok):
                        raise_error(spec.ErrorCode.BAD_KEEP)
                    with m.Elif(beat.last):
                        raise_error(spec.ErrorCode.EARLY_LAST)
                    with m.Else():
                        m.d.comb += self.feed.act_we.eq(1)
                        m.d.sync += act_word.eq(act_word + 1)
                        with m.If(act_word == k_beats - 1):
                            m.d.sync += [act_word.eq(0), act_row.eq(act_row + 1)]
                            with m.If(act_row == rows - 1):
                                m.next = "WEIGHTS"

            with m.State("WEIGHTS"):
                # A block's last beat waits until the previous block's results have drained.
                m.d.comb += [
                    cur_index.eq(index),
                    sink.ready.eq(~(last_k & outstanding)),
                    self.busy.eq(1),
                    self.input_phase.eq(1),
                    self.feed.push_data.eq(beat.data),
                    self.feed.push_k.eq(w_k),
                    self.feed.push_first.eq(w_k == 0),
                    self.feed.push_last.eq(last_k),
                ]
                with m.If(fire):
                    with m.If(~keep_ok):
                        raise_error(spec.ErrorCode.BAD_KEEP)
                    with m.Elif(beat.last & ~final):
                        raise_error(spec.ErrorCode.EARLY_LAST)
                    with m.Elif(final & ~beat.last):
                        raise_error(spec.ErrorCode.MISSING_LAST)
                    with m.Else():
                        m.d.comb += self.feed.push_valid.eq(1)
                        m.d.sync += w_k.eq(w_k + 1)
                        with m.If(last_k):
                            m.d.sync += [
                                w_k.eq(0),
                                w_block.eq(w_block + 1),
                                outstanding.eq(1),
                                self.final_block.eq(final),
                            ]
                        with m.If(final):
                            m.next = "FINISH"

            with m.State("FINISH"):
                m.d.comb += self.busy.eq(1)
                with m.If(self.output_done):
                    m.next = "IDLE"

            with m.State("DRAIN"):
                m.d.comb += [
                    cur_index.eq(index),
                    sink.ready.eq(1),
                    self.busy.eq(1),
                    self.input_phase.eq(1),
                ]
                with m.If(fire & beat.last):
                    m.next = "ERROR_WAIT"

            with m.State("ERROR_WAIT"):
                # Let any block already in flight drain, then send the error beat.
                m.d.comb += [self.busy.eq(1), self.err_req.eq(~outstanding & self.array_idle)]
                with m.If(self.err_ack):
                    m.next = "IDLE"

        return m
