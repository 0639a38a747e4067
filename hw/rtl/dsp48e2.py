"""A row of multiply-accumulate slices P = (load ? 0 : P) + A * B: DSP48E2 primitives or their model.

WHY a hand-placed primitive: Yosys (0.23 and 0.70 alike) maps a product onto a DSP48E2 but leaves every
pipeline register and the accumulator adder in the fabric for UltraScale+, whatever the RTL looks
like; a 32-bit accumulate in LUTs and CARRY8s is five logic levels, too many for 300 MHz. With
`primitive=True` each slice is an explicit DSP48E2 (UltraScale Architecture DSP Slice, UG579) with
AREG = BREG = MREG = PREG = 1 and OPMODEREG = 1, so `make synth` and Vivado see the registers in the
slice. With `primitive=False` the same cycle behaviour is modelled in plain logic for Verilator,
Icarus and the formal proof, which have no DSP48E2.

The features used, and what the model implements of each (UG579, DSP48E2 attributes and ports):
- A port (30 bits, `a` sign-extended), one A register (AREG = 1, clock enable CEA2 = `ce_ab`);
- B port (18 bits, `b` sign-extended), one B register (BREG = 1, CEB2 = `ce_ab`);
- INMODE = 0 (multiplier takes A2 and B2, no pre-adder), USE_MULT = MULTIPLY: M = A2 * B2, registered
  (MREG = 1, CEM = `ce_m`);
- OPMODE: X = Y = M (01, 01), W = 0, Z = P (010) to accumulate or 0 (000) to load; registered
  (OPMODEREG = 1, CECTRL = `ce_m`: the flag travels with the product into the M register);
- ALUMODE = 0 (Z + W + X + Y + CIN), CARRYIN = 0: P = Z + M, registered (PREG = 1, CEP = `ce_p`).
- RSTP = `rst_p`: clears P (synchronous, with priority over CEP); RSTCTRL = the domain's reset
  (clears the OPMODE register). The other resets are tied off: no other register here is read
  before a valid beat writes it.

The model keeps the low `p_bits` bits of P (the slice's P is 48 bits; the low bits of a sum do not
depend on the high ones), and one A register for the row: every slice's A register takes the same
input under the same enable, so they always hold the same value.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

A_PORT_BITS = 30
B_PORT_BITS = 18
P_PORT_BITS = 48
# OPMODE = W(8:7) Z(6:4) Y(3:2) X(1:0): X = Y = M (both halves of the multiplier's partial products).
OPMODE_ACCUMULATE = 0b00_010_01_01  # P = P + M
OPMODE_LOAD = 0b00_000_01_01  # P = M
# The DSP48E2 attributes of every slice here (the rest keep their documented defaults).
ATTRIBUTES = {
    "AREG": 1,
    "ACASCREG": 1,
    "BREG": 1,
    "BCASCREG": 1,
    "MREG": 1,
    "PREG": 1,
    "OPMODEREG": 1,
    "CARRYINSELREG": 1,
    "INMODEREG": 0,
    "ALUMODEREG": 0,
    "CARRYINREG": 0,
    "USE_MULT": "MULTIPLY",
    "AMULTSEL": "A",
    "BMULTSEL": "B",
    "USE_SIMD": "ONE48",
}


class MacDspRow(wiring.Component):
    """`count` slices sharing the A operand and every control; slice i multiplies `a` by `b[i]`."""

    def __init__(self, count: int, a_bits: int, b_bits: int, p_bits: int, *, primitive: bool) -> None:
        assert a_bits <= 27 and b_bits <= B_PORT_BITS and p_bits <= P_PORT_BITS
        self.count, self.a_bits, self.b_bits, self.p_bits = count, a_bits, b_bits, p_bits
        self.primitive = primitive
        super().__init__(
            {
                "a": In(signed(a_bits)),
                "b": In(count * b_bits),  # slice i's operand in bits [i * b_bits, (i + 1) * b_bits)
                "ce_ab": In(1),  # load the A and B registers
                "ce_m": In(1),  # load the M register (and the OPMODE register with `load`)
                "load": In(1),  # with ce_m: this product starts a new sum when it reaches P
                "ce_p": In(1),  # load the P register
                "rst_p": In(1),  # clear the P register (never together with ce_p here)
                "p": Out(count * p_bits),  # slice i's P[p_bits - 1:0]
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        if self.primitive:
            self._instances(m)
        else:
            self._model(m)
        return m

    def _operand(self, i: int):
        return self.b.word_select(i, self.b_bits).as_signed()

    def _instances(self, m: Module) -> None:
        opmode = Mux(self.load, Const(OPMODE_LOAD, 9), Const(OPMODE_ACCUMULATE, 9))
        a_port = self.a
        a_port = Cat(a_port, a_port[-1].replicate(A_PORT_BITS - self.a_bits))
        for i in range(self.count):
            b = self._operand(i)
            p = Signal(P_PORT_BITS, name=f"p{i}")
            params = {f"p_{k}": v for k, v in ATTRIBUTES.items()}
            zero_ports = {
                "i_ACIN": Const(0, A_PORT_BITS),
                "i_BCIN": Const(0, B_PORT_BITS),
                "i_PCIN": Const(0, P_PORT_BITS),
                "i_C": Const(0, P_PORT_BITS),
                "i_D": Const(0, 27),
                "i_ALUMODE": Const(0, 4),
                "i_INMODE": Const(0, 5),
                "i_CARRYINSEL": Const(0, 3),
            }
            for port in ("CARRYIN", "CARRYCASCIN", "MULTSIGNIN", "CEA1", "CEB1", "CEAD", "CEALUMODE",
                         "CEC", "CECARRYIN", "CED", "CEINMODE", "RSTA", "RSTALLCARRYIN", "RSTALUMODE",
                         "RSTB", "RSTC", "RSTD", "RSTINMODE", "RSTM"):  # fmt: skip
                zero_ports[f"i_{port}"] = Const(0, 1)
            m.submodules[f"dsp{i}"] = Instance(
                "DSP48E2",
                **params,
                **zero_ports,
                i_CLK=ClockSignal("sync"),
                i_A=a_port,
                i_B=Cat(b, b[-1].replicate(B_PORT_BITS - self.b_bits)),
                i_CEA2=self.ce_ab,
                i_CEB2=self.ce_ab,
                i_CEM=self.ce_m,
                i_CECTRL=self.ce_m,
                i_CEP=self.ce_p,
                i_RSTP=self.rst_p,
                i_RSTCTRL=ResetSignal("sync"),
                i_OPMODE=opmode,
                o_P=p,
            )
            m.d.comb += self.p.word_select(i, self.p_bits).eq(p[: self.p_bits])

    def _model(self, m: Module) -> None:
        # Datapath registers carry no reset, like the slice's with its resets tied off.
        a2 = Signal(signed(self.a_bits), name="a2", reset_less=True)
        load = Signal(name="opmode_load")  # the OPMODE register's Z select; reset like RSTCTRL
        with m.If(self.ce_ab):
            m.d.sync += a2.eq(self.a)
        with m.If(self.ce_m):
            m.d.sync += load.eq(self.load)
        # P as one register for the row (a lane per word): the simulator then copies the row once per
        # clock edge, not once per slice.
        p_row = Signal(self.count * self.p_bits, name="p_row", reset_less=True)
        m.d.comb += self.p.eq(p_row)
        for i in range(self.count):
            b2 = Signal(signed(self.b_bits), name=f"b2_{i}", reset_less=True)
            mreg = Signal(signed(self.a_bits + self.b_bits), name=f"m{i}", reset_less=True)
            p_word = p_row.word_select(i, self.p_bits)
            with m.If(self.ce_ab):
                m.d.sync += b2.eq(self._operand(i))
            with m.If(self.ce_m):
                m.d.sync += mreg.eq(a2 * b2)
            with m.If(self.ce_p):
                m.d.sync += p_word.eq(Mux(load, 0, p_word.as_signed()) + mreg)
        with m.If(self.rst_p):  # RSTP: synchronous, over CEP (UG579)
            m.d.sync += p_row.eq(0)
