"""Board sensors behind one interface: sysfs hwmon on the board, simulated values here.

PYNQ boards expose the Zynq's die temperature and the PMBus power rails through Linux hwmon
(`/sys/class/hwmon/hwmon*/temp1_input` in millidegrees C, `power1_input` in microwatts), which is
what `HwmonSensors` reads; `SimSensors` gives the same readings from numbers (optionally drifting).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

UNITS = {"temp": "C", "power": "W"}


class Sensors(Protocol):
    def read(self, name: str) -> float:
        """The current value of `name` ("temp" in C, "power" in W)."""
        ...


class SimSensors:
    """Fixed values plus an optional slow sine drift, so a threshold can be crossed in a test."""

    def __init__(self, temp: float = 45.0, power: float = 3.0, drift: float = 0.0, period: float = 10.0):
        self.values = {"temp": temp, "power": power}
        self.drift, self.period, self.t0 = drift, period, time.monotonic()

    def set(self, name: str, value: float) -> None:
        self.values[name] = value

    def read(self, name: str) -> float:
        base = self.values[name]
        if self.drift:
            base += self.drift * math.sin(2 * math.pi * (time.monotonic() - self.t0) / self.period)
        return round(base, 1 if name == "temp" else 2)


class HwmonSensors:
    """The first hwmon device offering each reading (board temperature and power)."""

    def __init__(self, root: str | Path = "/sys/class/hwmon") -> None:
        self.files: dict[str, Path] = {}
        for dev in sorted(Path(root).glob("hwmon*")):
            for name, fname in (("temp", "temp1_input"), ("power", "power1_input")):
                if name not in self.files and (dev / fname).exists():
                    self.files[name] = dev / fname
        if not self.files:
            raise FileNotFoundError(f"no hwmon temperature or power inputs under {root}")

    def read(self, name: str) -> float:
        if name not in self.files:
            raise KeyError(f"this board has no {name} sensor in hwmon")
        raw = int(self.files[name].read_text().strip())
        return round(raw / 1000.0, 1) if name == "temp" else round(raw / 1e6, 2)


def open_sensors(kind: str = "sim") -> Sensors:
    return HwmonSensors() if kind == "hwmon" else SimSensors()
