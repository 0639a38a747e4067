"""The `make synth` report parser, on a Yosys `stat` excerpt (the synthesis itself takes minutes)."""

from __future__ import annotations

import pytest

from zynpu.hw.synth import PARTS, count_cells

STAT = """
=== zynpu_tile ===

    20433 wires
    20680 cells
        6   $scopeinfo
     1127   CARRY4
      128   DSP48E2
     9844   FDRE
       12   FDSE
      357   LUT2
     4250   LUT3
     2096   LUT6
       40   SRL16E
       16   RAMB36E2
        3   RAMB18E2
        2   URAM288
"""


def test_counts_luts_flip_flops_dsps_and_block_rams() -> None:
    got = count_cells(STAT)
    assert got["lut"] == 357 + 4250 + 2096 + 40  # shift-register LUTs are LUTs too
    assert got["ff"] == 9844 + 12
    assert got["dsp48e2"] == 128
    assert got["bram36"] == pytest.approx(16 + 3 / 2)  # two RAMB18 make one RAMB36 site
    assert got["uram"] == 2
    assert "wires" not in got["cells"] and got["cells"]["CARRY4"] == 1127


def test_part_capacities_are_the_published_ones() -> None:
    assert PARTS["XCK26 (Kria KV260)"]["dsp48e2"] == 1248
    assert PARTS["XCZU3EG (Ultra96-V2)"]["uram"] == 0
