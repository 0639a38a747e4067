"""A pynq-shaped module over any zynpu device, so the board adapter's code runs here.

`install(device)` puts a module named `pynq` into `sys.modules` offering what `BoardDevice` and the
overlay drivers use (`Overlay`, `allocate`, `DefaultIP`, `MMIO`, `lib.dma.DMA`), backed by `device`:
the channels keep pynq's semantics (`running`, `idle`, `error`, `start`/`stop`, `transferred`, and a
`wait()` with no deadline), so the adapter's deadline and recovery logic is exercised for real.
"""

from __future__ import annotations

import contextlib
import sys
import types
from typing import Any, ClassVar

import numpy as np

from .base import Device, DmaChannel, DmaError


class ShimChannel:
    """pynq's `_SDMAChannel` surface over a zynpu DmaChannel."""

    def __init__(self, inner: DmaChannel) -> None:
        self._inner = inner
        self.running = False
        self.transferred = 0
        self._error: str | None = None

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False
        self._inner.reset()

    @property
    def idle(self) -> bool:
        if self._inner.idle:
            return True
        with contextlib.suppress(DmaError):
            self._inner.wait(timeout=0.0)  # let a simulated device make some progress
        return self._inner.idle

    @property
    def error(self) -> bool:
        return self._error is not None

    def transfer(self, array: np.ndarray, start: int = 0, nbytes: int = 0) -> None:
        if not self.running:
            raise RuntimeError("DMA channel not started")
        self._inner.transfer(array, start, nbytes)

    def wait(self) -> None:
        if not self.running:
            raise RuntimeError("DMA channel not started")
        while not self.idle:
            pass
        self.transferred = self._inner.transferred


class ShimDMA:
    def __init__(self, device: Device) -> None:
        self.sendchannel = ShimChannel(device.send)
        self.recvchannel = ShimChannel(device.recv)
        self.sendchannel.start()
        self.recvchannel.start()


class ShimMMIO:
    def __init__(self, device: Device) -> None:
        self._device = device

    def read(self, offset: int = 0, length: int = 4) -> int:
        return self._device.read(offset)

    def write(self, offset: int, value: int) -> None:
        self._device.write(offset, value)


def build_module(device: Device, ip_drivers: dict[str, type] | None = None) -> types.ModuleType:
    """A module object that looks like pynq to code that imports it."""
    pynq = types.ModuleType("pynq")

    class DefaultIP:
        bindto: ClassVar[list[str]] = []

        def __init__(self, description: dict[str, Any]) -> None:
            self.description = description
            self.mmio = ShimMMIO(device)

        def read(self, offset: int = 0) -> int:
            return self.mmio.read(offset)

        def write(self, offset: int, value: int) -> None:
            self.mmio.write(offset, value)

    class Overlay:
        """Holds one DMA (`axi_dma_0`) and one tile (`zynpu_tile_0`), bound by VLNV like pynq does."""

        def __init__(self, bitfile_name: str, download: bool = True, **_: Any) -> None:
            self.bitfile_name = bitfile_name
            self.axi_dma_0 = ShimDMA(device)
            vlnv = device.manifest.raw["vlnv"]
            driver = DefaultIP
            for cls in _subclasses(DefaultIP):
                if vlnv in getattr(cls, "bindto", []):
                    driver = cls
            self.zynpu_tile_0 = driver({"type": vlnv, "fullpath": "zynpu_tile_0"})
            self.ip_dict = {
                "zynpu_tile_0": {"type": vlnv},
                "axi_dma_0": {"type": "xilinx.com:ip:axi_dma:7.1"},
            }

    def allocate(shape: int | tuple[int, ...], dtype: Any = np.uint8, **_: Any) -> np.ndarray:
        return device.allocate(shape, dtype)

    pynq.DefaultIP = DefaultIP
    pynq.Overlay = Overlay
    pynq.allocate = allocate
    pynq.MMIO = lambda base, length=4096: ShimMMIO(device)
    lib = types.ModuleType("pynq.lib")
    dma = types.ModuleType("pynq.lib.dma")
    dma.DMA = ShimDMA
    lib.dma = dma
    pynq.lib = lib
    pynq.__zynpu_shim__ = True
    return pynq


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def install(device: Device) -> types.ModuleType:
    """Make `import pynq` return the shim over `device` (tests remove it with `uninstall`)."""
    module = build_module(device)
    sys.modules["pynq"] = module
    sys.modules["pynq.lib"] = module.lib
    sys.modules["pynq.lib.dma"] = module.lib.dma
    return module


def uninstall() -> None:
    """Remove the shim (and only the shim) from `sys.modules`."""
    if getattr(sys.modules.get("pynq"), "__zynpu_shim__", False):
        for name in ("pynq", "pynq.lib", "pynq.lib.dma"):
            sys.modules.pop(name, None)
