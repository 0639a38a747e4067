"""Signatures shared by the tile's components: AXI4-Stream beats, the parser -> array feed, the
error handshake, the array's weight input and the register bus."""

from __future__ import annotations

import types

from amaranth.hdl import signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib import enum as hdl_enum
from amaranth.lib.wiring import In, Out

from .. import regmap, spec


def _error_code_enum() -> type[hdl_enum.Enum]:
    """spec.ErrorCode as an Amaranth enum as wide as STATUS.ERROR: the codes are written once, in spec
    (plain Python, what the manifest exports), and every RTL signal that carries one is typed by it."""

    def members(namespace: dict) -> None:
        for code in spec.ErrorCode:
            namespace[code.name] = code.value

    width = regmap.field("STATUS", "ERROR").width
    return types.new_class("ErrorCode", (hdl_enum.Enum,), {"shape": unsigned(width)}, members)


ErrorCode = _error_code_enum()

# Pre-scaled weight of one product: int8 (-128..127) or int4 * uint8 scale (-2040..1785).
WEIGHT_BITS = 12
assert -(1 << (WEIGHT_BITS - 1)) <= -8 * ((1 << spec.INT4_SCALE_BITS) - 1)


def axis_layout(lanes: int) -> data.StructLayout:
    return data.StructLayout({"data": 8 * lanes, "last": 1, "keep": lanes})


def axis_signature(lanes: int) -> stream.Signature:
    return stream.Signature(axis_layout(lanes))


def array_feed_signature(config: spec.TileConfig) -> wiring.Signature:
    """What the parser drives (registered) towards the MAC array: activation writes and weight beats."""
    lanes = config.lanes
    return wiring.Signature(
        {
            # Activation memory write port: row select, word address, one beat of bytes.
            "act_we": Out(1),
            "act_row": Out(config.row_bits),
            "act_addr": Out(config.word_bits),
            "act_data": Out(8 * lanes),
            # One weight (or int4 scale) beat and where it sits in its block.
            "push_valid": Out(1),  # a weight beat: it enters the array
            "push_scale": Out(1),  # an int4 scale beat: the unpacker keeps it
            "push_data": Out(8 * lanes),
            "push_k": Out(config.k_bits),  # index of the beat's first k (int4: even)
            "push_first": Out(1),
            "push_last": Out(1),
            "int4": Out(1),  # the job's weights are int4 (spec.WeightFormat.INT4)
            # M - 1 of the job in flight: beats stop at this row, the drain waits for it.
            "last_row": Out(config.row_bits),
        }
    )


def array_beat_signature(config: spec.TileConfig) -> wiring.Signature:
    """A pre-scaled weight beat entering row 0: two products per lane (`a` at k, `b` at k + 1).

    `lead_*` announce the beat one cycle early, so each row can read its activation word in time for
    a registered memory output.
    """
    lanes = config.lanes
    return wiring.Signature(
        {
            "lead_valid": Out(1),
            "lead_k": Out(config.k_bits),
            "valid": Out(1),
            "a": Out(data.ArrayLayout(signed(WEIGHT_BITS), lanes)),
            "b": Out(data.ArrayLayout(signed(WEIGHT_BITS), lanes)),
            "first": Out(1),
            "last": Out(1),
        }
    )


def error_signature() -> stream.Signature:
    """Parser -> drain: one error beat to send (code, index of the input beat that raised it)."""
    return stream.Signature(data.StructLayout({"code": ErrorCode, "index": 32}))


def block_signature() -> stream.Signature:
    """Drain -> parser: a weight block's results have all been sent (`final`: it was the job's last)."""
    return stream.Signature(data.StructLayout({"final": 1}))


def register_bus_signature(addr_bits: int, data_bits: int) -> wiring.Signature:
    """Single-cycle register access from the AXI4-Lite slave (`wr_en` pulses; reads are combinational)."""
    return wiring.Signature(
        {
            "wr_en": Out(1),
            "wr_addr": Out(addr_bits),
            "wr_data": Out(data_bits),
            "wr_strb": Out(data_bits // 8),
            "wr_ok": In(1),  # the address is a writable register
            "rd_addr": Out(addr_bits),
            "rd_data": In(data_bits),
            "rd_ok": In(1),  # the address is a register
        }
    )
