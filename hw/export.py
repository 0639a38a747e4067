"""Write the tile's Verilog (Amaranth -> Yosys) for Vivado and the simulators."""

from __future__ import annotations

from pathlib import Path

from . import spec
from .manifest import TOP_NAME


def verilog_text(config: spec.TileConfig = spec.DEFAULT_CONFIG) -> str:
    from amaranth.back import verilog

    from .rtl.top import ZynpuTile

    return verilog.convert(ZynpuTile(config), name=TOP_NAME, emit_src=False)


def write_verilog(path: Path, config: spec.TileConfig = spec.DEFAULT_CONFIG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(verilog_text(config))
    return path
