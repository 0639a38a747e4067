"""Device selection and the pynq boundary (the overlay driver itself: test_board_pynq.py, real pynq)."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from zynpu.device import open_device
from zynpu.device.select import device_name
from zynpu.errors import UserError

from .device_helpers import random_int8


def test_environment_chooses_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZYNPU_DEVICE", "ref")
    assert device_name() == "ref"
    assert device_name("sim") == "sim"  # the command line wins
    monkeypatch.delenv("ZYNPU_DEVICE")
    assert device_name() == "sim"


def test_unknown_device_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown device 'fpga'.*sim, ref, board"):
        open_device("fpga")


def test_pynq_is_imported_only_for_the_board(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    sys.modules.pop("pynq", None)
    open_device("ref").close()
    assert "pynq" not in sys.modules
    if importlib.util.find_spec("pynq") is None:
        with pytest.raises(RuntimeError, match="needs pynq"):
            open_device("board")
    else:  # pynq is here but nothing was deployed: the error lists where it looked
        no_deployment(monkeypatch, tmp_path)
        with pytest.raises(UserError, match=f"no deployed zynpu.bit .*{tmp_path}/zynpu/overlay"):
            open_device("board")


def test_sim_and_ref_agree_on_results_and_counters() -> None:
    pytest.importorskip("amaranth", reason="the sim device builds the RTL with Amaranth (pip install .[sim])")
    from zynpu.npu import Npu

    rng = np.random.default_rng(21)
    x, w = random_int8(rng, (13, 300)), random_int8(rng, (70, 300))
    outputs, stats = [], []
    for name in ("sim", "ref"):
        with open_device(name, quiet=True) if name == "sim" else open_device(name) as device:
            npu = Npu(device)
            outputs.append(npu.matmul(x, npu.load_weights(w)))
            last = npu.last
            stats.append((last.jobs, last.cycles, last.active, last.bytes_in, last.bytes_out))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert stats[0] == stats[1]


def no_deployment(monkeypatch: pytest.MonkeyPatch, folder) -> None:  # type: ignore[no-untyped-def]
    """Hide what `zynpu board hil` exports on a board (and any deploy folder in a home)."""
    from zynpu.board import layout

    hidden = (layout.ENV_BITSTREAM, layout.ENV_BITSTREAM_DIR, layout.ENV_REMOTE_DIR, "SUDO_USER")
    for name in ("ZYNPU_DEVICE", *hidden):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.chdir(folder)


def test_auto_device_is_sim_without_a_board(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from zynpu.device.select import auto_device_name

    no_deployment(monkeypatch, tmp_path)
    sys.modules.pop("pynq", None)
    assert auto_device_name() == "sim"
    monkeypatch.setenv("ZYNPU_DEVICE", "ref")
    assert auto_device_name() == "ref"


def test_auto_device_is_board_with_pynq_and_a_bitstream(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from zynpu.device.select import auto_device_name

    pytest.importorskip("pynq", reason="real pynq not installed")
    no_deployment(monkeypatch, tmp_path)
    bit = tmp_path / "zynpu.bit"
    bit.write_bytes(b"\0")
    monkeypatch.setenv("ZYNPU_BITSTREAM", str(bit))
    assert auto_device_name() == "board"
    bit.unlink()
    with pytest.warns(RuntimeWarning, match="FALLING BACK TO THE RTL SIMULATOR"):
        assert auto_device_name() == "sim"  # on a board: never silently
