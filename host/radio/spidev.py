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

    def set(self, high: bool) -> None:
        (self.path / "value").write_text("1" if high else "0")


def _sysfs_output(number: int) -> _SysfsLine:
    line = _SysfsLine(number)
    (line.path / "direction").write_text("high")  # output, EN high: the ESP32 runs
    return line


class _GpiodLine:
    def __init__(self, chip: str, offset: int, output: bool = False) -> None:
        import gpiod  # type: ignore[import-not-found]

        self._offset = offset
        direction = gpiod.line.Direction.OUTPUT if output else gpiod.line.Direction.INPUT
        settings = gpiod.LineSettings(direction=direction)
        if output:
            settings.output_value = gpiod.line.Value.ACTIVE  # EN high: the ESP32 runs
        self._req = gpiod.request_lines(chip, consumer="zynpu-radio", config={offset: settings})
        self._active, self._inactive = gpiod.line.Value.ACTIVE, gpiod.line.Value.INACTIVE

    def value(self) -> bool:
        return self._req.get_value(self._offset) == self._active

    def set(self, high: bool) -> None:
        self._req.set_value(self._offset, self._active if high else self._inactive)


# The ESP32 holds EN (CHIP_PU) low for a reset; its datasheet asks for at least 50 us. 10 ms also lets
# the host's line settle; the chip then boots (~300 ms to app_main) and announces itself with SYNC.
EN_PULSE_S = 0.01


class SpidevTransport:
    """Transport over /dev/spidevB.C; handshake/data_ready/reset are GPIO numbers (gpiod offsets on
    gpio_chip). speed_hz is the clock asked for (default 10 MHz, the ESP32 SPI slave's limit); the
    driver lowers it to what the slave's LINK.HELLO says. reset: the GPIO wired to the ESP32's EN."""

    def __init__(self, device: str = "/dev/spidev1.0", *, handshake: int = 0, data_ready: int = 1,
                 gpio_chip: str = "/dev/gpiochip0", speed_hz: int = wire.HOST_DEFAULT_SPI_HZ, mode: int = 2,
                 reset: int | None = None) -> None:
        import spidev  # type: ignore[import-not-found]

        bus, cs = (int(x) for x in os.path.basename(device).removeprefix("spidev").split("."))
        self._spi = spidev.SpiDev()
        self._spi.open(bus, cs)
        self._spi.max_speed_hz, self._spi.mode = speed_hz, mode
        self.clock_hz = speed_hz
        self.size = wire.TRANSACTION_SIZE
        self._en: _GpiodLine | _SysfsLine | None = None
        try:
            self._hs, self._dr = _GpiodLine(gpio_chip, handshake), _GpiodLine(gpio_chip, data_ready)
            if reset is not None:
                self._en = _GpiodLine(gpio_chip, reset, output=True)
        except ImportError:
            self._hs, self._dr = _SysfsLine(handshake), _SysfsLine(data_ready)
            if reset is not None:
                self._en = _sysfs_output(reset)

    def set_clock_hz(self, hz: int) -> None:
        self._spi.max_speed_hz = int(hz)

    def reset_slave(self) -> None:
        """Pulse EN low: a power-on reset of the ESP32 (no-op without a reset line)."""
        if self._en is None:
            return
        self._en.set(False)
        time.sleep(EN_PULSE_S)
        self._en.set(True)

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
