"""PYNQ drivers: `ZynpuOverlay(pynq.Overlay)` and `NpuTile(pynq.DefaultIP)` bound by the tile's VLNV.

`ZynpuOverlay("zynpu.bit").npu` is the same `Npu` driver the rest of the host uses, over the board
device. Importing this module registers `NpuTile` with pynq, so do it before creating an `Overlay`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pynq

from ..device.board import BoardDevice
from ..npu import Npu
from ..tile.manifest import load_manifest

MANIFEST = load_manifest()


class NpuTile(pynq.DefaultIP):
    """The tile's AXI4-Lite registers; pynq instantiates it for every `zynpu_tile` in the design."""

    bindto: ClassVar[list[str]] = [MANIFEST.raw["vlnv"]]

    def __init__(self, description: dict[str, Any]) -> None:
        super().__init__(description=description)

    def register(self, name: str) -> int:
        """Read a register by its name in the manifest."""
        return int(self.read(MANIFEST.offset(name)))


class ZynpuOverlay(pynq.Overlay):
    """The zynpu overlay: PS + AXI DMA + tile. `.npu` drives the tile."""

    def __init__(self, bitfile: str | Path = "zynpu.bit", **kwargs: Any) -> None:
        super().__init__(str(bitfile), **kwargs)
        self._npu: Npu | None = None

    @property
    def npu(self) -> Npu:
        """The driver; any failure is raised as itself, never as pynq's "Could not find IP npu".

        An AttributeError escaping a property makes Python call `Overlay.__getattr__("npu")`, which
        would replace the real message, so it is re-raised as a RuntimeError.
        """
        if self._npu is None:
            try:
                self._npu = Npu(BoardDevice(manifest=MANIFEST, overlay=self))
            except AttributeError as error:
                raise RuntimeError(f"ZynpuOverlay.npu: {error}") from error
        return self._npu
