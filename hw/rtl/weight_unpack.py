"""Turns the parser's weight beats into pre-scaled weights, two products per lane, for row 0.

int8: lane l's byte is product `a` (at k), product `b` is unused. int4: lane l's low nibble is `a` (at k),
its high nibble `b` (at k + 1), each multiplied by the lane's current scale (the last int4 scale
beat). Scaling each weight once here, before the rows, makes every row accumulate X * (S * W), which
is exactly sum_g S * (X . W over the group): the rows need no per-group step and no second multiplier.

The 4 x 8 bit scale product takes two registered stages and no multiplier: with the scale beat each
lane also loads 3s, -8s and -4s; stage 1 picks, per bit pair of the nibble, one of 0, s, 2s, 3s (bits
0-1) and one of 0, 4s, -8s, -4s (bits 2-3, bit 3 weighing -8), stage 2 adds the two (one short carry
chain). An int8 weight passes both stages unchanged in `a`. `lead_*` is stage 1's k: one cycle ahead
of the beat's output.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed, unsigned
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
        # Per lane the multiples of its scale that a nibble's bit pairs select (loaded with the scale
        # beat): bits 0-1 pick 0, s, 2s or 3s; bits 2-3 (bit 3 weighs -8) pick 0, 4s, -8s or -4s. Stage 1
        # is then a 4:1 multiplexer per pair, no adder.
        low_picks, high_picks = [], []
        for lane in range(lanes):
            scale = Signal(unsigned(scale_bits), name=f"scale{lane}", reset_less=True)
            three = Signal(unsigned(scale_bits + 2), name=f"scale{lane}_x3", reset_less=True)
            minus8 = Signal(signed(WEIGHT_BITS), name=f"scale{lane}_xm8", reset_less=True)
            minus4 = Signal(signed(WEIGHT_BITS), name=f"scale{lane}_xm4", reset_less=True)
            with m.If(feed.push_scale):
                byte = feed.push_data.word_select(lane, 8)
                m.d.sync += [
                    scale.eq(byte),
                    three.eq(byte + (byte << 1)),
                    minus8.eq(-(byte << 3)),
                    minus4.eq(-(byte << 2)),
                ]
            low_picks.append((0, scale, scale << 1, three))
            high_picks.append((0, scale << 2, minus8, minus4))

        # Stage 1: per product, the partial sums of bits 0-1 (low) and 2-3 (high) of the nibble times the
        # scale; an int8 weight passes as low = w.
        s1_valid = Signal()
        s1_k = Signal(cfg.k_bits, reset_less=True)
        s1_first = Signal(reset_less=True)
        s1_last = Signal(reset_less=True)
        parts = []
        for lane in range(lanes):
            for name in ("a", "b"):
                lo = Signal(signed(WEIGHT_BITS), name=f"s1_{name}{lane}_lo", reset_less=True)
                hi = Signal(signed(WEIGHT_BITS), name=f"s1_{name}{lane}_hi", reset_less=True)
                parts.append((lane, name, lo, hi))
        # One branch per beat on the format (not a multiplexer per weight): an int8 beat loads only the
        # `a` low parts; the `b` products and the high parts are int4 only.
        with m.If(feed.push_valid):
            with m.If(feed.int4):
                for lane, name, lo, hi in parts:
                    nib = feed.push_data.word_select(lane, 8).word_select(0 if name == "a" else 1, 4)
                    m.d.sync += [
                        lo.eq(_pick(low_picks[lane], nib[:2])),
                        hi.eq(_pick(high_picks[lane], nib[2:])),
                    ]
            with m.Else():
                for lane, name, lo, _ in parts:
                    if name == "a":
                        m.d.sync += lo.eq(feed.push_data.word_select(lane, 8).as_signed())
        m.d.sync += s1_valid.eq(feed.push_valid)
        with m.If(feed.push_valid):
            m.d.sync += [s1_k.eq(feed.push_k), s1_first.eq(feed.push_first), s1_last.eq(feed.push_last)]

        # Stage 2: the sums, registered: the beat row 0 takes next (int8: the weight as it came).
        out = self.beat
        m.d.sync += out.valid.eq(s1_valid)
        with m.If(s1_valid):
            m.d.sync += [out.first.eq(s1_first), out.last.eq(s1_last)]
            with m.If(feed.int4):
                for lane, name, lo, hi in parts:
                    m.d.sync += getattr(out, name)[lane].eq(lo + hi)
            with m.Else():
                for lane, name, lo, _ in parts:
                    if name == "a":
                        m.d.sync += out.a[lane].eq(lo)
        m.d.comb += [
            out.lead_valid.eq(s1_valid),
            out.lead_k.eq(s1_k),
            self.busy.eq(feed.push_valid | s1_valid | out.valid),
        ]
        return m


def _pick(values: tuple, sel: Value) -> Value:
    """values[sel] for a 2-bit select, as a two-level multiplexer."""
    return Mux(sel[1], Mux(sel[0], values[3], values[2]), Mux(sel[0], values[1], values[0]))
