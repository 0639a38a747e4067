"""zynpu.radio: the ESP32 Wi-Fi/BLE coprocessor over a framed SPI link.

    from zynpu.radio import Radio, open_sim
    with open_sim() as radio:            # or Radio(SpidevTransport(...)) on the board
        radio.wifi.connect("lab", "secret")
        radio.udp.send(b"hi", ("127.0.0.1", 9000))
        for event in radio.events(timeout=1.0): ...
"""

from __future__ import annotations

from .driver import Pending, Radio
from .errors import (
    LinkReset,
    RadioClosed,
    RadioError,
    RadioProtocolError,
    RadioRequestTooLarge,
    RadioStatusError,
    RadioTimeout,
)

__all__ = ["LinkReset", "Pending", "Radio", "RadioClosed", "RadioError", "RadioProtocolError",
           "RadioRequestTooLarge", "RadioStatusError", "RadioTimeout", "open_sim"]


def open_sim(faults: object = None, *, gap_us: float | None = None, **radio_kwargs: object) -> Radio:
    """A Radio driving a simulated ESP32 that runs the firmware's C core (built on first use), over a
    simulated bus clocked at the default 10 MHz with the documented per-transaction gap."""
    from .sim.bus import DEFAULT_GAP_US, Faults, SimBus

    bus = SimBus(faults=faults if isinstance(faults, Faults) else None,
                 gap_us=DEFAULT_GAP_US if gap_us is None else gap_us)
    radio = Radio(bus, **radio_kwargs)  # type: ignore[arg-type]
    radio.wait_up()
    return radio
