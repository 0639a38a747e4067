"""Simulated SPI bus between the host driver and a SimEsp32, with fault injection.

Implements the `Transport` interface. Faults are drawn from a seeded generator so a failing soak can
be replayed: byte corruption in either direction, transactions the slave misses (master reads zeros),
a handshake line that stalls, and an ESP32 reset in the middle of a transaction.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import wire
from .esp32 import SimEsp32


@dataclass
class Faults:
    corrupt_rate: float = 0.0  # probability per byte and direction of a flipped bit
    drop_rate: float = 0.0  # probability per transaction that the slave misses it
    stall_rate: float = 0.0  # probability per transaction that the handshake then stalls
    stall_time: float = 0.02  # seconds a stall lasts
    reset_rate: float = 0.0  # probability per transaction that the ESP32 resets mid-transfer
    cold_resets: bool = False  # resets lose RTC memory too (power loss) instead of a panic/watchdog
    seed: int = 0


@dataclass
class BusCounters:
    transactions: int = 0
    clock_bits: int = 0
    corrupted_bytes: int = 0
    dropped: int = 0
    stalls: int = 0
    resets: int = 0
    reset_times: list[float] = field(default_factory=list)


class SimBus:
    """A Transport whose far end is the firmware core running in a SimEsp32."""

    def __init__(self, esp: SimEsp32 | None = None, faults: Faults | None = None, *,
                 own_esp: bool = True) -> None:
        self.esp = esp or SimEsp32()
        self._own_esp = own_esp or esp is None
        self.faults = faults or Faults()
        self.size = wire.TRANSACTION_SIZE
        self.counters = BusCounters()
        self._rng = np.random.default_rng(self.faults.seed)
        self._stall_until = 0.0
        self._lock = threading.Lock()

    # --- lines --------------------------------------------------------------------------------------
    def handshake(self) -> bool:
        return self.esp.booted and time.monotonic() >= self._stall_until

    def wait_handshake(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.handshake():
            now = time.monotonic()
            if now >= deadline:
                return False
            time.sleep(min(0.0005, deadline - now))
        return True

    def data_ready(self) -> bool:
        return self.esp.data_ready_event.is_set()

    # --- one transaction ----------------------------------------------------------------------------
    def _corrupt(self, buf: bytes) -> bytes:
        rate = self.faults.corrupt_rate
        if rate <= 0:
            return buf
        n = int(self._rng.binomial(len(buf), rate))
        if n == 0:
            return buf
        out = bytearray(buf)
        for pos, bit in zip(self._rng.integers(0, len(buf), n), self._rng.integers(0, 8, n), strict=False):
            out[pos] ^= 1 << int(bit)
        self.counters.corrupted_bytes += n
        return bytes(out)

    def transfer(self, tx: bytes) -> bytes:
        if len(tx) != self.size:
            raise ValueError(f"transaction must be {self.size} bytes, got {len(tx)}")
        with self._lock:
            c, f, rng = self.counters, self.faults, self._rng
            c.transactions += 1
            c.clock_bits += 8 * self.size
            if not self.esp.booted:
                return bytes(self.size)  # nobody listening: MISO floats low
            if f.drop_rate and rng.random() < f.drop_rate:
                c.dropped += 1
                return bytes(self.size)
            if f.reset_rate and rng.random() < f.reset_rate:
                cut = int(rng.integers(1, self.size))
                miso = self.esp.queued()[:cut] + bytes(self.size - cut)
                c.resets += 1
                c.reset_times.append(time.monotonic())
                self.esp.reset(cold=f.cold_resets)
                return miso
            miso = self._corrupt(self.esp.exchange(self._corrupt(tx)))
            if f.stall_rate and rng.random() < f.stall_rate:
                c.stalls += 1
                self._stall_until = time.monotonic() + f.stall_time
            return miso

    def close(self) -> None:
        if self._own_esp:
            self.esp.close()
