"""Open each target device once per session; a test gets a fresh `Npu` with cleared state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zynpu.device import Device, open_device, pynq_shim
from zynpu.npu import Npu

from .device_helpers import stream_patterns

_OPEN: dict[str, Device] = {}


def _open(target: str) -> Device:
    if target not in _OPEN:
        if target == "shim":
            from zynpu.device.board import BoardDevice

            backing = open_device("sim", quiet=True)
            pynq = pynq_shim.install(backing)
            try:
                device = BoardDevice(overlay=pynq.Overlay("zynpu.bit"))
            finally:
                pynq_shim.uninstall()
            device.backing = backing  # type: ignore[attr-defined]
        elif target == "sim":
            device = open_device("sim", quiet=True)
        else:
            device = open_device(target)
        _OPEN[target] = device
    return _OPEN[target]


@pytest.fixture
def device(target: str) -> Iterator[Device]:
    dev = _open(target)
    Npu(dev).reset()
    yield dev
    stall_control = stream_patterns(dev)
    if stall_control:
        stall_control(0, 0)


@pytest.fixture
def npu(device: Device) -> Npu:
    return Npu(device, timeout=20.0)

