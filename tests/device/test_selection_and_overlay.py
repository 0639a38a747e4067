"""Device selection, the pynq boundary, and the PYNQ overlay driver run over the pynq-shaped shim."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from device_helpers import random_int8

from zynpu.device import open_device, pynq_shim
from zynpu.device.select import device_name
from zynpu.tile import reference


def test_environment_chooses_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZYNPU_DEVICE", "ref")
    assert device_name() == "ref"
    assert device_name("sim") == "sim"  # the command line wins
    monkeypatch.delenv("ZYNPU_DEVICE")
    assert device_name() == "sim"


def test_unknown_device_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown device 'fpga'.*sim, ref, board"):
        open_device("fpga")


def test_pynq_is_imported_only_for_the_board() -> None:
    sys.modules.pop("pynq", None)
    open_device("ref")
    assert "pynq" not in sys.modules
    with pytest.raises(RuntimeError, match="needs pynq"):
        open_device("board")


def test_sim_and_ref_agree_on_results_and_counters() -> None:
    from zynpu.npu import Npu

    rng = np.random.default_rng(21)
    x, w = random_int8(rng, (13, 300)), random_int8(rng, (70, 300))
    outputs, stats = [], []
    for name in ("sim", "ref"):
        npu = Npu(open_device(name, quiet=True) if name == "sim" else open_device(name))
        outputs.append(npu.matmul(x, npu.load_weights(w)))
        stats.append((npu.last.jobs, npu.last.cycles, npu.last.active, npu.last.bytes_in, npu.last.bytes_out))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert stats[0] == stats[1]


def test_overlay_driver_binds_by_vlnv_and_drives_the_tile() -> None:
    backing = open_device("ref")
    pynq_shim.install(backing)
    try:
        driver = importlib.reload(importlib.import_module("zynpu.overlays.pynq_driver"))
        overlay = driver.ZynpuOverlay("zynpu.bit")
        assert isinstance(overlay.zynpu_tile_0, driver.NpuTile)
        assert overlay.zynpu_tile_0.register("ID") == backing.manifest.id_magic
        npu = overlay.npu
        assert npu is overlay.npu  # one driver per overlay
        rng = np.random.default_rng(22)
        x, w = random_int8(rng, (3, 40)), random_int8(rng, (9, 40))
        np.testing.assert_array_equal(npu.matmul(x, npu.load_weights(w)), reference.matmul(x, w))
    finally:
        pynq_shim.uninstall()
        sys.modules.pop("zynpu.overlays.pynq_driver", None)


def test_auto_device_is_sim_without_a_board(monkeypatch: pytest.MonkeyPatch) -> None:
    from zynpu.device.select import auto_device_name

    monkeypatch.delenv("ZYNPU_DEVICE", raising=False)
    sys.modules.pop("pynq", None)
    assert auto_device_name() == "sim"
    monkeypatch.setenv("ZYNPU_DEVICE", "ref")
    assert auto_device_name() == "ref"


def test_auto_device_is_board_with_pynq_and_a_bitstream(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from zynpu.device.select import auto_device_name

    monkeypatch.delenv("ZYNPU_DEVICE", raising=False)
    bit = tmp_path / "zynpu.bit"
    bit.write_bytes(b"\0")
    monkeypatch.setenv("ZYNPU_BITSTREAM", str(bit))
    pynq_shim.install(open_device("ref"))
    try:
        assert auto_device_name() == "board"
        bit.unlink()
        with pytest.warns(RuntimeWarning, match="FALLING BACK TO THE RTL SIMULATOR"):
            assert auto_device_name() == "sim"  # on a board: never silently
    finally:
        pynq_shim.uninstall()
