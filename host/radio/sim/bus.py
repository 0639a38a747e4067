"""Simulated SPI bus between the host driver and a SimEsp32, with a clock and fault injection.

Implements the `Transport` interface. The bus keeps time: a transaction of `size` bytes takes
8 * size / clock_hz seconds plus a per-transaction gap (the ESP32 re-arming its slave buffer, spidev
syscall and chip-select overhead on the host), and `transfer` does not return before the bus time
it has used has passed in wall time, so the driver sees a board's pace. A slave clocked faster than its
`max_spi_hz` (the ESP32 SPI slave: about 10 MHz) reads garbage, as the real part does.

Faults are drawn from a seeded generator so a failing soak can be replayed: byte corruption in either
direction, transactions the slave misses (master reads zeros), a handshake line that stalls, and an
ESP32 reset in the middle of a transaction.
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


# Documented gap assumption (docs/radio.md): Linux spidev ioctl + chip-select setup on a Cortex-A53
# host, with the ESP32's next slave buffer already queued (queue depth 3), about 50 us per transaction.
DEFAULT_GAP_US = 50.0
SLACK_S = 0.004  # default: how far wall time may trail bus time before transfer() sleeps


@dataclass
class BusCounters:
    transactions: int = 0
    clock_bits: int = 0
    bus_time_s: float = 0.0  # clocked time plus gaps
    max_clock_hz: int = 0  # fastest clock any transaction used
    overclocked: int = 0  # transactions clocked faster than the slave takes
    corrupted_bytes: int = 0
    dropped: int = 0
    stalls: int = 0
    resets: int = 0
    reset_times: list[float] = field(default_factory=list)


class SimBus:
    """A Transport whose far end is the firmware core running in a SimEsp32."""

    def __init__(self, esp: SimEsp32 | None = None, faults: Faults | None = None, *,
                 own_esp: bool = True, clock_hz: int = wire.HOST_DEFAULT_SPI_HZ,
                 gap_us: float = DEFAULT_GAP_US, realtime: bool = True, slack_s: float = SLACK_S) -> None:
        self.esp = esp or SimEsp32()
        self._own_esp = own_esp or esp is None
        self.faults = faults or Faults()
        self.size = wire.TRANSACTION_SIZE
        self.counters = BusCounters()
        self._rng = np.random.default_rng(self.faults.seed)
        self._stall_until = 0.0
        self._lock = threading.Lock()
        self.clock_hz = clock_hz  # what the host asked for; the driver lowers it to the slave's limit
        self.gap_s = gap_us / 1e6
        self.realtime = realtime
        self.slack_s = slack_s  # 0: every transaction waits out its own time (exact per-call latency)
        self._free_at = 0.0  # monotonic time at which the bus is free again

    def set_clock_hz(self, hz: int) -> None:
        self._clock_now = int(hz)

    @property
    def clock_now_hz(self) -> int:
        return getattr(self, "_clock_now", self.clock_hz)

    def transaction_time(self, clock_hz: int | None = None) -> float:
        """Seconds one transaction occupies the bus: clocked bits plus the gap."""
        return 8 * self.size / (clock_hz or self.clock_now_hz) + self.gap_s

    def reset_slave(self) -> None:
        """Pulse the ESP32's EN line: a chip reset that loses RTC memory (reset reason power-on)."""
        self.esp.reset(cold=True)

    def _keep_time(self) -> None:
        """Occupy the bus for one transaction. Bus time never runs ahead of what the clock allows: a
        transaction starts when the previous one (and its gap) is over, or later if the host is late.
        Wall time follows bus time within slack_s: sleeping per transaction would add the scheduler's
        wake-up latency to every transaction, which a board's kernel driver does not have. Timed runs
        end with wait_idle(), so a rate never exceeds what the clock allows."""
        now = time.monotonic()
        start = max(now, self._free_at)
        duration = self.transaction_time()
        self.counters.bus_time_s += duration
        self._free_at = start + duration
        ahead = self._free_at - now
        if self.realtime and ahead > self.slack_s:
            time.sleep(ahead - self.slack_s / 2)

    def wait_idle(self) -> None:
        """Let wall time catch up with bus time (end of a timed run: never report faster than the bus)."""
        delay = self._free_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

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
            clock = self.clock_now_hz
            c.max_clock_hz = max(c.max_clock_hz, clock)
            self._keep_time()
            if clock > self.esp.max_spi_hz:
                c.overclocked += 1  # the slave samples too late: what it sends and receives is garbage
                self.esp.exchange(bytes(self._rng.integers(0, 256, self.size, dtype=np.uint8)))
                return bytes(self._rng.integers(0, 256, self.size, dtype=np.uint8))
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
