"""Formal harness: `zynpu_tile` with every input free, the AXI rules of its ports as properties.

Every input of the top (streams, AXI4-Lite, aresetn) is a top-level port of the harness, which Yosys's
SMT backend treats as a free input each step. Assumptions are only the environment's obligations:
the upstream AXI4-Stream master and the AXI4-Lite master follow the handshake rules (VALID held until
READY with stable payload). Everything the tile drives is asserted. The observer keeps its own clock
domain, reset by `aresetn` itself as the AXI specification defines reset, so the tile's registered
reset is checked against the specification rather than against itself:

- m_axis: TVALID, once up, stays up until TREADY, with TDATA/TLAST/TKEEP stable; except across a
  reset (aresetn low, or a CONTROL.SOFT_RESET pulse, which abandons the job by design).
- s_axi: at most one write and one read in flight; BVALID exactly while an accepted AW+W pair has no
  response yet (so one B per write, never a spurious one), RVALID exactly while an accepted AR has no
  response yet; BVALID/RVALID held until BREADY/RREADY with BRESP/RDATA/RRESP stable.

`mutation` plants a deliberate protocol bug between the tile and the properties, so a test can check
the proof fails when it should (it is not vacuous).
"""

from __future__ import annotations

from amaranth.hdl import Assert, Assume, ClockDomain, ClockSignal, Elaboratable, Module, ResetSignal, Signal
from amaranth.lib import wiring

from .. import regmap, spec
from ..rtl.top import ZynpuTile

FORMAL_CONFIG = spec.TileConfig(rows=2, lanes=16, max_k=64)
PROPERTIES = (
    "m_axis_tvalid_held",
    "m_axis_tdata_stable",
    "m_axis_tlast_stable",
    "m_axis_tkeep_stable",
    "s_axi_one_aw_in_flight",
    "s_axi_one_w_in_flight",
    "s_axi_one_ar_in_flight",
    "s_axi_bvalid_iff_write_pending",
    "s_axi_rvalid_iff_read_pending",
    "s_axi_bvalid_held",
    "s_axi_bresp_stable",
    "s_axi_rvalid_held",
    "s_axi_rdata_stable",
    "s_axi_rresp_stable",
)
MUTATIONS = ("none", "m_axis_drop_valid", "m_axis_data_glitch", "s_axi_double_b", "s_axi_rdata_glitch")


