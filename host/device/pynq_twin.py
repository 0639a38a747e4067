"""A pynq `Device` whose programmable logic is simulated: the real pynq classes run on it here.

pynq's `Overlay` parses the `.hwh` with its own metadata parser, binds drivers by VLNV (`DMA` for
the AXI DMA, `NpuTile` for the tile), and its `MMIO` reads and writes registers through this device
(pynq's REGISTER_RW path, the one its XRT devices use). Behind each address window sits a model: the
AXI DMA of `axi_dma_model` (PG021 simple mode) for every `axi_dma` IP and the stream-level tile for
the IP carrying the tile's VLNV. Buffers come from `pynq.allocate` as real `PynqBuffer`s at
simulated physical addresses; cacheable ones have a separate "DDR" copy that only `flush()` and
`invalidate()` synchronise, as on the board.

The one step of pynq skipped here is merging XRT's memory topology into the metadata (it needs XRT's
`xclbinutil`, present only on the board); the download itself is not simulated (use download=False).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device as PynqDevice

from ..tile.manifest import TileManifest, load_manifest
from . import axi_dma_regs
from .axi_dma_model import AxiDmaModel, PhysicalMemory, StreamTile
from .bit_header import write_bitfile

__all__ = ["TwinClocks", "TwinDevice", "activate", "write_bitfile"]


class TwinDevice(PynqDevice):
    """Simulated PL behind pynq's device interface (register read/write, allocate, flush/invalidate)."""

    def __init__(self, manifest: TileManifest | None = None, *, beats_per_tick: int = 4) -> None:
        super().__init__("zynpu-twin")
        self.name = "zynpu-twin"
        self.capabilities = {"REGISTER_RW": True, "MEMORY_MAPPED": False, "CALLABLE": False}
        self.manifest = manifest or load_manifest()
        self.memory = PhysicalMemory()
        self.beats_per_tick = beats_per_tick
        self.tiles: dict[str, StreamTile] = {}
        self.dmas: dict[str, AxiDmaModel] = {}
        self._windows: list[tuple[int, int, Any]] = []
        self._caches: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.register_accesses = 0

    # Metadata: pynq's own parser -------------------------------------------------------------------
    def get_bitfile_metadata(self, bitfile_name: str, partial: bool = False) -> Any:
        from pynq.pl_server.embedded_device import Metadata, RuntimeMetadataParser

        parser = RuntimeMetadataParser(Metadata(input=Path(bitfile_name).with_suffix(".hwh")))
        parser.refresh_hierarchy_dict()
        self._build(parser.ip_dict)
        return parser

    def _build(self, ip_dict: dict[str, Any]) -> None:
        """A model behind every tile and DMA window; the DMAs stream into the tiles in name order."""
        self._windows.clear()
        tiles = sorted(n for n, d in ip_dict.items() if d.get("type") == self.manifest.raw["vlnv"])
        dmas = sorted(
            n for n, d in ip_dict.items() if str(d.get("type")).startswith(axi_dma_regs.VLNV_PREFIX)
        )
        self.tiles = {name: StreamTile(self.manifest) for name in tiles}
        self.dmas = {}
        for dma, tile in zip(dmas, tiles, strict=False):
            self.dmas[dma] = AxiDmaModel(self.memory, self.tiles[tile], beats_per_tick=self.beats_per_tick)
        for name, model in [*self.tiles.items(), *self.dmas.items()]:
            self._windows.append((int(ip_dict[name]["phys_addr"]), int(ip_dict[name]["addr_range"]), model))

    def download(self, bitstream: Any, parser: Any = None) -> None:
        self.post_download(bitstream, parser)

    # Register access (pynq's REGISTER_RW capability) ------------------------------------------------
    def _window(self, address: int) -> tuple[Any, int]:
        for base, size, model in self._windows:
            if base <= address < base + size:
                return model, address - base
        raise RuntimeError(f"no IP answers at 0x{address:08X} (a bus error on the board)")

    def read_registers(self, address: int, length: int) -> bytes:
        if length != 4:
            raise ValueError(f"the twin's AXI4-Lite ports are 32 bits wide, not {length * 8}")
        self.register_accesses += 1
        model, offset = self._window(address)
        return struct.pack("<I", model.read(offset) & 0xFFFFFFFF)

    def write_registers(self, address: int, data: bytes) -> None:
        self.register_accesses += 1
        model, offset = self._window(address)
        for i in range(0, len(data), 4):
            model.write(offset + i, struct.unpack("<I", data[i : i + 4])[0])

    # Memory ------------------------------------------------------------------------------------------
    def allocate(self, shape: Any, dtype: Any, cacheable: bool = False, **_: Any) -> PynqBuffer:
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        address, ddr = self.memory.allocate(nbytes)
        if not cacheable:
            return PynqBuffer(shape, dtype, buffer=ddr.data, device=self, device_address=address,
                              coherent=True)  # fmt: skip
        cache = np.zeros(nbytes, dtype=np.uint8)
        bo = len(self._caches) + 1
        self._caches[bo] = (cache, ddr)
        return PynqBuffer(shape, dtype, buffer=cache.data, device=self, device_address=address, bo=bo,
                          coherent=False)  # fmt: skip

    def flush(self, bo: int, offset: int, ptr: int, size: int) -> None:
        cache, ddr = self._caches[bo]
        ddr[offset : offset + size] = cache[offset : offset + size]

    def invalidate(self, bo: int, offset: int, ptr: int, size: int) -> None:
        cache, ddr = self._caches[bo]
        cache[offset : offset + size] = ddr[offset : offset + size]


class TwinClocks:
    """The PS clock generator's stand-in: records what pynq's `Overlay.download()` sets from the `.hwh`."""

    def __init__(self) -> None:
        self.divisors: dict[int, tuple[int | None, int | None]] = {}

    def set_pl_clk(self, index: int, div0: int | None = None, div1: int | None = None, clk_mhz: Any = None):  # type: ignore[no-untyped-def]
        self.divisors[index] = (div0, div1)

    def get_pl_clk(self, index: int) -> float:
        div0, div1 = self.divisors.get(index, (None, None))
        return 1000.0 / ((div0 or 1) * (div1 or 1))  # a 1 GHz source: the figure is only bookkeeping


def activate(manifest: TileManifest | None = None) -> TwinDevice:
    """Make a TwinDevice pynq's active device (what a twin of a PYNQ image does instead of an FPGA)."""
    import pynq
    from pynq import ps

    twin = TwinDevice(manifest)
    pynq.Device.active_device = twin
    ps.Clocks._real_instance = TwinClocks()
    return twin
