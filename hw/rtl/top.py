"""The Vivado-facing top: `aclk`, `aresetn`, `s_axis_*`, `m_axis_*`, `s_axi_*`, `irq`.

Port names follow Xilinx interface inference, so adding the Verilog as a block-design module
reference yields an AXI4-Stream slave, an AXI4-Stream master, an AXI4-Lite slave, a clock, an
active-low reset and an interrupt, with no hand edits. Everything else lives in `tile.NpuTile`.

`aresetn` is registered once before it resets the design (Xilinx's guidance for a synchronous reset
with high fan-out), and every VALID/READY output is held low while that register is set, so the ports
behave as if reset the cycle `aresetn` is sampled low. No logic then depends on `aresetn` directly;
that also keeps Verilator from re-evaluating every next-state function when an input changes.
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from ..manifest import AXIL_SIGNALS, AXIS_SIGNALS, build_manifest
from .axi_lite import AxiLiteSlave
from .tile import NpuTile


class ZynpuTile(wiring.Component):
    def __init__(self, config: spec.TileConfig = spec.DEFAULT_CONFIG, *, primitives: bool = False) -> None:
        """`primitives`: the MAC slices as DSP48E2 instances (for Vivado and `make synth`); without it,
        their cycle-exact model in plain logic (for Verilator, Icarus and the formal proof)."""
        self.config = config
        self.primitives = primitives
        self.manifest = build_manifest(config)
        lanes = config.lanes
        axis = {"tdata": 8 * lanes, "tvalid": 1, "tready": 1, "tlast": 1, "tkeep": lanes}
        assert tuple(axis) == AXIS_SIGNALS
        members: dict[str, wiring.Member] = {"aclk": In(1), "aresetn": In(1), "irq": Out(1)}
        for name, width in axis.items():
            members[f"s_axis_{name}"] = Out(width) if name == "tready" else In(width)
            members[f"m_axis_{name}"] = In(width) if name == "tready" else Out(width)
        self._axil = AxiLiteSlave(spec.AXIL_ADDR_BITS, spec.AXIL_DATA_BITS)
        for name in AXIL_SIGNALS:
            members[f"s_axi_{name}"] = self._axil.signature.members[name]
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.sync = sync = ClockDomain("sync")
        up = Signal(reset_less=True)  # aresetn, registered: 0 (in reset) from power-up
        m.d.sync += up.eq(self.aresetn)
        m.d.comb += [sync.clk.eq(self.aclk), sync.rst.eq(~up)]

        tile = NpuTile(self.config, self.manifest["config_hash32"], primitives=self.primitives)
        m.submodules.tile = tile
        m.submodules.axil = axil = self._axil
        m.d.comb += [
            tile.sink.payload.data.eq(self.s_axis_tdata),
            tile.sink.payload.last.eq(self.s_axis_tlast),
            tile.sink.payload.keep.eq(self.s_axis_tkeep),
            tile.sink.valid.eq(self.s_axis_tvalid & up),
            self.s_axis_tready.eq(tile.sink.ready & up),
            self.m_axis_tdata.eq(tile.source.payload.data),
            self.m_axis_tlast.eq(tile.source.payload.last),
            self.m_axis_tkeep.eq(tile.source.payload.keep),
            self.m_axis_tvalid.eq(tile.source.valid & up),
            tile.source.ready.eq(self.m_axis_tready & up),
            self.irq.eq(tile.irq & up),
        ]
        for name in AXIL_SIGNALS:
            port = getattr(self, f"s_axi_{name}")
            inner = getattr(axil, name)
            handshake = name.endswith(("valid", "ready"))  # held low while in reset
            if axil.signature.members[name].flow == wiring.In:
                m.d.comb += inner.eq(port & up if handshake else port)
            else:
                m.d.comb += port.eq(inner & up if handshake else inner)
        wiring.connect(m, axil.regs, tile.regs)
        return m
