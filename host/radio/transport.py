"""The transport interface the host driver talks to: one SPI transaction plus the two GPIO lines.

Both `SpidevTransport` (the board) and `zynpu.radio.sim.bus.SimBus` (the simulator) implement it, so
the driver cannot tell which one it drives.
"""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    size: int  # bytes per transaction (wire.TRANSACTION_SIZE)

    def wait_handshake(self, timeout: float) -> bool:
        """Block until the slave has queued a transaction buffer; False on timeout."""

    def data_ready(self) -> bool:
        """Level of the data-ready line: the slave has something to send."""

    def transfer(self, tx: bytes) -> bytes:
        """Clock one full-duplex transaction of `size` bytes."""

    def close(self) -> None: ...

# Optional, used when present: `clock_hz` (the clock asked for), `set_clock_hz(hz)` (the driver starts at
# wire.HOST_START_SPI_HZ and then never exceeds the slave's LINK.HELLO max_spi_hz) and `reset_slave()`
# (pulse the ESP32's EN line; Radio(reset_peer=True) does it before the link starts).
