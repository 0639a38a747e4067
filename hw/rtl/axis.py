"""The payload an AXI4-Stream beat carries inside the tile (TDATA, TLAST, TKEEP)."""

from __future__ import annotations

from amaranth.lib import data, stream


def axis_layout(lanes: int) -> data.StructLayout:
    return data.StructLayout({"data": 8 * lanes, "last": 1, "keep": lanes})


def axis_signature(lanes: int) -> stream.Signature:
    return stream.Signature(axis_layout(lanes))
