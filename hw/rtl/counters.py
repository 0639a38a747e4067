"""Performance counters: 32-bit, wrapping, cleared together; one increment input each."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class PerfCounters(wiring.Component):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        members = {"clear": In(1)}
        for name in names:
            members[f"inc_{name.lower()}"] = In(1)
            members[f"count_{name.lower()}"] = Out(32)
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        for name in self.names:
            inc: Signal = getattr(self, f"inc_{name.lower()}")
            count: Signal = getattr(self, f"count_{name.lower()}")
            with m.If(self.clear):
                m.d.sync += count.eq(0)
            with m.Elif(inc):
                m.d.sync += count.eq(count + 1)
        return m
