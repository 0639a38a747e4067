"""Performance counters: 32-bit, wrapping, cleared together; one increment input each.

A 32-bit increment is a LUT and four CARRY8 cells: five logic levels, one more than a 300 MHz path
allows. So every 32-bit count here is two 16-bit halves (`SplitCounter`): the low half counts, and the
high half takes its precomputed successor (`hi + 1`, a register) in the same cycle the low half
wraps, which a registered flag (`lo_full`: the low half is all ones) announces. The value read out
is the two registers as they are: exact in every cycle, with no multiplexer behind them.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

HALF = 16


class SplitCounter(wiring.Component):
    """A 32-bit counter in two registered halves. `load` (priority) sets it to `load_value` (0 or 1)."""

    def __init__(self, load_value: int = 0) -> None:
        self.load_value = load_value
        super().__init__({"inc": In(1), "load": In(1), "value": Out(2 * HALF)})

    def elaborate(self, platform) -> Module:
        m = Module()
        lo = Signal(HALF)
        hi = Signal(HALF)
        hi_next = Signal(HALF)  # hi + 1, ready before the wrap needs it (hi changes every 2**16 counts)
        lo_full = Signal()  # lo is all ones: the next increment wraps it
        m.d.sync += hi_next.eq(hi + 1)
        with m.If(self.inc):
            m.d.sync += [lo.eq(lo + 1), lo_full.eq(lo == (1 << HALF) - 2)]
            with m.If(lo_full):
                m.d.sync += hi.eq(hi_next)
        with m.If(self.load):
            m.d.sync += [lo.eq(self.load_value), hi.eq(0), lo_full.eq(0)]
        m.d.comb += self.value.eq(Cat(lo, hi))
        return m


class PerfCounters(wiring.Component):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        members = {"clear": In(1)}
        for name in names:
            members[f"inc_{name.lower()}"] = In(1)
            members[f"count_{name.lower()}"] = Out(2 * HALF)
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        for name in self.names:
            counter = SplitCounter()
            m.submodules[name.lower()] = counter
            m.d.comb += [
                counter.inc.eq(getattr(self, f"inc_{name.lower()}")),
                counter.load.eq(self.clear),
                getattr(self, f"count_{name.lower()}").eq(counter.value),
            ]
        return m
