"""The native AXI DMA job driver (src/axi_dma.c) behind Python register accessors, for its tests.

The C driver reads and writes DMA registers through two function pointers; on a board they would be
loads and stores to the mmap'd register window, here they call any object with `read(offset)` and
`write(offset, value)` (the project's AXI DMA model). Offsets and bits come from
`zynpu.device.axi_dma_regs`, their one definition. `NativeEngine(kind="axi-model")` runs decode jobs
through it as ports.
"""

from __future__ import annotations

import ctypes
from ctypes import CFUNCTYPE, POINTER, Structure, c_long, c_uint32, c_uint64, c_void_p
from typing import Any

from ..device import axi_dma_regs as R
from .lib import library

_READ = CFUNCTYPE(c_uint32, c_void_p, c_uint32)
_WRITE = CFUNCTYPE(None, c_void_p, c_uint32, c_uint32)
_FIELDS = "mm2s s2mm dmacr dmasr addr addr_msb length cr_rs cr_reset sr_halted sr_idle sr_errors sr_ioc"


class AxiPart(Structure):
    """zn_axi_part (src/axi_dma.c): one tensor's columns on one port, packed for M = 1 jobs."""

    _fields_ = [
        ("buf", c_void_p),
        ("phys", c_uint64),
        ("out", c_void_p),
        ("out_phys", c_uint64),
        ("header", c_void_p),
        *((name, c_uint32) for name in ("lanes", "k", "n", "input_bytes", "output_bytes")),
    ]


class _Regs(Structure):
    _fields_ = [(name, c_uint32) for name in _FIELDS.split()]


class _Dma(Structure):
    _fields_ = [
        ("bus", c_void_p),
        ("rd", _READ),
        ("wr", _WRITE),
        ("r", _Regs),
        ("max_polls", c_long),
    ]


def register_layout() -> _Regs:
    """PG021's offsets and bits, from zynpu.device.axi_dma_regs."""
    return _Regs(
        R.MM2S, R.S2MM, R.DMACR, R.DMASR, R.ADDR, R.ADDR_MSB, R.LENGTH,
        R.CR_RS, R.CR_RESET, R.SR_HALTED, R.SR_IDLE, R.SR_ERRORS, R.SR_IOC_IRQ,
    )  # fmt: skip


class NativeAxiDma:
    """zn_axi_dma_job / zn_axi_dma_reset on the registers of `bus` (read(offset), write(offset, value))."""

    def __init__(self, bus: Any, max_polls: int = 100_000) -> None:
        lib = library()
        for name in ("zn_axi_dma_job", "zn_axi_dma_reset"):
            getattr(lib, name).restype = c_long
        lib.zn_axi_dma_job.argtypes = [POINTER(_Dma), c_uint64, c_uint32, c_uint64, c_uint32]
        lib.zn_axi_dma_reset.argtypes = [POINTER(_Dma)]
        self.lib, self.bus = lib, bus
        self.accesses: list[tuple[str, int, int]] = []  # what the driver did, in order
        # the callbacks must live as long as the structure that points at them
        self._read = _READ(self._on_read)
        self._write = _WRITE(self._on_write)
        self.dma = _Dma(None, self._read, self._write, register_layout(), max_polls)

    def _on_read(self, _bus: int | None, offset: int) -> int:
        value = self.bus.read(offset) & 0xFFFFFFFF
        self.accesses.append(("r", offset, value))
        return value

    def _on_write(self, _bus: int | None, offset: int, value: int) -> None:
        self.accesses.append(("w", offset, value))
        self.bus.write(offset, value)

    def job(self, in_addr: int, in_bytes: int, out_addr: int, out_capacity: int) -> int:
        """Bytes received, or the driver's negative code (-1 timeout, -(DMASR) of a failing channel)."""
        return int(self.lib.zn_axi_dma_job(ctypes.byref(self.dma), in_addr, in_bytes, out_addr, out_capacity))

    def reset(self) -> int:
        return int(self.lib.zn_axi_dma_reset(ctypes.byref(self.dma)))
