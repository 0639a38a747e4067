"""The `board` device: a thin adapter over pynq on the Zynq's Linux.

pynq is imported only here. Its `DMA.wait()` busy-waits forever, so waits poll the channel with a
deadline first. pynq caches overlay metadata by the `.bit` hash, so the tile's ID/VERSION/hash
registers (checked by `Npu`), not the `.hwh`, prove which hardware is loaded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..tile.manifest import TileManifest, load_manifest
from .base import Buffer, Device, DmaChannel, DmaError

DEFAULT_DMA = "axi_dma_0"
DEFAULT_TILE = "zynpu_tile_0"


class NoPynqError(UserError, RuntimeError):
    """`--device board` where pynq cannot be imported: not a board, or not its Python environment."""


def default_bitstream() -> Path:
    """`$ZYNPU_BITSTREAM`, else the `zynpu.bit` that `zynpu board deploy` installs on the board."""
    path = Path(os.environ.get("ZYNPU_BITSTREAM", Path.home() / "zynpu" / "bitstream" / "zynpu.bit"))
    if not path.exists():
        raise FileNotFoundError(
            f"no bitstream at {path}: deploy one (zynpu board deploy) or set ZYNPU_BITSTREAM"
        )
    return path


class BoardChannel(DmaChannel):
    """One pynq `_SDMAChannel`, with a deadline on every wait."""

    def __init__(self, channel: Any, name: str) -> None:
        self._channel = channel
        self._name = name

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0) -> None:
        if not self._channel.running:
            self._channel.start()
        try:
            self._channel.transfer(buffer, start=start, nbytes=nbytes)
        except (RuntimeError, ValueError) as error:
            raise DmaError(f"{self._name}: {error}") from error

    def wait(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._channel.idle:
            if self._channel.error:
                break  # pynq's wait() names the error
            if time.monotonic() > deadline:
                raise DmaError(f"{self._name} transfer did not complete within {timeout:.1f} s")
        try:
            self._channel.wait()
        except RuntimeError as error:
            raise DmaError(f"{self._name}: {error}") from error

    @property
    def idle(self) -> bool:
        return bool(self._channel.idle)

    @property
    def transferred(self) -> int:
        return int(self._channel.transferred)

    def reset(self) -> None:
        self._channel.stop()
        self._channel.start()


class BoardDevice(Device):
    name = "board"

    def __init__(
        self,
        bitfile: str | Path | None = None,
        *,
        manifest: TileManifest | None = None,
        overlay: Any = None,
        dma: str = DEFAULT_DMA,
        tile: str = DEFAULT_TILE,
        download: bool = True,
    ) -> None:
        try:
            import pynq
        except ImportError as error:
            raise NoPynqError(
                "the board device needs pynq (a PYNQ image on a Zynq board); use --device sim or ref here"
            ) from error
        self._pynq = pynq
        self.manifest = manifest or load_manifest()
        if overlay is None:
            if bitfile is None:
                bitfile = default_bitstream()
            overlay = pynq.Overlay(str(bitfile), download=download)
        self.overlay = overlay
        dma_ip = getattr(overlay, dma)
        self._tile = getattr(overlay, tile)
        self.send = BoardChannel(dma_ip.sendchannel, "MM2S")
        self.recv = BoardChannel(dma_ip.recvchannel, "S2MM")

    def allocate(self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8) -> Buffer:
        # Non-cacheable by default: flush/invalidate cost nothing and the host never reads stale data.
        return self._pynq.allocate(shape=shape, dtype=dtype)

    def read(self, offset: int) -> int:
        return int(self._tile.read(offset))

    def write(self, offset: int, value: int) -> None:
        self._tile.write(offset, value & 0xFFFFFFFF)

    def close(self) -> None:
        self.overlay = None
