"""Helpers for tests that run the real pynq package over real Vivado `.hwh` files (pynqmetadata's).

`pynqmetadata` ships Vivado-generated hand-off files in its tests folder; `resizer.hwh` is a
Zynq-7000 design with an `axi_dma` 7.1 whose MM2S stream reaches an HLS IP through a width converter
and comes back to S2MM through another. `zynpu_hwh` puts the tile's VLNV on that HLS IP (and
optionally renames cells): every other byte stays what Vivado wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HLS_VLNV = "xilinx.com:hls:resize_accel:1.0"


def hwh_folder() -> Path:
    pynqmetadata = pytest.importorskip("pynqmetadata", reason="real pynq not installed (see .ci/run)")
    folder = Path(pynqmetadata.__file__).parent / "tests" / "hwhs"
    if not (folder / "resizer.hwh").is_file():
        pytest.skip(f"pynqmetadata {getattr(pynqmetadata, '__version__', '?')} ships no tests/hwhs")
    return folder


def zynpu_hwh(
    tile_vlnv: str, renames: dict[str, str] | None = None, folder: Path | None = None, **parameters: str
) -> str:
    """resizer.hwh with the tile's VLNV on the HLS IP, cells renamed, DMA parameters overridden."""
    text = ((folder or hwh_folder()) / "resizer.hwh").read_text()
    assert text.count(HLS_VLNV) >= 1
    text = text.replace(HLS_VLNV, tile_vlnv)
    for old, new in (renames or {}).items():
        text = text.replace(old, new)
    for name, value in parameters.items():
        marker = f'NAME="{name}" VALUE="'
        start = text.index(marker) + len(marker)
        text = text[:start] + value + text[text.index('"', start) :]
    return text


def overlay_files(folder: Path, hwh: str) -> Path:
    """zynpu.bit (a well-formed header, no frames) and zynpu.hwh; returns the .bit's path."""
    from zynpu.device.bit_header import write_bitfile

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zynpu.hwh").write_text(hwh)
    return write_bitfile(folder / "zynpu.bit")
