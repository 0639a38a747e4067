"""Fixtures: a simulated ESP32 (the firmware's C core built with gcc) driven by the real host driver."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from zynpu.radio import Radio
from zynpu.radio.sim.bus import Faults, SimBus

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the firmware core")


def make_radio(faults: Faults | None = None, **kw: object) -> Radio:
    radio = Radio(SimBus(faults=faults), **kw)  # type: ignore[arg-type]
    radio.wait_up(5)
    return radio


@pytest.fixture
def radio() -> Iterator[Radio]:
    r = make_radio()
    yield r
    r.close()
