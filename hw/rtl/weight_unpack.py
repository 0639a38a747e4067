"""Turns the parser's weight beats into pre-scaled weights, two products per lane, for row 0.

int8: lane l's byte is product `a` (at k), product `b` is 0. int4: lane l's low nibble is `a` (at k),
its high nibble `b` (at k + 1), each multiplied by the lane's current scale (the last int4 scale
beat). Scaling each weight once here, before the rows, makes every row accumulate X * (S * W), which
is exactly sum_g S * (X . W over the group): the rows need no per-group step and no second multiplier.

The 4 x 8 bit scale product is two shift-and-add stages (each a 12-bit add of gated shifts), both
registered, so no path is longer than one short carry chain: stage 1 adds bits 0-1 and bits 2-3 of
the nibble, stage 2 sums them. `lead_*` is stage 1's k: one cycle ahead of the beat's output.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from .axis import WEIGHT_BITS, array_beat_signature, array_feed_signature


class WeightUnpack(wiring.Component):
    def __init__(self, config: spec.TileConfig) -> None:
        self.config = config
        super().__init__(
            {
                "feed": In(array_feed_signature(config)),
                "beat": Out(array_beat_signature(config)),
                "busy": Out(1),  # a beat is in either stage
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self.config
        lanes = cfg.lanes
        feed = self.feed
        scale_bits = spec.INT4_SCALE_BITS
        scales = [Signal(unsigned(scale_bits), name=f"scale{lane}", reset_less=True) for lane in range(lanes)]
        with m.If(feed.push_scale):
            for lane, scale in enumerate(scales):
                m.d.sync += scale.eq(feed.push_data.word_select(lane, 8))

        # Stage 1: per product, the partial sums of bits 0-1 (low) and 2-3 (high) of the nibble times the
        # scale; an int8 weight passes as low = w, high = 0.
        s1_valid = Signal()
        s1_k = Signal(cfg.k_bits, reset_less=True)
        s1_first = Signal(reset_less=True)
        s1_last = Signal(reset_less=True)
        parts = []
        for lane in range(lanes):
            byte = feed.push_data.word_select(lane, 8)
            scale = scales[lane]
            for half, name in ((0, "a"), (1, "b")):
                nib = byte.word_select(half, 4)
                lo = Signal(signed(WEIGHT_BITS), name=f"s1_{name}{lane}_lo", reset_less=True)
                hi = Signal(signed(WEIGHT_BITS), name=f"s1_{name}{lane}_hi", reset_less=True)
                int4_lo = Mux(nib[0], scale, 0) + Mux(nib[1], scale << 1, 0)
                int4_hi = Mux(nib[2], scale << 2, 0) - Mux(nib[3], scale << 3, 0)  # bit 3 weighs -8
                if half == 0:
                    with m.If(feed.push_valid):
                        m.d.sync += [
                            lo.eq(Mux(feed.int4, int4_lo, byte.as_signed())),
                            hi.eq(Mux(feed.int4, int4_hi, 0)),
                        ]
                else:  # `b` (the high nibble) is int4 only; an int8 job leaves it idle
                    with m.If(feed.push_valid & feed.int4):
                        m.d.sync += [lo.eq(int4_lo), hi.eq(int4_hi)]
                parts.append((lane, name, lo, hi))
        m.d.sync += s1_valid.eq(feed.push_valid)
        with m.If(feed.push_valid):
            m.d.sync += [s1_k.eq(feed.push_k), s1_first.eq(feed.push_first), s1_last.eq(feed.push_last)]

        # Stage 2: the sums, registered: the beat row 0 takes next.
        out = self.beat
        m.d.sync += out.valid.eq(s1_valid)
        with m.If(s1_valid):
            m.d.sync += [out.first.eq(s1_first), out.last.eq(s1_last)]
        for lane, name, lo, hi in parts:
            with m.If(s1_valid & (feed.int4 if name == "b" else 1)):
                m.d.sync += getattr(out, name)[lane].eq(lo + hi)
        m.d.comb += [
            out.lead_valid.eq(s1_valid),
            out.lead_k.eq(s1_k),
            self.busy.eq(feed.push_valid | s1_valid | out.valid),
        ]
        return m
