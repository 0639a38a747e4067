"""The `board` device: a thin adapter over pynq on the Zynq's Linux.

pynq is imported only here. The overlay's IPs are found by type, not by cell name: AXI DMAs by their
VLNV, the tile by the VLNV in the manifest, and a DMA is paired with the tile its MM2S stream feeds
(followed through stream converters in the `.hwh`). Every wait has a deadline: pynq's `DMA.wait()`
and `stop()` spin forever, so this adapter polls the status registers itself and recovers with the
DMA's soft reset (PG021 DMACR.Reset), bounded too. pynq caches overlay metadata by the `.bit` hash, so
the tile's ID/VERSION/hash registers (checked by `Npu`), not the `.hwh`, prove what is loaded.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..board.layout import deployed_bitstream
from ..errors import UserError
from ..tile.manifest import TileManifest, load_manifest
from . import axi_dma_regs as R
from .base import Buffer, Device, DmaChannel, DmaError

RESET_TIMEOUT = 1.0  # seconds for DMACR.Reset to clear and for a channel to leave Halted
AXIS_VLNV = "xilinx.com:interface:axis:1.0"


class OverlayMismatch(UserError):
    """The overlay lacks the tile or the DMA, or they cannot be paired; the message lists what it has."""


class NoPynqError(UserError, RuntimeError):
    """`--device board` where pynq cannot be imported: not a board, or not its Python environment."""


def default_bitstream() -> Path:
    """Where `zynpu board deploy` put the bitstream (see zynpu.board.layout)."""
    return deployed_bitstream()


def describe_ips(ip_dict: Mapping[str, Mapping[str, Any]]) -> str:
    """`name (vlnv)` for every IP of the overlay, for error messages."""
    return ", ".join(f"{name} ({info.get('type')})" for name, info in sorted(ip_dict.items())) or "no IPs"


def stream_targets(hwh: str) -> dict[str, str]:
    """For every master AXI4-Stream port, the IP it reaches: `{"dma/M_AXIS_MM2S": "tile", ...}`.

    Follows nets through stream infrastructure (MODCLASS BUS: width converters, FIFOs, register
    slices, which have one stream in and one out) to the first peripheral. Names are the `ip_dict`
    names (FULLNAME without the leading slash).
    """
    root = ET.fromstring(hwh)
    ports: dict[str, list[tuple[str, str, str]]] = {}  # bus name -> (module, interface, type)
    classes: dict[str, str] = {}
    for module in root.iter("MODULE"):
        name = str(module.get("FULLNAME", "")).lstrip("/")
        classes[name] = str(module.get("MODCLASS", ""))
        for bus in module.iter("BUSINTERFACE"):
            if bus.get("VLNV") == AXIS_VLNV and bus.get("BUSNAME") not in (None, "__NOC__"):
                ports.setdefault(str(bus.get("BUSNAME")), []).append(
                    (name, str(bus.get("NAME")), str(bus.get("TYPE")))
                )
    masters = {"MASTER", "INITIATOR"}

    def follow(bus: str, seen: set[str]) -> str | None:
        for module, _, kind in ports.get(bus, []):
            if kind in masters or module in seen:
                continue
            if classes.get(module) != "BUS":
                return module
            outs = [b for b, ends in ports.items() for m, _, k in ends if m == module and k in masters]
            for out in outs:
                found = follow(out, seen | {module})
                if found:
                    return found
        return None

    targets = {}
    for bus, ends in ports.items():
        for module, interface, kind in ends:
            if kind in masters and classes.get(module) != "BUS":
                target = follow(bus, {module})
                if target:
                    targets[f"{module}/{interface}"] = target
    return targets


def find_ips(
    ip_dict: Mapping[str, Mapping[str, Any]],
    tile_vlnv: str,
    *,
    hwh: str | None = None,
    dma: str | None = None,
    tile: str | None = None,
) -> list[tuple[str, str]]:
    """(dma, tile) name pairs in the overlay; `dma`/`tile` names override the search."""
    found = describe_ips(ip_dict)
    for name, role in ((dma, "DMA"), (tile, "tile")):
        if name is not None and name not in ip_dict:
            raise OverlayMismatch(
                f"the overlay has no IP named {name!r} (asked for as the {role}); it has {found}"
            )
    tiles = [tile] if tile else sorted(n for n, d in ip_dict.items() if d.get("type") == tile_vlnv)
    if not tiles:
        same = tile_vlnv.rsplit(":", 1)[0] + ":"
        other = [f"{n} ({d.get('type')})" for n, d in ip_dict.items() if str(d.get("type")).startswith(same)]
        hint = f"; a different version is there: {', '.join(other)}" if other else ""
        raise OverlayMismatch(
            f"no zynpu tile ({tile_vlnv}) in the overlay{hint}; it has {found}. Load the zynpu overlay "
            "(make overlay, zynpu board deploy) or name the tile's cell with tile=..."
        )
    dmas = (
        [dma]
        if dma
        else sorted(n for n, d in ip_dict.items() if str(d.get("type")).startswith(R.VLNV_PREFIX))
    )
    if not dmas:
        raise OverlayMismatch(f"no AXI DMA ({R.VLNV_PREFIX}*) in the overlay; it has {found}")
    if len(dmas) == 1 and len(tiles) == 1:
        return [(dmas[0], tiles[0])]
    if hwh is None:
        raise OverlayMismatch(
            f"{len(dmas)} DMAs and {len(tiles)} tiles ({', '.join(dmas)}; {', '.join(tiles)}) and no .hwh to "
            "pair them by their streams: pass dma= and tile="
        )
    feeds = stream_targets(hwh)
    pairs = []
    for name in tiles:
        sources = [d for d in dmas if feeds.get(f"{d}/M_AXIS_MM2S") == name]
        if len(sources) != 1:
            raise OverlayMismatch(
                f"tile {name} is fed by {len(sources)} of the DMAs {', '.join(dmas)} in the .hwh "
                f"(stream links found: {feeds}); pass dma= and tile="
            )
        pairs.append((sources[0], name))
    return pairs


class BoardChannel(DmaChannel):
    """One pynq `_SDMAChannel`, with a deadline on every wait."""

    def __init__(self, owner: BoardDevice, channel: Any, name: str, base: int) -> None:
        self._owner = owner
        self._channel = channel
        self._name = name
        self._base = base  # R.MM2S or R.S2MM

    def status(self) -> int:
        return int(self._owner.dma_read(self._base + R.DMASR))

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0) -> None:
        status = self.status()
        if status & R.SR_ERRORS:
            self._owner.reset_dma()  # PG021: only a reset leaves an error halt
        elif status & R.SR_HALTED:
            self._owner.start_channel(self)
        try:
            self._channel.transfer(buffer, start=start, nbytes=nbytes)
        except (RuntimeError, ValueError) as error:
            raise DmaError(f"{self._name}: {error}") from error

    def wait(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status & (R.SR_IDLE | R.SR_ERRORS):
                break
            if time.monotonic() > deadline:
                raise DmaError(
                    f"{self._name} transfer did not complete within {timeout:.1f} s "
                    f"(DMASR=0x{status:08X}: {R.describe_status(status)})"
                )
        try:
            self._channel.wait()  # returns at once now; raises pynq's message on an error bit
        except RuntimeError as error:
            raise DmaError(f"{self._name}: {error} (DMASR=0x{status:08X})") from error

    @property
    def idle(self) -> bool:
        return bool(self.status() & R.SR_IDLE)

    @property
    def transferred(self) -> int:
        return int(self._channel.transferred)

    def reset(self) -> None:
        self._owner.reset_dma()


class BoardDevice(Device):
    name = "board"

    def __init__(
        self,
        bitfile: str | Path | None = None,
        *,
        manifest: TileManifest | None = None,
        overlay: Any = None,
        dma: str | None = None,
        tile: str | None = None,
        index: int = 0,
        download: bool = True,
        reset_timeout: float = RESET_TIMEOUT,
    ) -> None:
        try:
            import pynq
        except ImportError as error:
            raise NoPynqError(
                "the board device needs pynq (a PYNQ image on a Zynq board); use --device sim or ref here"
            ) from error
        self._pynq = pynq
        self.manifest = manifest or load_manifest()
        self.reset_timeout = reset_timeout
        if overlay is None:
            if bitfile is None:
                bitfile = default_bitstream()
            overlay = pynq.Overlay(str(bitfile), download=download)
        self.overlay = overlay
        hwh_path = Path(str(getattr(overlay, "bitfile_name", ""))).with_suffix(".hwh")
        hwh = hwh_path.read_text() if hwh_path.is_file() else None
        self.pairs = find_ips(overlay.ip_dict, self.manifest.raw["vlnv"], hwh=hwh, dma=dma, tile=tile)
        if not 0 <= index < len(self.pairs):
            raise OverlayMismatch(f"index {index}: the overlay has {len(self.pairs)} tile(s): {self.pairs}")
        self.dma_name, self.tile_name = self.pairs[index]
        self._dma = getattr(overlay, self.dma_name)
        self._tile = getattr(overlay, self.tile_name)
        for attribute in ("sendchannel", "recvchannel"):
            if getattr(self._dma, attribute, None) is None:
                raise OverlayMismatch(
                    f"{self.dma_name} has no {attribute} (driver {type(self._dma).__name__}): the DMA needs "
                    "both MM2S and S2MM in simple mode, bound to pynq.lib.dma.DMA"
                )
        self.send = BoardChannel(self, self._dma.sendchannel, f"{self.dma_name} MM2S", R.MM2S)
        self.recv = BoardChannel(self, self._dma.recvchannel, f"{self.dma_name} S2MM", R.S2MM)

    # The DMA's own registers (what pynq's driver does not bound) ----------------------------------
    def dma_read(self, offset: int) -> int:
        return int(self._dma.read(offset))

    def _poll(self, what: str, done: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                cr, mm2s, s2mm = (
                    self.dma_read(o) for o in (R.MM2S + R.DMACR, R.MM2S + R.DMASR, R.S2MM + R.DMASR)
                )
                raise DmaError(
                    f"{self.dma_name}: {what} within {timeout:.1f} s (MM2S DMACR=0x{cr:08X}; MM2S DMASR="
                    f"0x{mm2s:08X}: {R.describe_status(mm2s)}; S2MM DMASR=0x{s2mm:08X}: "
                    f"{R.describe_status(s2mm)}). Reload the overlay."
                )

    def start_channel(self, channel: BoardChannel) -> None:
        """RS=1 and wait (bounded) for Halted to clear; then pynq's start() returns at once."""
        irq = R.CR_IOC_IRQ_EN if getattr(channel._channel, "_interrupt", None) else 0
        self._dma.write(channel._base + R.DMACR, R.CR_RS | irq)
        self._poll(f"{channel._name} did not leave Halted", lambda: not channel.status() & R.SR_HALTED,
                   self.reset_timeout)  # fmt: skip
        channel._channel.start()  # resets pynq's first-transfer flag (Idle reads 0 after a reset)

    def reset_dma(self) -> None:
        """PG021 soft reset (one bit resets both channels), then start both; every wait bounded."""
        self._dma.write(R.MM2S + R.DMACR, R.CR_RESET)
        self._poll("DMACR.Reset did not clear", lambda: not self.dma_read(R.MM2S + R.DMACR) & R.CR_RESET,
                   self.reset_timeout)  # fmt: skip
        for channel in (self.send, self.recv):
            self.start_channel(channel)

    # Device ------------------------------------------------------------------------------------------
    def allocate(
        self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8, cacheable: bool = False
    ) -> Buffer:
        # Non-cacheable unless asked: CPU reads of non-cacheable memory are slow, so the driver asks for
        # cacheable buffers where it flushes and invalidates around every transfer.
        target = getattr(self.overlay, "device", None)
        return self._pynq.allocate(shape=shape, dtype=dtype, target=target, cacheable=cacheable)

    def read(self, offset: int) -> int:
        return int(self._tile.read(offset))

    def write(self, offset: int, value: int) -> None:
        self._tile.write(offset, value & 0xFFFFFFFF)

    def close(self) -> None:
        self.overlay = None
