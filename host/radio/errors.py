"""Exceptions of the radio driver: each says what failed and what the caller can do about it."""

from __future__ import annotations

from zynpu.errors import UserError

from . import wire

STATUS_NAMES = {v: k[len("STATUS_"):] for k, v in vars(wire).items() if k.startswith("STATUS_")}


class RadioError(Exception):
    """Base class of everything the radio driver raises."""


class RadioTimeout(RadioError, TimeoutError):
    """No answer within the call's timeout (link down, handshake stalled, or the ESP32 is busy)."""


class LinkReset(RadioError):
    """The ESP32 restarted after taking the request and before answering; it was not replayed."""


class RadioClosed(RadioError):
    """The driver was closed."""


class RadioStatusError(RadioError):
    """The ESP32 answered with an error status."""

    def __init__(self, status: int, what: str) -> None:
        self.status = status
        self.name = STATUS_NAMES.get(status, f"status {status}")
        super().__init__(f"{what} failed on the ESP32: {self.name}")


class RadioRequestTooLarge(RadioError, UserError, ValueError):
    """A request exceeds a size limit of the wire format (wire.LIMIT_*); refused before it is sent."""


class RadioProtocolError(RadioError):
    """The ESP32 answered with a body that does not match the wire format (firmware mismatch or bug)."""
