"""AXI4-Lite slave that turns bus transactions into single-cycle register reads and writes.

One transaction of each kind is in flight at a time: the write address and data may arrive in either
order (or together) and are answered with exactly one B response; a read is answered with exactly one
R response. Unmapped addresses answer SLVERR, so a wrong base address shows up as a bus error.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .axis import register_bus_signature

RESP_OKAY = 0b00
RESP_SLVERR = 0b10


class AxiLiteSlave(wiring.Component):
    """Bus side: AXI4-Lite members. Register side: `regs` (`wr_*` pulse, `rd_*` combinational lookup)."""

    def __init__(self, addr_bits: int, data_bits: int = 32) -> None:
        self.addr_bits = addr_bits
        strb = data_bits // 8
        super().__init__(
            {
                "awaddr": In(addr_bits),
                "awprot": In(3),
                "awvalid": In(1),
                "awready": Out(1),
                "wdata": In(data_bits),
                "wstrb": In(strb),
                "wvalid": In(1),
                "wready": Out(1),
                "bresp": Out(2),
                "bvalid": Out(1),
                "bready": In(1),
                "araddr": In(addr_bits),
                "arprot": In(3),
                "arvalid": In(1),
                "arready": Out(1),
                "rdata": Out(data_bits),
                "rresp": Out(2),
                "rvalid": Out(1),
                "rready": In(1),
                "regs": Out(register_bus_signature(addr_bits, data_bits)),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        aw_full = Signal()
        w_full = Signal()

        m.d.comb += [
            self.awready.eq(~aw_full & ~self.bvalid),
            self.wready.eq(~w_full & ~self.bvalid),
        ]
        aw_latched = Signal(self.addr_bits)
        w_latched = Signal.like(self.wdata)
        strb_latched = Signal.like(self.wstrb)
        with m.If(self.awvalid & self.awready):
            m.d.sync += [aw_full.eq(1), aw_latched.eq(self.awaddr)]
        with m.If(self.wvalid & self.wready):
            m.d.sync += [w_full.eq(1), w_latched.eq(self.wdata), strb_latched.eq(self.wstrb)]

        # Perform the write in the cycle both halves are present (latched or arriving now).
        have_aw = aw_full | (self.awvalid & self.awready)
        have_w = w_full | (self.wvalid & self.wready)
        m.d.comb += [
            self.regs.wr_addr.eq(Mux(aw_full, aw_latched, self.awaddr)),
            self.regs.wr_data.eq(Mux(w_full, w_latched, self.wdata)),
            self.regs.wr_strb.eq(Mux(w_full, strb_latched, self.wstrb)),
        ]
        with m.If(have_aw & have_w & ~self.bvalid):
            m.d.comb += self.regs.wr_en.eq(self.regs.wr_ok)
            m.d.sync += [
                aw_full.eq(0),
                w_full.eq(0),
                self.bvalid.eq(1),
                self.bresp.eq(RESP_OKAY),
            ]
            with m.If(~self.regs.wr_ok):
                m.d.sync += self.bresp.eq(RESP_SLVERR)
        with m.If(self.bvalid & self.bready):
            m.d.sync += self.bvalid.eq(0)

        m.d.comb += [self.arready.eq(~self.rvalid), self.regs.rd_addr.eq(self.araddr)]
        with m.If(self.arvalid & self.arready):
            m.d.sync += [
                self.rvalid.eq(1),
                self.rdata.eq(self.regs.rd_data),
                self.rresp.eq(RESP_OKAY),
            ]
            with m.If(~self.regs.rd_ok):
                m.d.sync += [self.rresp.eq(RESP_SLVERR), self.rdata.eq(0)]
        with m.If(self.rvalid & self.rready):
            m.d.sync += self.rvalid.eq(0)
        return m
