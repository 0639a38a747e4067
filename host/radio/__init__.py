"""zynpu.radio: the ESP32 Wi-Fi/BLE coprocessor over a framed SPI link.

    from zynpu.radio import Radio, open_sim
    with open_sim() as radio:            # or Radio(SpidevTransport(...)) on the board
        radio.wifi.connect("lab", "secret")
        radio.udp.send(b"hi", ("127.0.0.1", 9000))
        for event in radio.events(timeout=1.0): ...
"""

from __future__ import annotations

from .driver import Pending, Radio
from .errors import LinkReset, RadioClosed, RadioError, RadioStatusError, RadioTimeout

__all__ = ["LinkReset", "Pending", "Radio", "RadioClosed", "RadioError", "RadioStatusError", "RadioTimeout",
           "open_sim"]


def open_sim(faults: object = None, **radio_kwargs: object) -> Radio:
    """A Radio driving a simulated ESP32 that runs the firmware's C core (built on first use)."""
    from .sim.bus import Faults, SimBus

    bus = SimBus(faults=faults if isinstance(faults, Faults) else None)
    radio = Radio(bus, **radio_kwargs)  # type: ignore[arg-type]
    radio.wait_up()
    return radio
