"""The MAC slices: the simulation model against the DSP48E2's documented register behaviour (UG579),
and the synthesis build instantiating the primitive with every pipeline register on.

The reference below is written from the DSP48E2 description, not from `rtl.dsp48e2`: A2/B2 load under
CEA2/CEB2, M = A2 * B2 under CEM, the OPMODE register under CECTRL, P = Z + X + Y (X = Y = M, Z = P or
0 by OPMODE) under CEP, RSTP clearing P over CEP, P a 48-bit two's-complement register.
"""

from __future__ import annotations

import random
import re

import pytest

pytest.importorskip("amaranth")

from amaranth.back import verilog
from amaranth.sim import Simulator

from zynpu.hw import spec
from zynpu.hw.rtl.dsp48e2 import MacDspRow
from zynpu.hw.rtl.top import ZynpuTile

P_MASK = (1 << 48) - 1


class DocumentedSlice:
    """One DSP48E2 with AREG = BREG = MREG = PREG = OPMODEREG = 1, INMODE = 0, ALUMODE = 0."""

    def __init__(self) -> None:
        self.a2 = self.b2 = self.m = self.p = 0
        self.z_is_p = False  # OPMODE register's Z field: 010 (P) or 000 (0)

    def clock(self, a: int, b: int, ce_ab: bool, ce_m: bool, load: bool, ce_p: bool, rst_p: bool) -> None:
        z = self.p if self.z_is_p else 0
        p = 0 if rst_p else ((z + self.m) & P_MASK if ce_p else self.p)
        m = self.a2 * self.b2 if ce_m else self.m
        z_is_p = (not load) if ce_m else self.z_is_p
        if ce_ab:
            self.a2, self.b2 = a, b
        self.m, self.p, self.z_is_p = m, p, z_is_p


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def test_model_matches_the_documented_slice_cycle_by_cycle() -> None:
    count, a_bits, b_bits, p_bits = 3, 8, 12, 32
    dut = MacDspRow(count, a_bits, b_bits, p_bits, primitive=False)
    ref = [DocumentedSlice() for _ in range(count)]
    rng = random.Random(7)
    mismatches: list[str] = []

    async def bench(ctx) -> None:
        for cycle in range(600):
            a = rng.randrange(-(1 << (a_bits - 1)), 1 << (a_bits - 1))
            bs = [rng.randrange(-(1 << (b_bits - 1)), 1 << (b_bits - 1)) for _ in range(count)]
            ce_ab, ce_m, load = rng.random() < 0.7, rng.random() < 0.7, rng.random() < 0.2
            ce_p = rng.random() < 0.7
            rst_p = not ce_p and rng.random() < 0.05  # the tile never raises both
            ctx.set(dut.a, a)
            ctx.set(dut.b, sum((b & ((1 << b_bits) - 1)) << (i * b_bits) for i, b in enumerate(bs)))
            for sig, value in ((dut.ce_ab, ce_ab), (dut.ce_m, ce_m), (dut.load, load), (dut.ce_p, ce_p)):
                ctx.set(sig, value)
            ctx.set(dut.rst_p, rst_p)
            await ctx.tick()
            for i, s in enumerate(ref):
                s.clock(a, bs[i], ce_ab, ce_m, load, ce_p, rst_p)
            got = ctx.get(dut.p)
            for i, s in enumerate(ref):
                word = _signed(got >> (i * p_bits), p_bits)
                want = _signed(s.p, p_bits)
                if word != want:
                    mismatches.append(f"cycle {cycle} slice {i}: model {word}, DSP48E2 {want}")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert not mismatches, mismatches[:5]
    # The sequence really accumulated: some P left the 8 x 12-bit product range.
    assert any(abs(_signed(s.p, 48)) > 1 << 19 for s in ref)


def test_synthesis_build_instantiates_fully_registered_slices_and_simulation_build_none() -> None:
    config = spec.TileConfig(rows=2, lanes=16, max_k=256)
    text = verilog.convert(ZynpuTile(config, primitives=True), name="zynpu_tile", emit_src=False)
    instances = re.findall(r"DSP48E2 #\((.*?)\)\s*\w+\s*\(", text, flags=re.S)
    assert len(instances) == 2 * config.rows * config.lanes  # products a and b per lane per row
    for params in instances:
        for reg in ("AREG", "BREG", "MREG", "PREG"):
            assert re.search(rf"\.{reg}\(32'd1\)", params), reg
    sim_text = verilog.convert(ZynpuTile(config), name="zynpu_tile", emit_src=False)
    assert "DSP48E2" not in sim_text


def test_hw_verilog_writes_primitives_for_vivado_and_the_model_on_request(tmp_path) -> None:
    from zynpu.cli import main

    prim, model = tmp_path / "vivado.v", tmp_path / "model.v"
    small = ["hw", "verilog", "--rows", "1", "--max-k", "256"]
    assert main([*small, "-o", str(prim)]) == 0
    assert main([*small, "--dsp-model", "-o", str(model)]) == 0
    assert prim.read_text().count("DSP48E2 #(") == 2 * 16  # one row, two products per lane
    assert "DSP48E2" not in model.read_text()
