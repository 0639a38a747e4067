"""The board's transport: Linux spidev for the bus, GPIO for the handshake and data-ready lines.

A thin adapter; `spidev` and `gpiod` (libgpiod v2 bindings) are imported only here, and the sysfs GPIO
interface is the fallback when gpiod is not installed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from . import wire


class _SysfsLine:
    def __init__(self, number: int) -> None:
        base = Path("/sys/class/gpio")
        self.path = base / f"gpio{number}"
        if not self.path.exists():
            (base / "export").write_text(str(number))
        (self.path / "direction").write_text("in")

    def value(self) -> bool:
        return (self.path / "value").read_text().strip() == "1"


class _GpiodLine:
    def __init__(self, chip: str, offset: int) -> None:
        import gpiod  # type: ignore[import-not-found]

        self._offset = offset
        self._req = gpiod.request_lines(chip, consumer="zynpu-radio",
                                        config={offset: gpiod.LineSettings(
                                            direction=gpiod.line.Direction.INPUT)})
        self._active = gpiod.line.Value.ACTIVE

    def value(self) -> bool:
        return self._req.get_value(self._offset) == self._active


class SpidevTransport:
    """Transport over /dev/spidevB.C; handshake/data_ready are GPIO numbers (gpiod offsets on gpio_chip)."""

    def __init__(self, device: str = "/dev/spidev1.0", *, handshake: int = 0, data_ready: int = 1,
                 gpio_chip: str = "/dev/gpiochip0", speed_hz: int = 20_000_000, mode: int = 2) -> None:
        import spidev  # type: ignore[import-not-found]

        bus, cs = (int(x) for x in os.path.basename(device).removeprefix("spidev").split("."))
        self._spi = spidev.SpiDev()
        self._spi.open(bus, cs)
        self._spi.max_speed_hz, self._spi.mode = speed_hz, mode
        self.size = wire.TRANSACTION_SIZE
        try:
            self._hs, self._dr = _GpiodLine(gpio_chip, handshake), _GpiodLine(gpio_chip, data_ready)
        except ImportError:
            self._hs, self._dr = _SysfsLine(handshake), _SysfsLine(data_ready)

    def wait_handshake(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._hs.value():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.0001)
        return True

    def data_ready(self) -> bool:
        return self._dr.value()

    def transfer(self, tx: bytes) -> bytes:
        return bytes(self._spi.xfer3(list(tx)))

    def close(self) -> None:
        self._spi.close()
