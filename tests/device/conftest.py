"""Open each target device once per session and close it at the end; a test gets a fresh `Npu`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zynpu.device import Device, open_device, pynq_shim
from zynpu.npu import Npu

from .device_helpers import stream_patterns


def _open(target: str) -> tuple[Device, list[Device]]:
    """The device the tests drive for `target`, and every device opened for it (to close, last first)."""
    if target == "shim":
        from zynpu.device.board import BoardDevice

        backing = open_device("sim", quiet=True)
        pynq = pynq_shim.install(backing)
        try:
            device = BoardDevice(overlay=pynq.Overlay("zynpu.bit"))
        finally:
            pynq_shim.uninstall()
        device.backing = backing  # type: ignore[attr-defined]
        return device, [backing, device]
    device = open_device("sim", quiet=True) if target == "sim" else open_device(target)
    return device, [device]


class OpenDevices:
    """The session's devices by target: opened on first use, closed together (last opened first)."""

    def __init__(self) -> None:
        self._by_target: dict[str, Device] = {}
        self._opened: list[Device] = []

    def get(self, target: str) -> Device:
        if target not in self._by_target:
            device, opened = _open(target)
            self._opened += opened
            self._by_target[target] = device
        return self._by_target[target]

    def close(self) -> None:
        while self._opened:
            self._opened.pop().close()
        self._by_target.clear()


@pytest.fixture(scope="session")
def open_devices() -> Iterator[OpenDevices]:
    devices = OpenDevices()
    yield devices
    devices.close()


@pytest.fixture
def device(target: str, open_devices: OpenDevices) -> Iterator[Device]:
    dev = open_devices.get(target)
    Npu(dev).reset()
    yield dev
    stall_control = stream_patterns(dev)
    if stall_control:
        stall_control(0, 0)


@pytest.fixture
def npu(device: Device) -> Npu:
    return Npu(device, timeout=20.0)
