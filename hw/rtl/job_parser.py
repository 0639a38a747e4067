"""Parses the input packet of a job: header, activations, weights; polices its framing.

It writes activations into the array's row memories and pushes weight beats (and int4 scale beats)
towards the array at one per cycle, through a register: no stream input drives a memory or a
multiplier in the cycle it arrives. A block's last beat is held back while the previous block's
results are still draining (at most one block's results are ever pending). Every framing error is
caught at the beat that causes it; that beat is dropped, the rest of the packet drained, and an error
beat requested.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from .axis import ErrorCode, array_feed_signature, axis_signature, block_signature, error_signature
from .counters import SplitCounter


def _above(value, limit: int):
    """value > limit (unsigned constant) as an OR of the high bits and a compare as narrow as `limit`:
    a 32-bit header field against a small bound is then two LUT levels, not a 32-bit carry chain."""
    bits = limit.bit_length()
    if limit == (1 << bits) - 1:  # all ones: only the high bits can exceed it
        return value[bits:].any()
    return value[bits:].any() | (value[:bits] > limit)


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
                "drained": In(block_signature()),  # the pending block's results have all been sent
                "array_idle": In(1),
                # Error reporting.
                "error": Out(error_signature()),
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
        group_beats = spec.INT4_GROUP // spec.INT4_PER_LANE  # weight beats per int4 scale beat
        max_blocks = -(-spec.MAX_N // lanes)
        sink = self.sink
        beat = sink.payload
        fire = sink.valid & sink.ready
        keep_ok = beat.keep.all()
        feed = self.feed

        rows_m1 = Signal(self.row_bits)  # M - 1
        k_beats_m2 = Signal(range(-1, cfg.act_words))  # activation beats per row - 2
        int4 = Signal()
        # Where a block and the job end, as down counters whose sign bit is the flag (WHY: no compare
        # of a wide counter sits between a register and the stream's TREADY or the state it feeds).
        # `k_left`: weight beats left in the block after the next one, minus 1: negative on its last
        # beat; reloaded from `k_reload` (weight beats per block - 2) when a block ends.
        # `blocks_left`: blocks left after this one, minus 1: negative in the job's last block.
        k_left = Signal(signed(self.k_bits + 1))
        k_reload = Signal(signed(self.k_bits + 1))
        blocks_left = Signal(range(-1, max_blocks))
        scale_next = Signal()  # int4: the next weight-phase beat is a scale beat (g_pos == 0)
        act_row = Signal(self.row_bits)
        act_word = Signal(self.word_bits)
        w_k = Signal(self.k_bits)
        g_pos = Signal(range(group_beats + 1))  # weight beats into the int4 group; 0: a scale beat is next
        # Index of the beat on the bus within its packet: counts accepted beats, back to 0 with each
        # packet's last beat (every way back to IDLE passes one), so it needs no state multiplexer.
        m.submodules.index = beats = SplitCounter(load_value=0)
        index = beats.value
        outstanding = Signal()
        err_at = Signal(32)
        err_code = Signal(ErrorCode)
        m.d.comb += [
            self.error.payload.code.eq(err_code),
            self.error.payload.index.eq(err_at),
            self.drained.ready.eq(1),
        ]

        m.d.comb += [beats.inc.eq(fire), beats.load.eq(fire & beat.last)]
        # The end of the activations, as down-counter sign bits like the weights' (`word_left`: words
        # left in the row after the next one, minus 1; `rows_left`: rows left after this one, minus 1).
        word_left = Signal(range(-1, cfg.act_words))
        rows_left = Signal(range(-1, cfg.rows))

        scale_beat = scale_next
        last_k = k_left[-1] & ~scale_beat
        final = last_k & blocks_left[-1]

        with m.If(self.drained.valid):
            m.d.sync += outstanding.eq(0)

        # The feed register: one cycle between the stream and the array's memories and multipliers.
        m.d.sync += [
            feed.act_we.eq(0),
            feed.push_valid.eq(0),
            feed.push_scale.eq(0),
            feed.act_row.eq(act_row),
            feed.act_addr.eq(act_word),
            feed.act_data.eq(beat.data),
            feed.push_data.eq(beat.data),
            feed.push_k.eq(w_k),
            feed.push_first.eq(w_k == 0),
            feed.push_last.eq(last_k),
            feed.int4.eq(int4),
        ]
        m.d.comb += feed.last_row.eq(rows_m1)

        def raise_error(code: ErrorCode) -> None:
            m.d.comb += self.err_detect.eq(1)
            m.d.sync += [err_code.eq(code), err_at.eq(index)]
            with m.If(beat.last):
                m.next = "ERROR_WAIT"
            with m.Else():
                m.next = "DRAIN"

        # Header fields of the current beat.
        h_m = _header_value(beat.data, "m")
        h_k = _header_value(beat.data, "k")
        h_n = _header_value(beat.data, "n")
        h_weights = _header_value(beat.data, "weights")
        header_bad = (
            (_header_value(beat.data, "magic") != spec.HEADER_MAGIC)
            | (_header_value(beat.data, "format") != spec.HEADER_FORMAT)
            | (_header_value(beat.data, "flags") != 0)
            | _above(h_weights, max(spec.WeightFormat))
            | (_header_value(beat.data, "reserved") != 0)
        )
        if lanes > spec.HEADER_BYTES:
            header_bad = header_bad | beat.data[8 * spec.HEADER_BYTES :].any()
        shape_bad = (
            ~h_m.any()
            | _above(h_m, cfg.rows)
            | ~h_k.any()
            | _above(h_k, cfg.max_k)
            | ~h_n.any()
            | _above(h_n, spec.MAX_N)
        )
        h_int4 = h_weights == spec.WeightFormat.INT4

        with m.FSM(name="parser"):
            with m.State("IDLE"):
                m.d.comb += sink.ready.eq(1)
                with m.If(fire):
                    # Weight beats per block: K (int8), ceil(K / 2) (int4).
                    k_reload_value = Mux(h_int4, ((h_k + 1) >> 1) - 2, h_k - 2)
                    m.d.sync += [
                        rows_m1.eq(h_m - 1),
                        k_beats_m2.eq(((h_k + lanes - 1) >> shift) - 2),
                        k_reload.eq(k_reload_value),
                        k_left.eq(k_reload_value),
                        blocks_left.eq(((h_n + lanes - 1) >> shift) - 2),
                        int4.eq(h_int4),
                        scale_next.eq(h_int4),
                        act_row.eq(0),
                        act_word.eq(0),
                        word_left.eq(((h_k + lanes - 1) >> shift) - 2),
                        rows_left.eq(h_m - 2),
                        w_k.eq(0),
                        g_pos.eq(0),
                        outstanding.eq(0),
                        self.final_block.eq(0),
                    ]
                    with m.If(~keep_ok):
                        raise_error(ErrorCode.BAD_KEEP)
                    with m.Elif(header_bad):
                        raise_error(ErrorCode.BAD_HEADER)
                    with m.Elif(shape_bad):
                        raise_error(ErrorCode.BAD_SHAPE)
                    with m.Elif(beat.last):
                        raise_error(ErrorCode.EARLY_LAST)
                    with m.Else():
                        m.next = "ACTIVATIONS"

            with m.State("ACTIVATIONS"):
                m.d.comb += [
                    sink.ready.eq(1),
                    self.busy.eq(1),
                    self.input_phase.eq(1),
                ]
                with m.If(fire):
                    with m.If(~keep_ok):
                        raise_error(ErrorCode.BAD_KEEP)
                    with m.Elif(beat.last):
                        raise_error(ErrorCode.EARLY_LAST)
                    with m.Else():
                        m.d.sync += [
                            feed.act_we.eq(1),
                            act_word.eq(act_word + 1),
                            word_left.eq(word_left - 1),
                        ]
                        with m.If(word_left[-1]):
                            m.d.sync += [
                                act_word.eq(0),
                                word_left.eq(k_beats_m2),
                                act_row.eq(act_row + 1),
                                rows_left.eq(rows_left - 1),
                            ]
                            with m.If(rows_left[-1]):
                                m.next = "WEIGHTS"

            with m.State("WEIGHTS"):
                # A block's last beat waits until the previous block's results have drained.
                m.d.comb += [
                    sink.ready.eq(~(last_k & outstanding)),
                    self.busy.eq(1),
                    self.input_phase.eq(1),
                ]
                with m.If(fire):
                    with m.If(~keep_ok):
                        raise_error(ErrorCode.BAD_KEEP)
                    with m.Elif(beat.last & ~final):
                        raise_error(ErrorCode.EARLY_LAST)
                    with m.Elif(final & ~beat.last):
                        raise_error(ErrorCode.MISSING_LAST)
                    with m.Elif(scale_beat):
                        m.d.sync += [feed.push_scale.eq(1), g_pos.eq(1), scale_next.eq(0)]
                    with m.Else():
                        m.d.sync += [
                            feed.push_valid.eq(1),
                            w_k.eq(w_k + 1 + int4),
                            g_pos.eq(g_pos + 1),
                            k_left.eq(k_left - 1),
                        ]
                        with m.If(g_pos == group_beats):
                            m.d.sync += [g_pos.eq(0), scale_next.eq(int4)]
                        with m.If(last_k):
                            m.d.sync += [
                                w_k.eq(0),
                                g_pos.eq(0),
                                scale_next.eq(int4),
                                k_left.eq(k_reload),
                                blocks_left.eq(blocks_left - 1),
                                outstanding.eq(1),
                                self.final_block.eq(final),
                            ]
                        with m.If(final):
                            m.next = "FINISH"

            with m.State("FINISH"):
                m.d.comb += self.busy.eq(1)
                with m.If(self.drained.valid & self.drained.payload.final):
                    m.next = "IDLE"

            with m.State("DRAIN"):
                m.d.comb += [
                    sink.ready.eq(1),
                    self.busy.eq(1),
                    self.input_phase.eq(1),
                ]
                with m.If(fire & beat.last):
                    m.next = "ERROR_WAIT"

            with m.State("ERROR_WAIT"):
                # Let any block already in flight drain, then send the error beat.
                m.d.comb += [self.busy.eq(1), self.error.valid.eq(~outstanding & self.array_idle)]
                with m.If(self.error.valid & self.error.ready):
                    m.next = "IDLE"

        return m
