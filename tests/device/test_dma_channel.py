"""`DmaChannel.transfer`: the checks every backend shares (busy channel, range outside the buffer).

The board channel hands transfers to pynq, which checks them itself; `ref` and `sim` go through the
shared checks in `zynpu.device.base` and implement only the start of a transfer.
"""

from __future__ import annotations

import pytest

from zynpu.device import open_device
from zynpu.device.base import DmaError


@pytest.mark.parametrize("name", ["ref", "sim"])
def test_transfer_refuses_what_does_not_fit_and_a_busy_channel(name: str) -> None:
    if name == "sim":  # a board's environment has no RTL toolchain
        pytest.importorskip("amaranth", reason="the sim device builds the RTL (pip install .[sim])")
    options = {"quiet": True} if name == "sim" else {}
    with open_device(name, **options) as device:
        buffer = device.allocate(64)
        for start, nbytes in ((0, 65), (64, 0), (-16, 16), (48, 32)):
            with pytest.raises(DmaError, match="does not fit a 64-byte buffer"):
                device.send.transfer(buffer, start, nbytes)
        assert device.send.idle  # a refused transfer starts nothing
        device.recv.transfer(buffer)  # nbytes 0: the whole buffer
        assert not device.recv.idle
        with pytest.raises(DmaError, match="S2MM channel is busy"):
            device.recv.transfer(buffer, 0, 16)
        device.recv.reset()
        assert device.recv.idle
