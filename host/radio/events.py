"""Unsolicited messages from the ESP32, decoded into small dataclasses (the driver's event stream)."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from . import wire
from .link import Message


@dataclass(frozen=True)
class Boot:
    boot_count: int
    reset_reason: int
    resumed: bool  # kept its receive state (software reset); sockets are gone either way
    counter_volatile: bool = False  # NVS failed: boot_count is only the RTC copy (see docs/radio.md)


@dataclass(frozen=True)
class EventsLost:
    """Events the ESP32 could not deliver: its queue overflowed (LOST_OVERFLOW), they were in flight
    to a previous host session (LOST_HOST_RESTART) or queued when the chip reset (LOST_ESP_RESET)."""

    count: int
    reason: int


@dataclass(frozen=True)
class SocketError:
    """A receive on a socket failed on the ESP32 (UDP: the socket stays open)."""

    sock: int
    errno: int


@dataclass(frozen=True)
class Capabilities:
    """The ESP32's LINK.HELLO: what the slave supports; the host never clocks faster than max_spi_hz."""

    version: int
    transaction_size: int
    max_payload: int
    tx_slots: int
    event_slots: int
    max_spi_hz: int
    features: int
    boot_count: int
    nonce: int


_HELLO = struct.Struct("<BxHHBBIIII")


def decode_capabilities(p: bytes) -> Capabilities | None:
    if len(p) < _HELLO.size:
        return None
    return Capabilities(*_HELLO.unpack_from(p))


@dataclass(frozen=True)
class Log:
    level: int
    text: str


@dataclass(frozen=True)
class WifiState:
    state: int  # wire.WIFI_STATE_*
    reason: int
    ip: str


@dataclass(frozen=True)
class UdpDatagram:
    sock: int
    addr: tuple[str, int]
    data: bytes


@dataclass(frozen=True)
class TcpData:
    sock: int
    data: bytes


@dataclass(frozen=True)
class TcpClosed:
    sock: int
    reason: int = 0  # 0: closed by the peer; else the errno of the failed receive


@dataclass(frozen=True)
class BleWrite:
    data: bytes


@dataclass(frozen=True)
class BleConnection:
    connected: bool


@dataclass(frozen=True)
class UnknownEvent:
    channel: int
    type: int
    payload: bytes


Event = (Boot | Log | WifiState | UdpDatagram | TcpData | TcpClosed | BleWrite | BleConnection | EventsLost
         | SocketError | UnknownEvent)


def decode_event(m: Message) -> Event:
    """Decode one event message; a malformed one becomes UnknownEvent rather than an exception."""
    p, key = m.payload, (m.channel, m.type)
    try:
        if key == (wire.CH_LINK, wire.LINK_BOOT):
            count, reason, resumed, flags = struct.unpack("<IBBB", p)
            return Boot(count, reason, bool(resumed), bool(flags & wire.BOOT_FLAG_COUNTER_VOLATILE))
        if key == (wire.CH_LINK, wire.LINK_LOST):
            count, reason = struct.unpack("<IB", p)
            return EventsLost(count, reason)
        if key == (wire.CH_SYSTEM, wire.SYSTEM_LOG):
            return Log(p[0], p[1:].decode("utf-8", "replace"))
        if key == (wire.CH_WIFI, wire.WIFI_STATE):
            return WifiState(p[0], p[1], socket.inet_ntoa(p[2:6]))
        if key == (wire.CH_SOCKET, wire.SOCKET_UDP_RECV):
            port = struct.unpack_from("<H", p, 5)[0]
            return UdpDatagram(p[0], (socket.inet_ntoa(p[1:5]), port), p[7:])
        if key == (wire.CH_SOCKET, wire.SOCKET_TCP_RECV):
            return TcpData(p[0], p[1:])
        if key == (wire.CH_SOCKET, wire.SOCKET_TCP_CLOSED):
            return TcpClosed(p[0], p[1] if len(p) > 1 else 0)
        if key == (wire.CH_SOCKET, wire.SOCKET_RX_ERROR):
            return SocketError(p[0], p[1])
        if key == (wire.CH_BLE, wire.BLE_WRITE):
            return BleWrite(p)
        if key == (wire.CH_BLE, wire.BLE_CONN):
            return BleConnection(bool(p[0]))
    except (struct.error, IndexError, OSError):
        pass
    return UnknownEvent(m.channel, m.type, p)
