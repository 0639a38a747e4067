"""The tile's shape, job-packet format and error codes: defined here once, exported in the manifest.

Plain Python, no Amaranth: the RTL builds from these values, `zynpu hw manifest` exports them, and the
host reads the exported manifest. Nothing else restates them.

Why these defaults (the roofline of batch-1 decode):
- Decode is a GEMV: every weight byte is used once per token, so the tile must eat one full weight
  beat per cycle. A Zynq HP port is 128 bits wide, so a beat is 16 bytes and the tile has `lanes = 16`
  int8 lanes: 16 MACs per row per cycle consume exactly one beat.
- Prefill is a GEMM: each weight beat is reused by `rows` token rows, handed row to row through
  registers (the systolic part). `rows = 8` gives 128 MACs/cycle (38 GMAC/s at 300 MHz) for 64
  DSP48E2 when two int8 products share a DSP (WP486): 18% of the smallest target (XCZU3EG, 360).
- `max_k = 8192` covers the hidden and FFN widths of 0.5-4B-class models in one job; each row keeps
  its activations on chip (`max_k` bytes a row) because every weight block revisits them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

RTL_VERSION = (0, 3, 0)

# AXI4-Lite: 32-bit data, a 4 KiB window (the smallest range Vivado's address editor assigns).
AXIL_DATA_BITS = 32
AXIL_ADDR_BITS = 12

# 'Z','N','P','U' read as a big-endian word: what the ID register returns.
ID_MAGIC = 0x5A4E5055
# First two bytes of every job header, little-endian 'Z','N'.
HEADER_MAGIC = 0x4E5A
HEADER_FORMAT = 2
HEADER_BYTES = 16
# First word of the one-beat error packet, little-endian "ZERR".
ERROR_MAGIC = 0x5252455A
# Largest N of one job: the block counter's width.
MAX_N = (1 << 24) - 1
# Result beats per token row per weight block: `lanes` int32 results are 4 * lanes bytes, four beats.
OUTPUT_BEATS_PER_ROW = 4


class WeightFormat(enum.IntEnum):
    """The header's `weights` field: how a job's weight blocks are coded.

    INT8: one int8 weight per lane per beat, K beats per block.
    INT4: two int4 weights per lane per beat (32 per 128-bit beat at 16 lanes), two's complement, the
    even k in the low nibble; every group of `INT4_GROUP` k values is preceded by one scale beat holding
    one unsigned 8-bit integer scale per lane (column). The tile computes exactly
    Y[m, n] = sum_g scale[n, g] * sum_{k in group g} X[m, k] * W[n, k] in integers.
    """

    INT8 = 0
    INT4 = 1


# K values per int4 scale. One scale beat per group of INT4_GROUP / 2 weight beats: 64 -> 1 beat in 33,
# so scales cost 3.0 % of the stream (decode efficiency 0.97), and with unsigned 8-bit scales the largest
# |sum| over max_k = 8192 is 128 groups * 64 * 128 * 8 * 255 = 2,139,095,040 < 2**31: no int32 overflow
# (checked for every build by `TileConfig.accumulator_bound`).
INT4_GROUP = 64
INT4_SCALE_BITS = 8  # unsigned
INT4_PER_LANE = 2  # int4 weights per lane per beat


class Feature(enum.IntFlag):
    """Feature bits of the CONFIG register."""

    ERROR_PACKET = 1 << 0  # a failed job ends its output packet with one error beat
    SOFT_RESET = 1 << 1  # CONTROL.SOFT_RESET returns a busy tile to idle


FEATURES = Feature.ERROR_PACKET | Feature.SOFT_RESET


class ErrorCode(enum.IntEnum):
    """Sticky error code in STATUS and in the error beat; the tile accepts the next job after any."""

    NONE = 0
    BAD_HEADER = 1  # wrong magic, format or non-zero reserved bits in the header beat
    BAD_SHAPE = 2  # M not in 1..rows, K not in 1..max_k, or N not in 1..MAX_N
    EARLY_LAST = 3  # TLAST before the last beat the header implies
    MISSING_LAST = 4  # no TLAST on the last beat the header implies; the rest is drained
    BAD_KEEP = 5  # a beat with TKEEP not all ones


@dataclass(frozen=True)
class HeaderField:
    name: str
    offset: int  # byte offset in the header beat
    size: int  # bytes, little-endian
    doc: str


# The header occupies the first HEADER_BYTES bytes of the first beat; further bytes of that beat must be 0.
HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("magic", 0, 2, f"0x{HEADER_MAGIC:04X}"),
    HeaderField("format", 2, 1, f"packet format, {HEADER_FORMAT}"),
    HeaderField("flags", 3, 1, "reserved, 0"),
    HeaderField("m", 4, 2, "token rows in this job, 1..rows"),
    HeaderField("weights", 6, 1, "weight format: 0 = int8, 1 = int4 with group scales (spec.WeightFormat)"),
    HeaderField("reserved", 7, 1, "0"),
    HeaderField("k", 8, 4, "reduction length, 1..max_k"),
    HeaderField("n", 12, 4, "output columns, 1..MAX_N"),
)


@dataclass(frozen=True)
class TileConfig:
    """The parameters of one tile build; every other number derives from these."""

    rows: int = 8
    lanes: int = 16
    max_k: int = 8192

    def __post_init__(self) -> None:
        if not 1 <= self.rows <= 64:
            raise ValueError(f"rows must be 1..64, not {self.rows}")
        if self.lanes not in (16, 32, 64):
            raise ValueError(
                f"lanes must be 16, 32 or 64 (the stream carries the header in one beat), not {self.lanes}"
            )
        if self.max_k < max(self.lanes, INT4_GROUP) or self.max_k & (self.max_k - 1):
            raise ValueError(
                f"max_k must be a power of two >= lanes and >= the int4 group {INT4_GROUP}, not {self.max_k}"
            )
        if self.accumulator_bound() >= 1 << (self.acc_bits - 1):
            raise ValueError(f"max_k={self.max_k} could overflow the {self.acc_bits}-bit accumulators")

    def accumulator_bound(self) -> int:
        """Largest |Y| any job can produce, over both weight formats: must stay below 2**(acc_bits-1).

        int8: K * 128 * 128. int4: per group G * 128 * 8 (x = -128 times w = -8), times the largest
        scale, times the number of groups.
        """
        int8 = self.max_k * 128 * 128
        groups = -(-self.max_k // INT4_GROUP)
        int4 = groups * INT4_GROUP * 128 * 8 * ((1 << INT4_SCALE_BITS) - 1)
        return max(int8, int4)

    @property
    def stream_bytes(self) -> int:
        """Bytes per AXI4-Stream beat: one int8 weight per lane."""
        return self.lanes

    @property
    def stream_bits(self) -> int:
        return 8 * self.lanes

    @property
    def acc_bits(self) -> int:
        return 32

    @property
    def act_words(self) -> int:
        """Depth of each row's activation memory, in beats."""
        return self.max_k // self.lanes

    @property
    def row_bits(self) -> int:
        """Bits of a row index."""
        return max(1, (self.rows - 1).bit_length())

    @property
    def beats_per_row(self) -> int:
        """Output beats per token row per block (the lanes' int32 results)."""
        return OUTPUT_BEATS_PER_ROW

    @property
    def k_bits(self) -> int:
        """Bits of K (up to max_k inclusive)."""
        return self.max_k.bit_length()

    @property
    def word_bits(self) -> int:
        """Bits of an activation memory address."""
        return max(1, (self.act_words - 1).bit_length())


DEFAULT_CONFIG = TileConfig()
