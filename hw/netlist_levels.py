"""Logic levels and DSP registering of a mapped Xilinx netlist (Yosys `write_json` after synth_xilinx).

WHY here and not Vivado: the project has no Vivado in CI, and what decides whether the tile can close
300 MHz is mostly structural: how many LUT/CARRY8/MUXF cells a signal crosses between two registers,
and whether each DSP48E2 uses its pipeline registers. Both are exact properties of the netlist.

A level is one combinational cell (LUT1-6, CARRY8, MUXF7-9), counted the way Vivado's timing
report counts "logic levels": each CARRY8 of a chain is one; an INV is passed through as no level
(Vivado folds it into what it drives). Yosys before 0.3x maps UltraScale+
carry chains to CARRY4 cells; two consecutive CARRY4 of a chain are one CARRY8 site, so only every
other CARRY4 of a chain counts. Paths start at a register, a DSP or RAM
output (or a top-level input port, reported apart) and end at any input of such a cell.
"""

from __future__ import annotations

import re
import sys
from typing import Any

COMBINATIONAL = re.compile(r"^(LUT[1-6]|CARRY[48]|MUXF[789]|INV)$")
# Combinational cells that are no level: Vivado folds an inverter into the LUT, CE/R pin or DSP input
# it drives. They must not end or start a path either (Yosys leaves several hundred INV cells).
ZERO_LEVEL = ("INV",)
CONSTANT = ("0", "1", "x", "z")
NONE = -(10**9)


def _module(netlist: dict[str, Any], top: str) -> dict[str, Any]:
    return netlist["modules"][top]


def _param(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text, 2) if set(text) <= {"0", "1"} else int(text)


def dsp_registers(netlist: dict[str, Any], top: str, kind: str = "DSP48E2") -> dict[str, Any]:
    """How the `kind` DSP cells are registered: counts per (AREG, BREG, MREG, PREG), and fully registered."""
    combos: dict[str, int] = {}
    full = 0
    total = 0
    for cell in _module(netlist, top)["cells"].values():
        if cell["type"] != kind:
            continue
        total += 1
        p = cell.get("parameters", {})
        regs = {name: _param(p.get(name, 1)) for name in ("AREG", "BREG", "MREG", "PREG")}
        key = ",".join(f"{k}={v}" for k, v in regs.items())
        combos[key] = combos.get(key, 0) + 1
        full += all(regs.values())
    return {"total": total, "fully_registered": full, "by_registers": combos}


def logic_levels(netlist: dict[str, Any], top: str, worst: int = 12) -> dict[str, Any]:
    """Longest register-to-register (and port-to-register) paths, in combinational cells."""
    module = _module(netlist, top)
    cells = module["cells"]
    driver: dict[int, tuple[str, bool]] = {}  # bit -> (cell name, combinational?)
    port_bits: set[int] = set()
    for port in module["ports"].values():
        if port["direction"] == "input":
            port_bits.update(b for b in port["bits"] if not isinstance(b, str))
    for name, cell in cells.items():
        comb = bool(COMBINATIONAL.match(cell["type"]))
        for pin, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(pin) == "output":
                for b in bits:
                    if not isinstance(b, str):
                        driver[b] = (name, comb)

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    memo: dict[str, tuple[int, int, str | None, str | None]] = {}

    def level(name: str) -> tuple[int, int, str | None, str | None]:
        """(levels from a register, levels from a port, register where it starts, port bit's cell)."""
        if name in memo:
            return memo[name]
        memo[name] = (NONE, NONE, None, None)  # breaks a (never expected) combinational loop
        best_reg, best_port, start = NONE, NONE, None
        cell = cells[name]
        odd_carry4 = cell["type"] == "CARRY4" and carry4_position(name) % 2
        step = 0 if cell["type"] in ZERO_LEVEL or odd_carry4 else 1
        for pin, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(pin) != "input":
                continue
            for b in bits:
                r, p, s = _source(b)
                if r > best_reg:
                    best_reg, start = r, s
                best_port = max(best_port, p)
        memo[name] = (best_reg + step, best_port + step, start, None)
        return memo[name]

    chain: dict[str, int] = {}

    def carry4_position(name: str) -> int:
        """Index of a CARRY4 in its chain (0: its CI is not driven by another CARRY4)."""
        if name not in chain:
            chain[name] = 0
            for b in cells[name]["connections"].get("CI", []):
                src = driver.get(b) if not isinstance(b, str) else None
                if src and cells[src[0]]["type"] == "CARRY4":
                    chain[name] = carry4_position(src[0]) + 1
        return chain[name]

    def _source(bit: Any) -> tuple[int, int, str | None]:
        if isinstance(bit, str) and bit in CONSTANT:
            return NONE, NONE, None
        if bit in driver:
            name, comb = driver[bit]
            if not comb:
                return 0, NONE, name
            r, p, s, _ = level(name)
            return r, p, s
        if bit in port_bits:
            return NONE, 0, None
        return NONE, NONE, None

    ends: list[tuple[int, str, str]] = []
    max_port = 0
    for name, cell in cells.items():
        if COMBINATIONAL.match(cell["type"]):
            continue
        for pin, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(pin) != "input":
                continue
            best = (NONE, None)
            for b in bits:
                r, p, s = _source(b)
                max_port = max(max_port, p)
                if r > best[0]:
                    best = (r, s)
            if best[0] > 0:
                ends.append((best[0], f"{name}.{pin}", best[1] or "?"))
    for port in module["ports"].values():
        if port["direction"] == "output":
            for b in port["bits"]:
                max_port = max(max_port, _source(b)[0], _source(b)[1])
    ends.sort(reverse=True)
    names = _register_names(module)
    return {
        "max_reg_to_reg": ends[0][0] if ends else 0,
        "max_from_ports": max_port,
        "paths_over_4": sum(1 for e in ends if e[0] > 4),
        "histogram": {str(n): sum(1 for e in ends if e[0] == n) for n in sorted({e[0] for e in ends})},
        "worst": [
            {"levels": lv, "from": names.get(start, start), "to": _pin_name(names, to)}
            for lv, to, start in ends[:worst]
        ],
    }


def _register_names(module: dict[str, Any]) -> dict[str, str]:
    """Cell name -> the design's name for what it drives (`signal[bit]`), where the netlist keeps one:
    Yosys names mapped flip-flops `$auto$...`, the nets they drive keep the RTL's names."""
    by_bit: dict[int, str] = {}
    for net, info in module.get("netnames", {}).items():
        if info.get("hide_name") or net.startswith("$"):
            continue
        for index, bit in enumerate(info["bits"]):
            label = f"{net}[{index}]" if len(info["bits"]) > 1 else net
            if not isinstance(bit, str) and (bit not in by_bit or len(label) < len(by_bit[bit])):
                by_bit[bit] = label  # the shortest name of the bit
    names = {}
    for name, cell in module["cells"].items():
        for pin, bits in cell["connections"].items():
            if cell.get("port_directions", {}).get(pin) == "output":
                found = next((by_bit[b] for b in bits if not isinstance(b, str) and b in by_bit), None)
                if found:
                    names[name] = found if pin in ("Q", "O") else f"{found} ({cell['type']}.{pin})"
                    break
    return names


def _pin_name(names: dict[str, str], pin: str) -> str:
    cell, _, port = pin.rpartition(".")
    return f"{names[cell]} .{port}" if cell in names else pin
