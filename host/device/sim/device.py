"""The `sim` device: the tile's RTL in Verilator, with a C++ AXI DMA and AXI4-Lite master around it.

Python calls into the harness once per DMA wait or register access; the clock runs in C++. Buffers are
plain host memory standing in for DDR; their "physical" addresses are made up but unique.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

import numpy as np

from ...tile.manifest import TileManifest, load_manifest
from ..base import Buffer, Device, DmaChannel, DmaError, HostMemory, RegisterError
from .build import ensure_library

REGISTER_TIMEOUT_CYCLES = 1000
RUN_CHUNK_CYCLES = 1 << 20  # cycles per call into C++ between deadline checks
RESET_HOLD_CYCLES = 4  # clocks aresetn is held low by zsim_reset
# The harness's channel numbers and zsim_channel's state bits (harness.cpp).
MM2S, S2MM = 0, 1
CHANNEL_NAMES = {MM2S: "MM2S", S2MM: "S2MM"}
CHANNEL_ACTIVE = 1 << 0
CHANNEL_OVERFLOW = 1 << 1  # S2MM: the packet was longer than the buffer
ALL_BYTES = 0xF  # AXI4-Lite WSTRB: write every byte of the 32-bit register


def _bind(library: ctypes.CDLL) -> ctypes.CDLL:
    p, u32, u64, i32 = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int
    signatures = {
        "zsim_create": ([], p),
        "zsim_destroy": ([p], None),
        "zsim_cycles": ([p], u64),
        "zsim_lanes": ([], i32),
        "zsim_reset": ([p, i32], None),
        "zsim_set_patterns": ([p, u32, u32], None),
        "zsim_reg_write": ([p, u32, u32, u32, u32], i32),
        "zsim_reg_read": ([p, u32, ctypes.POINTER(u32), u32], i32),
        "zsim_mm2s_start": ([p, p, u64], None),
        "zsim_s2mm_start": ([p, p, u64], None),
        "zsim_channel": ([p, i32, ctypes.POINTER(u64)], i32),
        "zsim_stop": ([p, i32], None),
        "zsim_run": ([p, i32, u64], u64),
    }
    for name, (args, result) in signatures.items():
        function = getattr(library, name)
        function.argtypes = args
        function.restype = result
    return library


class SimChannel(DmaChannel):
    def __init__(self, device: SimDevice, which: int) -> None:
        self._device = device
        self._which = which  # MM2S (send) or S2MM (recv)
        self.name = CHANNEL_NAMES[which]
        self._buffer: Buffer | None = None  # kept alive while C++ holds its pointer

    def _start(self, buffer: Buffer, start: int, nbytes: int) -> None:
        pointer = buffer.view(np.uint8).reshape(-1).ctypes.data + start
        if pointer % self._device.manifest.stream_bytes:
            raise DmaError(
                f"{self.name} address is not aligned to the {self._device.manifest.stream_bytes}-byte beat"
            )
        self._buffer = buffer
        lib, sim = self._device._lib, self._device._sim
        if self._which == MM2S:
            lib.zsim_mm2s_start(sim, pointer, nbytes)
        else:
            lib.zsim_s2mm_start(sim, pointer, nbytes)

    def _state(self) -> tuple[int, int]:
        moved = ctypes.c_uint64()
        flags = self._device._lib.zsim_channel(self._device._sim, self._which, ctypes.byref(moved))
        return flags, moved.value

    @property
    def idle(self) -> bool:
        return not self._state()[0] & CHANNEL_ACTIVE

    @property
    def transferred(self) -> int:
        return self._state()[1]

    def wait(self, timeout: float = 10.0) -> None:
        # The timeout counts wall time without progress: a long transfer (a 168 MB LM head) on a slow
        # or busy host keeps moving bytes and is not a hang; a stalled tile moves none and times out.
        deadline = time.monotonic() + timeout
        lib, sim = self._device._lib, self._device._sim
        mask = 1 << self._which  # zsim_run's wait mask: run until this channel is idle
        moved = self.transferred
        while not self.idle:
            start = time.perf_counter()
            lib.zsim_run(sim, mask, RUN_CHUNK_CYCLES)
            self._device.time_in_simulator += time.perf_counter() - start
            if self.transferred != moved:
                moved, deadline = self.transferred, time.monotonic() + timeout
            if not self.idle and time.monotonic() > deadline:
                raise DmaError(
                    f"{self.name} transfer made no progress for {timeout:.1f} s "
                    f"({self.transferred} bytes moved, {self._device.cycles} cycles simulated)"
                )
        flags, moved = self._state()
        self._buffer = None
        if flags & CHANNEL_OVERFLOW:
            raise DmaError(f"{self.name}: the tile sent a packet longer than the {moved}-byte buffer")

    def reset(self) -> None:
        self._device._lib.zsim_stop(self._device._sim, self._which)
        self._buffer = None


class SimDevice(Device):
    name = "sim"

    def __init__(
        self, manifest: TileManifest | None = None, *, quiet: bool = False, library: Path | None = None
    ) -> None:
        """`library`: a built simulator to load instead of the cached one (the build's training run)."""
        self.manifest = manifest or load_manifest()
        path = library or ensure_library(self.manifest, quiet=quiet)
        self._lib = _bind(ctypes.CDLL(str(path)))
        if self._lib.zsim_lanes() != self.manifest.lanes:
            raise RuntimeError("simulator library was built for another lane count")
        self._sim = self._lib.zsim_create()
        self._lib.zsim_reset(self._sim, RESET_HOLD_CYCLES)
        self._memory = HostMemory(self)
        self.time_in_simulator = 0.0  # wall seconds spent inside the C++ simulator
        self.send = SimChannel(self, MM2S)
        self.recv = SimChannel(self, S2MM)

    def allocate(
        self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8, cacheable: bool = False
    ) -> Buffer:
        return self._memory.allocate(shape, dtype)

    def read(self, offset: int) -> int:
        value = ctypes.c_uint32()
        start = time.perf_counter()
        resp = self._lib.zsim_reg_read(self._sim, offset, ctypes.byref(value), REGISTER_TIMEOUT_CYCLES)
        self.time_in_simulator += time.perf_counter() - start
        if resp:
            raise RegisterError(f"read of offset 0x{offset:03X} answered {_resp_name(resp)}")
        return value.value

    def write(self, offset: int, value: int) -> None:
        start = time.perf_counter()
        resp = self._lib.zsim_reg_write(
            self._sim, offset, value & 0xFFFFFFFF, ALL_BYTES, REGISTER_TIMEOUT_CYCLES
        )
        self.time_in_simulator += time.perf_counter() - start
        if resp:
            raise RegisterError(f"write of offset 0x{offset:03X} answered {_resp_name(resp)}")

    @property
    def cycles(self) -> int:
        return int(self._lib.zsim_cycles(self._sim))

    def set_stream_patterns(self, source_gaps: int = 0, sink_stalls: int = 0) -> None:
        """Test hook: 32-cycle bit patterns of MM2S gaps and S2MM back-pressure (bit set = pause)."""
        self._lib.zsim_set_patterns(self._sim, source_gaps & 0xFFFFFFFF, sink_stalls & 0xFFFFFFFF)

    def hard_reset(self) -> None:
        """Pulse aresetn, as a PL reset from the PS would."""
        self._lib.zsim_reset(self._sim, RESET_HOLD_CYCLES)

    def close(self) -> None:
        if getattr(self, "_sim", None):
            self._lib.zsim_destroy(self._sim)
            self._sim = None


def _resp_name(resp: int) -> str:
    return {-1: "nothing (timeout)", 1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}.get(resp, str(resp))
