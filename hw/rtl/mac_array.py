"""The systolic array: `rows` x `lanes` x 2 MACs (8-bit activations, 12-bit pre-scaled weights).

Weight beats enter row 0 and move one row down per cycle through registers (no wide broadcast), so
one streamed beat feeds `rows` token rows. Each row keeps its own activations in a memory of
`max_k` bytes, as wide as a stream beat (the parser fills it at stream rate). A lane computes two
products per beat: `a` (weight at k, activation x[k]) and `b` (weight at k + 1, x[k + 1]; zero for
int8), each in its own accumulator; the block's result is their sum.

Every product is one DSP48E2 with all its pipeline registers (WHY: 300 MHz needs them), written
out as a primitive for synthesis and modelled for simulation (`dsp48e2.MacDspRow`):
- the activation memory's read address is registered (the beat's k arrives one cycle ahead, on the
  `lead` chain) and so is its output word (BRAM output register);
- the byte select feeds the A register, a private copy of the beat's weight the B register;
- the product is registered (MREG), the accumulator is the P register (first beat: OPMODE loads,
  else adds), so no adder of the MAC is in the fabric.

Timing of a beat that sits in row r's chain register at cycle t: A/B registers at t+1, product at
t+2, accumulators at t+3 (last beat: `committed` at t+3), the low half of their sum at t+4
(`summed`), result registers at t+5.

On the last beat of a block a row's sums move into its result registers. The drain reads row 0 only,
beat by beat, and shifts the rows up after each row: a shift register in place of a wide
`rows * beats`-way multiplexer.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from .axis import WEIGHT_BITS, array_beat_signature, array_feed_signature
from .dsp48e2 import MacDspRow

HALF = 16  # the accumulators' sum is added in two halves


class MacArray(wiring.Component):
    def __init__(self, config: spec.TileConfig, *, primitives: bool = False) -> None:
        self.config = config
        self.primitives = primitives  # DSP48E2 instances (synthesis, Vivado) or their model (simulation)
        lanes = config.lanes
        super().__init__(
            {
                "feed": In(array_feed_signature(config)),  # activation writes and last_row only
                "beat": In(array_beat_signature(config)),
                "commit": Out(config.rows),  # per row: its results for a block were just written
                "sel_beat": In(range(config.beats_per_row)),
                "shift_rows": In(1),  # the drain sent row 0: move every row's results up by one
                "result_beat": Out(8 * lanes),
                "idle": Out(1),  # no beat anywhere in the array
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self.config
        lanes = cfg.lanes
        shift = (lanes - 1).bit_length()
        acc_bits = cfg.acc_bits
        beat = self.beat
        # Datapath registers carry no reset (only the valid bits do): nothing reads them before a valid
        # beat or a commit writes them, and a reset on thousands of bits costs routing on the FPGA and
        # evaluation time in the simulator.
        results = [
            [Signal(signed(acc_bits), name=f"y{r}_{lane}", reset_less=True) for lane in range(lanes)]
            for r in range(cfg.rows)
        ]
        busy = [beat.lead_valid, beat.valid]

        prev_lead_valid, prev_lead_k = beat.lead_valid, beat.lead_k
        prev = (beat.valid, beat.a, beat.b, beat.first, beat.last)
        for r in range(cfg.rows):
            act = memory.Memory(shape=unsigned(8 * lanes), depth=cfg.act_words, init=[])
            m.submodules[f"act{r}"] = act
            wr = act.write_port()
            rd = act.read_port()
            m.d.comb += [
                wr.en.eq(self.feed.act_we & (self.feed.act_row == r)),
                wr.addr.eq(self.feed.act_addr),
                wr.data.eq(self.feed.act_data),
            ]
            # A beat goes no further than the job's last token row. Beyond it, a beat of a job with few
            # rows would still be in flight when the next job (with more rows) has started, and would
            # commit stale sums into that job's results.
            in_job = (self.feed.last_row >= r) if r else Const(1)  # row 0 takes every beat
            # The lead chain: the k of the beat that reaches this row's chain register next cycle.
            lead_valid = Signal(name=f"row{r}_lead_valid")
            lead_k = Signal(cfg.k_bits, name=f"row{r}_lead_k", reset_less=True)
            m.d.sync += lead_valid.eq(prev_lead_valid & in_job)
            # Datapath registers load only when their stage holds a beat (clock enables): an idle row
            # costs the FPGA no toggling and the simulator a branch.
            with m.If(prev_lead_valid & in_job):
                m.d.sync += lead_k.eq(prev_lead_k)
            # The read port reads only for a beat this row takes (BRAM enable): idle rows do not toggle.
            m.d.comb += [rd.addr.eq(prev_lead_k >> shift), rd.en.eq(prev_lead_valid & in_job)]
            word = Signal(8 * lanes, name=f"row{r}_xword", reset_less=True)  # memory output register
            pick = Signal(shift, name=f"row{r}_pick", reset_less=True)
            with m.If(lead_valid):
                m.d.sync += [word.eq(rd.data), pick.eq(lead_k[:shift])]

            # The chain register: what moves on to the next row.
            valid = Signal(name=f"row{r}_valid")
            wa = Signal.like(beat.a.as_value(), name=f"row{r}_wa", reset_less=True)
            wb = Signal.like(beat.b.as_value(), name=f"row{r}_wb", reset_less=True)
            first = Signal(name=f"row{r}_first", reset_less=True)
            last = Signal(name=f"row{r}_last", reset_less=True)
            p_valid, p_a, p_b, p_first, p_last = prev
            m.d.sync += valid.eq(p_valid & in_job)
            int4 = self.feed.int4  # the job's format: constant while its beats are in flight
            with m.If(p_valid & in_job):
                m.d.sync += [wa.eq(p_a), first.eq(p_first), last.eq(p_last)]
            with m.If(p_valid & in_job & int4):
                m.d.sync += wb.eq(p_b)
            busy += [lead_valid, valid]

            # The DSP slices' operands: the activation byte (A), each lane's weight (B). Their A/B
            # registers load one cycle after the chain register, M a cycle later, P (the accumulator)
            # a cycle after that.
            c2 = Signal(name=f"row{r}_v2")
            c2_first = Signal(name=f"row{r}_first2", reset_less=True)
            c2_last = Signal(name=f"row{r}_last2", reset_less=True)
            c3 = Signal(name=f"row{r}_v3")
            c3_last = Signal(name=f"row{r}_last3", reset_less=True)
            m.d.sync += [c2.eq(valid), c2_first.eq(first), c2_last.eq(last)]
            m.d.sync += [c3.eq(c2), c3_last.eq(c2_last)]
            busy += [c2, c3]
            committed = Signal(name=f"row{r}_committed")
            summed = Signal(name=f"row{r}_summed")
            m.d.sync += [committed.eq(c3 & c3_last), summed.eq(committed)]
            # The `b` products (k + 1) only exist for int4: an int8 job leaves their slices idle, which
            # halves the simulator's work per int8 beat, and holds their accumulators at zero (RSTP), so
            # the sum of both needs no multiplexer on the format.
            dsps = {}
            for name, w, used in (("a", wa, 1), ("b", wb, int4)):
                row = MacDspRow(lanes, 8, WEIGHT_BITS, acc_bits, primitive=self.primitives)
                m.submodules[f"row{r}_dsp_{name}"] = dsps[name] = row
                pick_at = pick if name == "a" else (pick + 1)[:shift]
                m.d.comb += [
                    row.a.eq(word.word_select(pick_at, 8)),
                    row.b.eq(w),
                    row.ce_ab.eq(valid & used),
                    row.ce_m.eq(c2 & used),
                    row.load.eq(c2_first),
                    row.ce_p.eq(c3 & used),
                    row.rst_p.eq(c3 & ~used),
                ]
            for lane in range(lanes):
                sums = [dsps[name].p.word_select(lane, acc_bits).as_signed() for name in ("a", "b")]
                # The two accumulators' sum in two 16-bit steps (a 32-bit add is 5 logic levels).
                lo = Signal(HALF + 1, name=f"row{r}_{lane}_lo", reset_less=True)
                hi_a = Signal(signed(acc_bits - HALF), name=f"row{r}_{lane}_hia", reset_less=True)
                hi_b = Signal(signed(acc_bits - HALF), name=f"row{r}_{lane}_hib", reset_less=True)
                with m.If(committed):
                    m.d.sync += [
                        lo.eq(sums[0][:HALF] + sums[1][:HALF]),
                        hi_a.eq(sums[0][HALF:]),
                        hi_b.eq(sums[1][HALF:]),
                    ]
                with m.If(summed):
                    m.d.sync += results[r][lane].eq(Cat(lo[:HALF], hi_a + hi_b + lo[HALF]))
            m.d.comb += self.commit[r].eq(summed)
            prev_lead_valid, prev_lead_k = lead_valid, lead_k
            prev = (valid, wa, wb, first, last)

        beats = cfg.beats_per_row
        per_beat = lanes // beats
        with m.Switch(self.sel_beat):
            for b in range(beats):
                with m.Case(b):
                    for i, word in enumerate(results[0][b * per_beat : (b + 1) * per_beat]):
                        m.d.comb += self.result_beat.word_select(i, acc_bits).eq(word)
        with m.If(self.shift_rows):
            for r in range(cfg.rows - 1):
                for lane in range(lanes):
                    m.d.sync += results[r][lane].eq(results[r + 1][lane])
        m.d.comb += self.idle.eq(~Cat(busy).any())
        return m
