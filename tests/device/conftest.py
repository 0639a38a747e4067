"""Open each target device once per session; a test gets a fresh `Npu` with cleared state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from device_helpers import stream_patterns

from zynpu.device import Device, open_device
from zynpu.npu import Npu

_OPEN: dict[str, Device] = {}


def _open(target: str) -> Device:
    if target not in _OPEN:
        if target == "twin":
            device = _open_twin()
        elif target == "sim":
            device = open_device("sim", quiet=True)
        else:
            device = open_device(target)
        _OPEN[target] = device
    return _OPEN[target]


def _open_twin() -> Device:
    """The board adapter over the real pynq package on the twin device (tests/device/real_pynq.py)."""
    import atexit
    import importlib
    import shutil
    import tempfile
    from pathlib import Path

    pytest.importorskip("pynq", reason="real pynq not installed (CI: Python 3.10, numpy 1.26, pynq 3.0.1)")
    from real_pynq import overlay_files, zynpu_hwh

    from zynpu.device.board import BoardDevice
    from zynpu.device.pynq_twin import TwinDevice
    from zynpu.tile.manifest import load_manifest

    manifest = load_manifest()
    driver = importlib.import_module("zynpu.overlays.pynq_driver")
    folder = Path(tempfile.mkdtemp(prefix="zynpu-twin-overlay-"))
    atexit.register(shutil.rmtree, folder, True)
    bit = overlay_files(folder, zynpu_hwh(manifest.raw["vlnv"]))
    overlay = driver.ZynpuOverlay(str(bit), download=False, device=TwinDevice(manifest))
    return BoardDevice(manifest=manifest, overlay=overlay)


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

