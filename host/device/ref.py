"""The `ref` device: the bit-exact numpy model behind the same interface, for speed.

A job runs when the receive side is waited on with both channels armed, as the tile would run it
once the DMA streams. Registers behave as the register map says; CYCLES advances by the documented
cycle model, since there is no clock here.
"""

from __future__ import annotations

import numpy as np

from ..tile import reference
from ..tile.manifest import TileManifest, load_manifest
from .base import Buffer, Device, DmaChannel, DmaError, HostMemory, RegisterError

MASK32 = 0xFFFFFFFF


class RefChannel(DmaChannel):
    def __init__(self, device: RefDevice, name: str) -> None:
        self._device = device
        self.name = name
        self.armed: tuple[Buffer, int, int] | None = None
        self._transferred = 0

    def _start(self, buffer: Buffer, start: int, nbytes: int) -> None:
        self.armed = (buffer, start, nbytes)
        self._transferred = 0

    def wait(self, timeout: float = 10.0) -> None:
        if self.armed is None:
            return
        self._device._run_job(timeout)

    @property
    def idle(self) -> bool:
        return self.armed is None

    @property
    def transferred(self) -> int:
        return self._transferred

    def reset(self) -> None:
        self.armed = None


class RefDevice(Device):
    name = "ref"

    def __init__(self, manifest: TileManifest | None = None) -> None:
        self.manifest = manifest or load_manifest()
        self.send = RefChannel(self, "MM2S")
        self.recv = RefChannel(self, "S2MM")
        self._memory = HostMemory(self)
        self._counters = dict.fromkeys(self.manifest.counters, 0)
        self._scratch = 0
        self._irq_enable = False
        self._done = False
        self._error = 0

    def allocate(
        self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8, cacheable: bool = False
    ) -> Buffer:
        return self._memory.allocate(shape, dtype)

    def _run_job(self, timeout: float) -> None:
        if self.send.armed is None or self.recv.armed is None:
            missing = "S2MM (receive)" if self.recv.armed is None else "MM2S (send)"
            raise DmaError(f"transfer cannot complete: the {missing} channel was never started")
        buffer, start, nbytes = self.send.armed
        data = buffer.view(np.uint8).reshape(-1)[start : start + nbytes]
        lanes = self.manifest.stream_bytes
        beats = -(-nbytes // lanes)
        if nbytes % lanes:  # a partial last beat: the tile sees it zero-filled (its TKEEP is flagged)
            padded = np.zeros(beats * lanes, dtype=np.uint8)
            padded[:nbytes] = data
        else:
            padded = data  # whole beats: read in place, no copy of a packet that may be 168 MB
        keep_ok = np.ones(beats, dtype=bool)
        keep_ok[-1] = nbytes % lanes == 0
        result = reference.run_packet(self.manifest, padded, keep_ok=keep_ok)

        out_buffer, out_start, capacity = self.recv.armed
        out = out_buffer.view(np.uint8).reshape(-1)
        moved = min(capacity, result.output.size)
        out[out_start : out_start + moved] = result.output[:moved]
        self.send._transferred, self.recv._transferred = nbytes, moved
        self.send.armed = self.recv.armed = None

        counts = self._counters
        counts["ACTIVE"] += result.weight_beats
        counts["CYCLES"] += result.cycles or beats + result.output.size // lanes
        counts["ERRORS" if result.error else "JOBS"] += 1
        for name in counts:
            counts[name] &= MASK32
        self._done = True
        if result.error:
            self._error = result.error
        if result.output.size > capacity:
            raise DmaError(f"S2MM: the tile sent a packet longer than the {capacity}-byte buffer")

    def read(self, offset: int) -> int:
        man = self.manifest
        values = {
            **man.identity,
            "CONTROL": man.bit("CONTROL", "IRQ_ENABLE") if self._irq_enable else 0,
            "STATUS": (man.bit("STATUS", "DONE") if self._done else 0)
            | self._error << man.field("STATUS", "ERROR")[0],
            "SCRATCH": self._scratch,
            **self._counters,
        }
        for reg in man.raw["registers"]:
            if reg["offset"] == offset & ~3:
                return int(values[reg["name"]])
        raise RegisterError(f"read of offset 0x{offset:03X} answered SLVERR")

    def write(self, offset: int, value: int) -> None:
        man = self.manifest
        if offset == man.offset("SCRATCH"):
            self._scratch = value & MASK32
        elif offset == man.offset("CONTROL"):
            if value & man.bit("CONTROL", "CLEAR_COUNTERS"):
                self._counters = dict.fromkeys(self._counters, 0)
            if value & man.bit("CONTROL", "CLEAR_STATUS"):
                self._done, self._error = False, 0
            if value & man.bit("CONTROL", "SOFT_RESET"):
                self.send.reset()
                self.recv.reset()
            self._irq_enable = bool(value & man.bit("CONTROL", "IRQ_ENABLE"))
        else:
            raise RegisterError(f"write of offset 0x{offset:03X} answered SLVERR")
