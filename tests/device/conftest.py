"""Open each target device once per session and close it at the end; a test gets a fresh `Npu`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zynpu.device import Device, open_device
from zynpu.npu import Npu

from .device_helpers import stream_patterns


def _open(target: str) -> Device:
    if target == "twin":
        return _open_twin()
    return open_device("sim", quiet=True) if target == "sim" else open_device(target)


class OpenDevices:
    """The session's devices by target: opened on first use, closed together (last opened first)."""

    def __init__(self) -> None:
        self._by_target: dict[str, Device] = {}

    def get(self, target: str) -> Device:
        if target not in self._by_target:
            self._by_target[target] = _open(target)
        return self._by_target[target]

    def close(self) -> None:
        for device in reversed(list(self._by_target.values())):
            device.close()
        self._by_target.clear()


@pytest.fixture(scope="session")
def open_devices() -> Iterator[OpenDevices]:
    devices = OpenDevices()
    yield devices
    devices.close()


def _open_twin() -> Device:
    """The board adapter over the real pynq package on the twin device (tests/device/real_pynq.py)."""
    import atexit
    import importlib
    import shutil
    import tempfile
    from pathlib import Path

    pytest.importorskip("pynq", reason="real pynq not installed (CI: Python 3.10, numpy 1.26, pynq 3.0.1)")
    from zynpu.device.board import BoardDevice
    from zynpu.device.pynq_twin import TwinDevice
    from zynpu.tile.manifest import load_manifest

    from ..real_pynq import overlay_files, zynpu_hwh

    manifest = load_manifest()
    driver = importlib.import_module("zynpu.overlays.pynq_driver")
    folder = Path(tempfile.mkdtemp(prefix="zynpu-twin-overlay-"))
    atexit.register(shutil.rmtree, folder, True)
    bit = overlay_files(folder, zynpu_hwh(manifest.raw["vlnv"]))
    overlay = driver.ZynpuOverlay(str(bit), download=False, device=TwinDevice(manifest))
    return BoardDevice(manifest=manifest, overlay=overlay)


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

