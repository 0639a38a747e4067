"""The systolic array: `rows` x `lanes` int8 MACs with int32 accumulators.

Weight beats enter row 0 and move one row down per cycle through registers (no wide broadcast), so
one streamed beat feeds `rows` token rows. Each row keeps its own activations in a memory of
`max_k` bytes and multiplies the one activation byte `x[k]` with the `lanes` weights `W[n, k]` of the
beat it holds (the activation is the operand two DSP-packed products share). The memory is as wide as
a stream beat, so the parser fills it at stream rate; a row reads the word holding `x[k]` one cycle
ahead and selects the byte with a `lanes`-way multiplexer.

On the last beat of a block (k = K - 1) a row's sums move into its result registers. The drain reads
row 0 only, beat by beat, and shifts the rows up after each row: a shift register in place of a wide
`rows * 4`-way multiplexer.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .. import spec
from .axis import array_feed_signature


class MacArray(wiring.Component):
    def __init__(self, config: spec.TileConfig) -> None:
        self.config = config
        lanes = config.lanes
        self.row_bits, self.k_bits = config.row_bits, config.k_bits
        super().__init__(
            {
                "feed": In(array_feed_signature(config)),
                "commit": Out(config.rows),  # per row: its results for a block were just written
                "sel_beat": In(2),
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

        stages = [_Stage(r, lanes, self.k_bits) for r in range(cfg.rows)]
        # Datapath registers carry no reset (only the valid bits do): nothing reads them before a valid
        # beat or a commit writes them, and a reset on 256 x 32 bits costs routing on the FPGA and
        # evaluation time in the simulator.
        results = [
            [Signal(signed(acc_bits), name=f"y{r}_{lane}", reset_less=True) for lane in range(lanes)]
            for r in range(cfg.rows)
        ]
        accs = [
            [Signal(signed(acc_bits), name=f"acc{r}_{lane}", reset_less=True) for lane in range(lanes)]
            for r in range(cfg.rows)
        ]

        for r, stage in enumerate(stages):
            act = memory.Memory(shape=unsigned(8 * lanes), depth=cfg.act_words, init=[])
            m.submodules[f"act{r}"] = act
            wr = act.write_port()
            rd = act.read_port()
            m.d.comb += [
                wr.en.eq(self.feed.act_we & (self.feed.act_row == r)),
                wr.addr.eq(self.feed.act_addr),
                wr.data.eq(self.feed.act_data),
            ]
            if r == 0:
                src_valid, src_w, src_k = self.feed.push_valid, self.feed.push_data, self.feed.push_k
                src_first, src_last = self.feed.push_first, self.feed.push_last
            else:
                prev = stages[r - 1]
                src_valid, src_w, src_k, src_first, src_last = (
                    prev.valid,
                    prev.w,
                    prev.k,
                    prev.first,
                    prev.last,
                )
            # Read one cycle ahead so the word holding x[k] arrives together with the beat.
            m.d.comb += rd.addr.eq(src_k >> shift)
            # A beat goes no further than the job's last token row. Beyond it, a beat of a job with few
            # rows would still be in flight when the next job (with more rows) has started, and would
            # commit stale sums into that job's results.
            m.d.sync += [
                stage.valid.eq(src_valid & (self.feed.job_rows > r) if r else src_valid),
                stage.w.eq(src_w),
                stage.k.eq(src_k),
                stage.first.eq(src_first),
                stage.last.eq(src_last),
            ]

            x = rd.data.word_select(stage.k[:shift], 8).as_signed()
            # The block's sums are copied into the result registers the cycle after its last beat, out
            # of the accumulators (which a next block's first beat overwrites only at the end of that
            # cycle): each adder feeds one register, not two.
            committed = Signal(name=f"row{r}_committed")
            m.d.sync += committed.eq(stage.valid & stage.last)
            for lane in range(lanes):
                acc = accs[r][lane]
                product = x * stage.w.word_select(lane, 8).as_signed()
                with m.If(stage.valid):
                    m.d.sync += acc.eq(Mux(stage.first, 0, acc) + product)
                with m.If(committed):
                    m.d.sync += results[r][lane].eq(acc)
            m.d.comb += self.commit[r].eq(committed)

        per_beat = lanes // spec.OUTPUT_BEATS_PER_ROW
        with m.Switch(self.sel_beat):
            for b in range(spec.OUTPUT_BEATS_PER_ROW):
                with m.Case(b):
                    for i, word in enumerate(results[0][b * per_beat : (b + 1) * per_beat]):
                        m.d.comb += self.result_beat.word_select(i, acc_bits).eq(word)
        with m.If(self.shift_rows):
            for r in range(cfg.rows - 1):
                for lane in range(lanes):
                    m.d.sync += results[r][lane].eq(results[r + 1][lane])
        m.d.comb += self.idle.eq(~Cat(stage.valid for stage in stages).any())
        return m


class _Stage:
    """The pipeline register of one row: the weight beat it holds and where in the block it is."""

    def __init__(self, row: int, lanes: int, k_bits: int) -> None:
        self.valid = Signal(name=f"row{row}_valid")
        self.w = Signal(8 * lanes, name=f"row{row}_w", reset_less=True)
        self.k = Signal(k_bits, name=f"row{row}_k", reset_less=True)
        self.first = Signal(name=f"row{row}_first", reset_less=True)
        self.last = Signal(name=f"row{row}_last", reset_less=True)
