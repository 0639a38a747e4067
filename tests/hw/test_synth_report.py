"""The `make synth` report parser, on a Yosys `stat` excerpt (the synthesis itself takes minutes)."""

from __future__ import annotations

import pytest

from zynpu.hw.netlist_levels import dsp_registers, logic_levels
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


def _cell(kind: str, inputs: dict[str, list[int]], outputs: dict[str, list[int]], **params: str) -> dict:
    return {
        "type": kind,
        "parameters": params,
        "port_directions": {**dict.fromkeys(inputs, "input"), **dict.fromkeys(outputs, "output")},
        "connections": {**inputs, **outputs},
    }


def _netlist() -> dict:
    """in -> ff1 -> LUT -> CARRY8 -> CARRY8 -> ff2; ff2 -> LUT -> DSP; port -> LUT -> LUT -> ff1."""
    cells = {
        "ff1": _cell("FDRE", {"D": [11], "C": [2]}, {"Q": [20]}),
        "lut_a": _cell("LUT2", {"I0": [20], "I1": [20]}, {"O": [21]}),
        "carry0": _cell("CARRY8", {"S": [21], "CI": ["0"]}, {"CO": [22]}),
        "carry1": _cell("CARRY8", {"S": [21], "CI": [22]}, {"O": [23]}),
        "ff2": _cell("FDRE", {"D": [23], "C": [2]}, {"Q": [24]}),
        "lut_b": _cell("LUT1", {"I0": [24]}, {"O": [25]}),
        "dsp": _cell(
            "DSP48E2", {"A": [25], "CLK": [2]}, {"P": [26]}, AREG="01", BREG="1", MREG="1", PREG="0"
        ),
        "dsp2": _cell("DSP48E2", {"A": [26]}, {"P": [27]}, AREG="1", BREG="10", MREG="1", PREG="1"),
        "in1": _cell("LUT1", {"I0": [3]}, {"O": [10]}),
        "in2": _cell("LUT1", {"I0": [10]}, {"O": [11]}),
    }
    ports = {"clk": {"direction": "input", "bits": [2]}, "din": {"direction": "input", "bits": [3]}}
    return {"modules": {"top": {"ports": ports, "cells": cells}}}


def test_logic_levels_count_each_lut_and_carry_between_registers() -> None:
    levels = logic_levels(_netlist(), "top")
    assert levels["max_reg_to_reg"] == 3  # LUT + two chained CARRY8
    assert levels["worst"][0] == {"levels": 3, "from": "ff1", "to": "ff2.D"}
    assert levels["max_from_ports"] == 2  # the port path is reported apart, not as register-to-register
    assert levels["histogram"] == {"1": 1, "3": 1} and levels["paths_over_4"] == 0


def test_dsp_registering_is_read_from_the_cell_parameters() -> None:
    dsps = dsp_registers(_netlist(), "top")
    assert dsps["total"] == 2 and dsps["fully_registered"] == 1
    assert dsps["by_registers"] == {"AREG=1,BREG=1,MREG=1,PREG=0": 1, "AREG=1,BREG=2,MREG=1,PREG=1": 1}


def test_two_chained_carry4_count_as_one_carry8_level() -> None:
    """ff -> CARRY4 -> CARRY4 -> CARRY4 -> ff: positions 0 and 2 start CARRY8 sites: two levels."""
    cells = {
        "ff1": _cell("FDRE", {"D": [30]}, {"Q": [20]}),
        "c0": _cell("CARRY4", {"S": [20], "CI": ["0"]}, {"CO": [21]}),
        "c1": _cell("CARRY4", {"S": [20], "CI": [21]}, {"CO": [22]}),
        "c2": _cell("CARRY4", {"S": [20], "CI": [22]}, {"O": [23]}),
        "ff2": _cell("FDRE", {"D": [23]}, {"Q": [30]}),
    }
    netlist = {"modules": {"top": {"ports": {}, "cells": cells}}}
    assert logic_levels(netlist, "top")["max_reg_to_reg"] == 2


def test_paths_are_named_after_the_nets_the_registers_drive() -> None:
    """Mapped flip-flops are `$auto$...` cells; the report names them by the RTL net they drive."""
    netlist = _netlist()
    netlist["modules"]["top"]["netnames"] = {
        "row0_acc": {"hide_name": 0, "bits": [20, 99]},
        "$auto$ff.cc:1$2": {"hide_name": 1, "bits": [20]},
        "row0_sum": {"hide_name": 0, "bits": [23]},
        "row0_out": {"hide_name": 0, "bits": [24]},
    }
    worst = logic_levels(netlist, "top")["worst"][0]
    assert worst == {"levels": 3, "from": "row0_acc[0]", "to": "row0_out .D"}


def test_dsp_registering_counts_the_requested_primitive() -> None:
    netlist = _netlist()
    netlist["modules"]["top"]["cells"]["e1"] = _cell("DSP48E1", {"A": [1]}, {"P": [2]}, AREG="1", MREG="1")
    e1 = dsp_registers(netlist, "top", "DSP48E1")
    assert e1["total"] == 1 and e1["fully_registered"] == 1  # BREG, PREG default to 1, as in the cell model
    assert dsp_registers(netlist, "top")["total"] == 2


def test_an_inverter_is_no_level_and_neither_starts_nor_ends_a_path() -> None:
    """ff1 -> LUT -> INV -> LUT -> ff2 is two levels; port -> INV -> LUT -> ff3 is a port path only."""
    cells = {
        "ff1": _cell("FDRE", {"D": [40]}, {"Q": [20]}),
        "lut_a": _cell("LUT2", {"I0": [20], "I1": [20]}, {"O": [21]}),
        "inv": _cell("INV", {"I": [21]}, {"O": [22]}),
        "lut_b": _cell("LUT1", {"I0": [22]}, {"O": [23]}),
        "ff2": _cell("FDRE", {"D": [23]}, {"Q": [40]}),
        "inv_port": _cell("INV", {"I": [3]}, {"O": [30]}),
        "lut_c": _cell("LUT1", {"I0": [30]}, {"O": [31]}),
        "ff3": _cell("FDRE", {"D": [31]}, {"Q": [32]}),
    }
    ports = {"din": {"direction": "input", "bits": [3]}}
    levels = logic_levels({"modules": {"top": {"ports": ports, "cells": cells}}}, "top")
    assert levels["max_reg_to_reg"] == 2
    assert levels["histogram"] == {"2": 1}  # neither the INV's input nor ff3 ends a register path
    assert levels["worst"][0] == {"levels": 2, "from": "ff1", "to": "ff2.D"}
    assert levels["max_from_ports"] == 1