class FormalHarness(Elaboratable):
    def __init__(self, config: spec.TileConfig = FORMAL_CONFIG, mutation: str = "none") -> None:
        if mutation not in MUTATIONS:
            raise ValueError(f"unknown mutation {mutation!r}; one of {MUTATIONS}")
        self.config = config
        self.mutation = mutation
        self.dut = ZynpuTile(config)
        self.inputs: dict[str, Signal] = {}
        for name, member in self.dut.signature.members.items():
            if member.flow == wiring.In:
                self.inputs[name] = Signal(member.shape, name=name)
        self.glitch = Signal(name="glitch")  # free: where a mutation strikes
        # Each property is a named wire `prop_<name>` (1 = holds this cycle), asserted every cycle, so the
        # runner can tell which one a counterexample violates.
        self.properties: dict[str, Signal] = {}

    @property
    def ports(self) -> list[Signal]:
        return [*self.inputs.values(), self.glitch]

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.dut = dut = self.dut
        for name, sig in self.inputs.items():
            m.d.comb += getattr(dut, name).eq(sig)
        i = self.inputs
        # The observer's own domain, reset as the AXI specification defines it (every transaction at a
        # clock edge that samples aresetn low is void), not as the tile implements its reset.
        m.domains.obs = ClockDomain("obs")
        m.d.comb += [ClockSignal("obs").eq(i["aclk"]), ResetSignal("obs").eq(~i["aresetn"])]

        # What the properties observe of the tile's outputs (a mutation tampers with it here).
        m_valid = Signal()
        m_data = Signal.like(dut.m_axis_tdata)
        b_valid = Signal()
        r_data = Signal.like(dut.s_axi_rdata)
        m.d.comb += [
            m_valid.eq(dut.m_axis_tvalid),
            m_data.eq(dut.m_axis_tdata),
            b_valid.eq(dut.s_axi_bvalid),
            r_data.eq(dut.s_axi_rdata),
        ]
        if self.mutation == "m_axis_drop_valid":
            m.d.comb += m_valid.eq(dut.m_axis_tvalid & ~self.glitch)
        elif self.mutation == "m_axis_data_glitch":
            m.d.comb += m_data.eq(dut.m_axis_tdata ^ self.glitch)
        elif self.mutation == "s_axi_double_b":
            m.d.comb += b_valid.eq(dut.s_axi_bvalid | self.glitch)
        elif self.mutation == "s_axi_rdata_glitch":
            m.d.comb += r_data.eq(dut.s_axi_rdata ^ self.glitch)

        def check(guard, cond, name: str) -> None:
            prop = Signal(name=f"prop_{name}")
            m.d.comb += prop.eq(~guard | cond)
            m.d.comb += Assert(prop, name)
            self.properties[name] = prop

        # Previous-cycle values. Every `past` register samples unconditionally at the top level of the
        # module: created inside a `with m.If(...)`, its update would be guarded by that condition (the
        # bug behind the earlier step-3 counterexample), and it would hold a stale value, not the past.
        def past(value, name: str) -> Signal:
            reg = Signal.like(value, name=f"past_{name}", reset_less=True)
            m.d.obs += reg.eq(value)
            return reg

        started = Signal(reset_less=True)
        m.d.obs += started.eq(1)
        rstn = i["aresetn"]
        was_up = started & past(rstn, "rstn")  # the last clock edge was not a reset

        # A SOFT_RESET pulse: the tile registers CONTROL.SOFT_RESET written as 1, then resets the job.
        axil = dut._axil
        control = regmap.register("CONTROL")
        soft_bit = next(f.lsb for f in control.fields if f.name == "SOFT_RESET")
        soft_write = (
            axil.regs.wr_en
            & ((axil.regs.wr_addr & ~0b11) == control.offset)
            & axil.regs.wr_strb[0]
            & axil.regs.wr_data[soft_bit]
        )
        soft_pulse = Signal()  # mirrors the tile's registered pulse (reset with it)
        m.d.obs += soft_pulse.eq(soft_write)
        no_reset = was_up & ~past(soft_pulse, "soft_pulse")

        # Environment: the upstream AXI4-Stream master keeps TVALID and its payload until TREADY.
        s_payload = ("s_axis_tdata", "s_axis_tlast", "s_axis_tkeep")
        s_prev = {sig: past(i[sig], sig) for sig in s_payload}
        s_stall = past(i["s_axis_tvalid"] & ~dut.s_axis_tready, "s_stall")
        with m.If(was_up & s_stall):
            m.d.comb += Assume(i["s_axis_tvalid"])
            for sig in s_payload:
                m.d.comb += Assume(i[sig] == s_prev[sig])

        # Environment: the AXI4-Lite master keeps AWVALID/WVALID/ARVALID and their payloads until READY.
        for ch, payload in (
            ("aw", ("awaddr", "awprot")),
            ("w", ("wdata", "wstrb")),
            ("ar", ("araddr", "arprot")),
        ):
            valid = i[f"s_axi_{ch}valid"]
            ready = getattr(dut, f"s_axi_{ch}ready")
            stall = past(valid & ~ready, f"{ch}_stall")
            prev = {p: past(i[f"s_axi_{p}"], p) for p in payload}
            with m.If(was_up & stall):
                m.d.comb += Assume(valid)
                for p in payload:
                    m.d.comb += Assume(i[f"s_axi_{p}"] == prev[p])

        # m_axis: held and stable while stalled, unless a reset intervened.
        m_stall = past(m_valid & ~i["m_axis_tready"], "m_stall")
        m_data_prev = past(m_data, "m_data")
        m_last_prev = past(dut.m_axis_tlast, "m_last")
        m_keep_prev = past(dut.m_axis_tkeep, "m_keep")
        m_guard = no_reset & m_stall
        check(m_guard, m_valid, "m_axis_tvalid_held")
        check(m_guard, m_data == m_data_prev, "m_axis_tdata_stable")
        check(m_guard, dut.m_axis_tlast == m_last_prev, "m_axis_tlast_stable")
        check(m_guard, dut.m_axis_tkeep == m_keep_prev, "m_axis_tkeep_stable")

        # s_axi: count accepted requests minus responses; the tile's own reset clears both sides.
        aw_fire = i["s_axi_awvalid"] & dut.s_axi_awready
        w_fire = i["s_axi_wvalid"] & dut.s_axi_wready
        b_fire = b_valid & i["s_axi_bready"]
        ar_fire = i["s_axi_arvalid"] & dut.s_axi_arready
        r_fire = dut.s_axi_rvalid & i["s_axi_rready"]
        aw_pend, w_pend, r_pend = (Signal(2, name=n) for n in ("aw_pend", "w_pend", "r_pend"))
        m.d.obs += [
            aw_pend.eq(aw_pend + aw_fire - b_fire),
            w_pend.eq(w_pend + w_fire - b_fire),
            r_pend.eq(r_pend + ar_fire - r_fire),
        ]
        check(started, aw_pend <= 1, "s_axi_one_aw_in_flight")
        check(started, w_pend <= 1, "s_axi_one_w_in_flight")
        check(started, r_pend <= 1, "s_axi_one_ar_in_flight")
        check(started, b_valid == ((aw_pend == 1) & (w_pend == 1)), "s_axi_bvalid_iff_write_pending")
        check(started, dut.s_axi_rvalid == (r_pend == 1), "s_axi_rvalid_iff_read_pending")
        b_stall = past(b_valid & ~i["s_axi_bready"], "b_stall")
        r_stall = past(dut.s_axi_rvalid & ~i["s_axi_rready"], "r_stall")
        bresp_prev = past(dut.s_axi_bresp, "bresp")
        rdata_prev = past(r_data, "rdata")
        rresp_prev = past(dut.s_axi_rresp, "rresp")
        check(was_up & b_stall, b_valid, "s_axi_bvalid_held")
        check(was_up & b_stall, dut.s_axi_bresp == bresp_prev, "s_axi_bresp_stable")
        check(was_up & r_stall, dut.s_axi_rvalid, "s_axi_rvalid_held")
        check(was_up & r_stall, r_data == rdata_prev, "s_axi_rdata_stable")
        check(was_up & r_stall, dut.s_axi_rresp == rresp_prev, "s_axi_rresp_stable")
        assert tuple(self.properties) == PROPERTIES
        return m
