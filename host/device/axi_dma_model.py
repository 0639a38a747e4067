"""A simulated AXI DMA (PG021, simple mode) in front of the tile, so pynq's own `DMA` driver runs here.

What is modelled is what PG021 documents for direct register mode: DMACR.RS starts a channel
(DMASR.Halted clears), writing LENGTH starts a transfer (DMASR.Idle clears, and sets with IOC_Irq when
it completes), RS=0 halts only once the transfer in flight completes, DMACR.Reset resets the whole
engine (both channels, every register to its reset value; the bit reads 1 until the reset is done),
a zero LENGTH or an S2MM packet longer than LENGTH is DMAIntErr, an address nothing answers is
DMADecErr, and an error halts the channel until a reset. S2MM completes on TLAST and LENGTH then
reads back the bytes received. Time passes one tick per register access (software polling is the only
clock here); each tick moves a few stream beats each way.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..tile.manifest import TileManifest
from . import axi_dma_regs as R
from .base import aligned_empty
from .ref import RefDevice

MASK32 = 0xFFFFFFFF


class DecodeError(RuntimeError):
    """An address that no memory answers (the bus would return DECERR)."""


class PhysicalMemory:
    """DDR as the DMA sees it: physically addressed regions, each a numpy byte array."""

    def __init__(self, base: int = 0x7000_0000) -> None:
        self._next = base
        self._regions: list[tuple[int, np.ndarray]] = []

    def allocate(self, nbytes: int) -> tuple[int, np.ndarray]:
        """A 4 KiB-aligned region (the CMA pool's granularity) and its bytes."""
        memory = aligned_empty(max(nbytes, 1), 4096)
        address = self._next
        self._regions.append((address, memory))
        self._next += -(-max(nbytes, 1) // 4096) * 4096 + 4096
        return address, memory

    def view(self, address: int, nbytes: int) -> np.ndarray:
        for base, memory in self._regions:
            if base <= address and address + nbytes <= base + memory.size:
                return memory[address - base : address - base + nbytes]
        raise DecodeError(f"no memory at 0x{address:X}..0x{address + nbytes:X}")


class StreamTile:
    """The tile seen from its streams and registers: the `ref` model fed beat by beat.

    A packet is computed when its TLAST beat arrives; the output packet then leaves one beat at a
    time as the S2MM side takes it. CONTROL.SOFT_RESET does what the RTL does (hw/rtl/tile.py resets
    the parser, array and drain): the input gathered so far and the output not yet sent are dropped,
    so an output packet cut by a soft reset never gets its TLAST.
    `stop_output_after` is a fault hook: a wedged tile that stops sending after that many beats.
    """

    def __init__(self, manifest: TileManifest) -> None:
        self.ref = RefDevice(manifest)
        self.manifest = manifest
        self.lanes = manifest.stream_bytes
        self._input = bytearray()
        self._output: deque[tuple[bytes, bool]] = deque()
        self.beats_sent = 0
        self.stop_output_after: int | None = None
        self._soft_reset_bit = manifest.bit("CONTROL", "SOFT_RESET")

    def accept(self, data: bytes, last: bool) -> None:
        self._input += data
        if last:
            packet, self._input = bytes(self._input), bytearray()
            self._output.extend(self._run(packet))

    def _run(self, packet: bytes) -> list[tuple[bytes, bool]]:
        ref = self.ref
        source = ref.allocate(len(packet), np.uint8)
        source[:] = np.frombuffer(packet, dtype=np.uint8)
        sink = ref.allocate(self.manifest.rows * self.manifest.max_n * 4 + self.lanes, np.uint8)
        ref.recv.transfer(sink)
        ref.send.transfer(source)
        ref.recv.wait()
        out = bytes(sink[: ref.recv.transferred])
        beats = [out[i : i + self.lanes] for i in range(0, len(out), self.lanes)]
        return [(beat, i == len(beats) - 1) for i, beat in enumerate(beats)]

    def output_ready(self) -> bool:
        wedged = self.stop_output_after is not None and self.beats_sent >= self.stop_output_after
        return bool(self._output) and not wedged

    def take(self) -> tuple[bytes, bool]:
        self.beats_sent += 1
        return self._output.popleft()

    def read(self, offset: int) -> int:
        return self.ref.read(offset)

    def write(self, offset: int, value: int) -> None:
        if offset == self.manifest.offset("CONTROL") and value & self._soft_reset_bit:
            self._input.clear()
            self._output.clear()
        self.ref.write(offset, value)


@dataclass
class _Channel:
    """One direction's registers and the transfer in flight."""

    cr: int = 0
    sr: int = R.SR_HALTED
    addr: int = 0
    addr_msb: int = 0
    length: int = 0
    active: bool = False
    done: int = 0  # bytes moved so far
    stop_pending: bool = False

    @property
    def address(self) -> int:
        return self.addr_msb << 32 | self.addr


class AxiDmaModel:
    """Both channels of one AXI DMA between `memory` and `tile`; `read`/`write` are its AXI4-Lite port."""

    def __init__(
        self, memory: PhysicalMemory, tile: StreamTile, *, beats_per_tick: int = 4, reset_ticks: int = 3
    ) -> None:
        self.memory = memory
        self.tile = tile
        self.beats_per_tick = beats_per_tick
        self.reset_ticks = reset_ticks
        self.mm2s = _Channel()
        self.s2mm = _Channel()
        self._reset_left = 0

    # The register port ---------------------------------------------------------------------------
    def read(self, offset: int) -> int:
        self.tick()
        channel, reg = self._decode(offset)
        if reg == R.DMACR:
            return channel.cr | (R.CR_RESET if self._reset_left else 0)
        if reg == R.DMASR:
            return channel.sr
        if reg == R.ADDR:
            return channel.addr
        if reg == R.ADDR_MSB:
            return channel.addr_msb
        if reg == R.LENGTH:
            return channel.length
        return 0  # reserved and scatter-gather registers read 0 in simple mode

    def write(self, offset: int, value: int) -> None:
        self.tick()
        value &= MASK32
        channel, reg = self._decode(offset)
        if reg == R.DMACR:
            self._write_control(channel, value)
        elif reg == R.DMASR:
            channel.sr &= ~(value & (R.SR_IOC_IRQ | R.SR_ERR_IRQ | 1 << 13))  # write 1 to clear
        elif reg == R.ADDR:
            channel.addr = value
        elif reg == R.ADDR_MSB:
            channel.addr_msb = value
        elif reg == R.LENGTH:
            self._start(channel, value)

    def _decode(self, offset: int) -> tuple[_Channel, int]:
        if R.S2MM <= offset < R.S2MM + 0x30:
            return self.s2mm, offset - R.S2MM
        return self.mm2s, offset - R.MM2S

    def _write_control(self, channel: _Channel, value: int) -> None:
        if value & R.CR_RESET:
            self._reset_left = self.reset_ticks
            return
        channel.cr = value & (R.CR_RS | R.CR_IOC_IRQ_EN | R.CR_ERR_IRQ_EN | 0xFFFF0000)
        if value & R.CR_RS:
            channel.stop_pending = False
            if not channel.sr & R.SR_ERRORS:
                channel.sr &= ~R.SR_HALTED
        elif channel.active:
            channel.stop_pending = True  # RS=0 halts once the transfer in flight completes
        else:
            channel.sr |= R.SR_HALTED

    def _start(self, channel: _Channel, length: int) -> None:
        if channel.sr & R.SR_HALTED:
            return  # a halted channel ignores LENGTH
        if length == 0:
            self._fail(channel, R.SR_DMA_INT_ERR)
            return
        channel.length = length
        channel.active, channel.done = True, 0
        channel.sr &= ~R.SR_IDLE

    def _fail(self, channel: _Channel, error: int) -> None:
        channel.sr |= error | R.SR_ERR_IRQ | R.SR_HALTED
        channel.cr &= ~R.CR_RS
        channel.active = False

    def _complete(self, channel: _Channel) -> None:
        channel.active = False
        channel.sr |= R.SR_IDLE | R.SR_IOC_IRQ
        if channel.stop_pending:
            channel.sr |= R.SR_HALTED
            channel.stop_pending = False

    # Time ----------------------------------------------------------------------------------------
    def tick(self) -> None:
        if self._reset_left:
            self._reset_left -= 1
            if not self._reset_left:
                # Streams in flight are cut; nothing of either channel survives.
                self.mm2s, self.s2mm = _Channel(), _Channel()
            return
        for _ in range(self.beats_per_tick):
            self._step_mm2s()
            self._step_s2mm()

    def _step_mm2s(self) -> None:
        channel, lanes = self.mm2s, self.tile.lanes
        if not channel.active:
            return
        count = min(lanes, channel.length - channel.done)
        try:
            data = self.memory.view(channel.address + channel.done, count).tobytes()
        except DecodeError:
            self._fail(channel, R.SR_DMA_DEC_ERR)
            return
        channel.done += count
        last = channel.done == channel.length
        self.tile.accept(data, last)
        if last:
            self._complete(channel)

    def _step_s2mm(self) -> None:
        channel = self.s2mm
        if not channel.active or not self.tile.output_ready():
            return
        beat, last = self.tile.take()
        if channel.done + len(beat) > channel.length:
            self._fail(channel, R.SR_DMA_INT_ERR)  # the packet is longer than the buffer
            return
        try:
            self.memory.view(channel.address + channel.done, len(beat))[:] = np.frombuffer(beat, np.uint8)
        except DecodeError:
            self._fail(channel, R.SR_DMA_DEC_ERR)
            return
        channel.done += len(beat)
        if last:
            channel.length = channel.done  # S2MM LENGTH reads back the bytes received
            self._complete(channel)
