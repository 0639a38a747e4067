"""The device interface: the part of pynq the host needs (allocate, DMA transfer/wait, MMIO)."""

from __future__ import annotations

import abc

import numpy as np

from ..tile.manifest import TileManifest


class DmaError(RuntimeError):
    """A DMA transfer failed or missed its deadline."""


class Buffer(np.ndarray):
    """A numpy view of memory the DMA can reach, with the pynq buffer's extra attributes."""

    physical_address: int = 0
    device: Device | None = None

    def __array_finalize__(self, obj: object) -> None:
        # Views and slices keep the parent's attributes, as pynq's buffers do.
        self.physical_address = getattr(obj, "physical_address", 0)
        self.device = getattr(obj, "device", None)

    def flush(self) -> None:
        """Make CPU writes visible to the DMA (a no-op for non-cacheable memory)."""

    def invalidate(self) -> None:
        """Make DMA writes visible to the CPU (a no-op for non-cacheable memory)."""

    def freebuffer(self) -> None:
        """Release the memory (pynq's name)."""


class DmaChannel(abc.ABC):
    """One direction of an AXI DMA in simple (non scatter-gather) mode.

    `transfer` checks what every backend must refuse (a busy channel, a range outside the buffer) and
    hands a valid request to `_start`, so a backend implements only the part that differs. The board
    channel passes `transfer` to pynq, which checks the same things itself.
    """

    name: str = "DMA"  # MM2S or S2MM, for messages

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0) -> None:
        """Start moving `nbytes` (0: the whole buffer from `start`) from/into `buffer`."""
        if not self.idle:
            raise DmaError(f"{self.name} channel is busy: wait for the previous transfer first")
        size = buffer.nbytes
        if nbytes == 0:
            nbytes = size - start
        if start < 0 or nbytes <= 0 or start + nbytes > size:
            raise DmaError(f"transfer of {nbytes} bytes at {start} does not fit a {size}-byte buffer")
        self._start(buffer, start, nbytes)

    def _start(self, buffer: Buffer, start: int, nbytes: int) -> None:
        """Backend hook: begin moving bytes [start, start + nbytes) of `buffer`, already checked."""
        raise NotImplementedError(f"{type(self).__name__} overrides transfer() or implements _start()")

    @abc.abstractmethod
    def wait(self, timeout: float = 10.0) -> None:
        """Block until the transfer completes; raise DmaError after `timeout` seconds."""

    @property
    @abc.abstractmethod
    def idle(self) -> bool:
        """No transfer is in progress."""

    @property
    @abc.abstractmethod
    def transferred(self) -> int:
        """Bytes moved by the last transfer (for the receive side: up to and including TLAST)."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Abandon a transfer that will not complete (after a timeout)."""


class Device(abc.ABC):
    """A tile behind DMA and AXI4-Lite: the whole hardware surface the host uses."""

    name: str
    manifest: TileManifest
    send: DmaChannel  # MM2S: memory -> tile
    recv: DmaChannel  # S2MM: tile -> memory

    @abc.abstractmethod
    def allocate(
        self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8, cacheable: bool = False
    ) -> Buffer:
        """Memory the DMA can reach, aligned to the stream width.

        `cacheable`: CPU caches on (a board's default is off); the caller must `flush()` after writing
        and `invalidate()` before reading what the DMA wrote. Host memory (sim, ref) is coherent."""

    @abc.abstractmethod
    def read(self, offset: int) -> int:
        """Read a 32-bit tile register."""

    @abc.abstractmethod
    def write(self, offset: int, value: int) -> None:
        """Write a 32-bit tile register."""

    @property
    def cycles(self) -> int | None:
        """Simulated clock cycles so far (None where the device has no such clock)."""
        return None

    def close(self) -> None:  # noqa: B027 - most devices hold nothing to release
        """Release the device."""

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RegisterError(RuntimeError):
    """A register access was answered with a bus error (wrong offset) or not at all."""


def make_buffer(memory: np.ndarray, physical_address: int, device: Device | None) -> Buffer:
    """Wrap `memory` (already shaped and typed) as a Buffer at `physical_address`."""
    buffer = memory.view(Buffer)
    buffer.physical_address = physical_address
    buffer.device = device
    return buffer


class HostMemory:
    """DMA buffers in this process's memory, with made-up but unique 4 KiB-aligned physical addresses.

    What the `sim` and `ref` devices allocate from: host memory stands in for the board's DDR.
    """

    def __init__(self, device: Device, base: int = 0x4000_0000) -> None:
        self._device = device
        self._next = base

    def allocate(
        self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8, cacheable: bool = False
    ) -> Buffer:
        dtype = np.dtype(dtype)
        memory = aligned_empty(int(np.prod(shape)) * dtype.itemsize).view(dtype).reshape(shape)
        buffer = make_buffer(memory, self._next, self._device)
        self._next += -(-memory.nbytes // 4096) * 4096 + 4096  # a guard page between buffers
        return buffer


def aligned_empty(nbytes: int, alignment: int = 64) -> np.ndarray:
    """Zeroed uint8 memory whose first byte is `alignment`-aligned (the DMA needs stream alignment)."""
    raw = np.zeros(nbytes + alignment, dtype=np.uint8)
    skip = (-raw.ctypes.data) % alignment
    return raw[skip : skip + nbytes]
