"""Signatures shared by the tile's components: AXI4-Stream beats, and the parser -> array feed."""

from __future__ import annotations

from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import Out

from .. import spec


def axis_layout(lanes: int) -> data.StructLayout:
    return data.StructLayout({"data": 8 * lanes, "last": 1, "keep": lanes})


def axis_signature(lanes: int) -> stream.Signature:
    return stream.Signature(axis_layout(lanes))


def array_feed_signature(config: spec.TileConfig) -> wiring.Signature:
    """What the parser drives into the MAC array: activation writes, weight beats, and the job's M."""
    lanes = config.lanes
    return wiring.Signature(
        {
            # Activation memory write port: row select, word address, one beat of bytes.
            "act_we": Out(1),
            "act_row": Out(config.row_bits),
            "act_addr": Out(config.word_bits),
            "act_data": Out(8 * lanes),
            # One weight beat and where it sits in its block (k, first, last).
            "push_valid": Out(1),
            "push_data": Out(8 * lanes),
            "push_k": Out(config.k_bits),
            "push_first": Out(1),
            "push_last": Out(1),
            # M of the job in flight: beats stop at row M - 1, the drain waits for row M - 1.
            "job_rows": Out(config.row_bits + 1),
        }
    )
