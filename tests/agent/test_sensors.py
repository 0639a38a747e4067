"""Sensors: hwmon files (as the board's kernel exposes them) and the simulated stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from zynpu.agent.hwtools import Backends, build_registry
from zynpu.agent.sensors import HwmonSensors, SimSensors


def test_hwmon_units_and_first_device_wins(tmp_path: Path) -> None:
    (tmp_path / "hwmon0").mkdir()
    (tmp_path / "hwmon0" / "temp1_input").write_text("48250\n")  # millidegrees C
    (tmp_path / "hwmon1").mkdir()
    (tmp_path / "hwmon1" / "temp1_input").write_text("99000\n")
    (tmp_path / "hwmon1" / "power1_input").write_text("3215000\n")  # microwatts
    s = HwmonSensors(tmp_path)
    assert s.read("temp") == 48.2 and s.read("power") == 3.21
    reg = build_registry(Backends(sensors=s))
    assert reg["read_sensor"].fn(name="power") == {"value": 3.21, "unit": "W"}


def test_hwmon_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no hwmon"):
        HwmonSensors(tmp_path)
    (tmp_path / "hwmon0").mkdir()
    (tmp_path / "hwmon0" / "temp1_input").write_text("1000")
    with pytest.raises(KeyError, match="power"):
        HwmonSensors(tmp_path).read("power")


def test_simulated_drift_crosses_a_threshold() -> None:
    s = SimSensors(temp=79.0, drift=2.0, period=0.2)
    seen = set()
    import time

    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.3:
        seen.add(s.read("temp") > 80.0)
    assert seen == {True, False}
