"""Build the tile for cocotb on Verilator (cached) and time one decode job through it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..device.sim.build import cache_root, verilator_make_env, verilog_path
from ..tile.manifest import TileManifest

TOP = "zynpu_tile"


def cocotb_cycles_per_second(manifest: TileManifest, k: int, n: int) -> float:
    from cocotb_tools.runner import get_runner

    verilog = verilog_path(manifest)
    build_dir = cache_root() / "cocotb" / verilog.parent.name
    runner = get_runner("verilator")
    env_backup = dict(os.environ)
    os.environ.update(verilator_make_env())
    try:
        if not (build_dir / TOP).exists():
            build_dir.mkdir(parents=True, exist_ok=True)
            runner.build(
                sources=[verilog],
                hdl_toplevel=TOP,
                build_dir=build_dir,
                build_args=["-Wno-fatal", "-O3", "--x-assign", "fast", "--x-initial", "fast"],
                timescale=("1ns", "1ps"),
                log_file=build_dir / "build.log",
            )
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "bench.json"
            runner.test(
                hdl_toplevel=TOP,
                hdl_toplevel_lang="verilog",  # the runner can't infer it when the build was cached
                test_module="zynpu.bench.cocotb_tb",
                build_dir=build_dir,
                test_dir=tmp,
                extra_env={"ZYNPU_BENCH_K": str(k), "ZYNPU_BENCH_N": str(n), "ZYNPU_BENCH_OUT": str(out)},
                log_file=Path(tmp) / "cocotb.log",  # stdout stays clean for --json
            )
            if not out.exists():
                log = (Path(tmp) / "cocotb.log").read_text(errors="replace")[-4000:]
                raise RuntimeError(f"the cocotb benchmark did not report; the end of its log:\n{log}")
            result = json.loads(out.read_text())
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    return result["cycles"] / result["wall"]
