"""Service front-ends of `Radio`: system, Wi-Fi, UDP, TCP and BLE calls over the link."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import wire
from .errors import RadioError, RadioProtocolError, RadioRequestTooLarge, RadioTimeout

if TYPE_CHECKING:
    from .driver import Pending, Radio


def _ip(addr: str) -> bytes:
    try:
        return socket.inet_aton(addr)
    except OSError as e:
        raise ValueError(f"not an IPv4 address: {addr!r}") from e


class _Service:
    def __init__(self, radio: Radio) -> None:
        self.radio = radio


def _check_size(what: str, n: int, limit: int) -> None:
    """Refuse up front what the wire format cannot carry whole (limits: wire_format.json)."""
    if n > limit:
        raise RadioRequestTooLarge(f"{what} of {n} bytes exceeds the link's limit of {limit}; split it")


def _unpack(fmt: str, body: bytes, offset: int, what: str) -> tuple:
    try:
        return struct.unpack_from(fmt, body, offset)
    except struct.error as e:
        raise RadioProtocolError(f"{what}: malformed response from the ESP32 ({e})") from e


class System(_Service):
    def ping(self, data: bytes = b"", timeout: float | None = None) -> float:
        """Round trip through the ESP32; returns seconds. Raises if the echo differs."""
        _check_size("ping data", len(data), wire.LIMIT_PING_DATA)
        t0 = time.perf_counter()
        echo = self.radio.request(wire.CH_SYSTEM, wire.SYSTEM_PING, data, timeout=timeout, what="ping")
        if echo != data:
            raise RadioError("ping echo differs from what was sent")
        return time.perf_counter() - t0

    def ping_async(self, data: bytes = b"") -> Pending:
        _check_size("ping data", len(data), wire.LIMIT_PING_DATA)
        return self.radio.submit(wire.CH_SYSTEM, wire.SYSTEM_PING, data, what="ping")

    def version(self, timeout: float | None = None) -> str:
        body = self.radio.request(wire.CH_SYSTEM, wire.SYSTEM_VERSION, timeout=timeout, what="version")
        return body.decode()

    def reset(self, timeout: float | None = None) -> None:
        """Restart the ESP32 (it answers first); a Boot event follows."""
        self.radio.request(wire.CH_SYSTEM, wire.SYSTEM_RESET, timeout=timeout, what="reset")


@dataclass(frozen=True)
class AccessPoint:
    ssid: str
    bssid: str
    rssi: int
    channel: int
    auth: int


@dataclass(frozen=True)
class WifiStatus:
    state: int
    rssi: int
    ip: str

    @property
    def connected(self) -> bool:
        return self.state == wire.WIFI_STATE_CONNECTED


class Wifi(_Service):
    def scan(self, timeout: float = 10.0) -> list[AccessPoint]:
        body = self.radio.request(wire.CH_WIFI, wire.WIFI_SCAN, timeout=timeout, what="wifi scan")
        return parse_scan(body)

    def connect(self, ssid: str, password: str = "", *, timeout: float = 15.0) -> WifiStatus:
        """Connect and wait until connected; RadioError if the association fails, RadioTimeout if slow."""
        s, p = ssid.encode(), password.encode()
        if not 1 <= len(s) <= wire.LIMIT_SSID or len(p) > wire.LIMIT_PSK:
            raise RadioRequestTooLarge(f"SSID must be 1..{wire.LIMIT_SSID} bytes and the password at most "
                                       f"{wire.LIMIT_PSK}")
        deadline = time.monotonic() + timeout
        self.radio.request(wire.CH_WIFI, wire.WIFI_CONNECT, bytes([len(s)]) + s + bytes([len(p)]) + p,
                           timeout=timeout, what="wifi connect")
        while time.monotonic() < deadline:
            st = self.status(timeout=max(0.1, deadline - time.monotonic()))
            if st.connected:
                return st
            if st.state == wire.WIFI_STATE_DISCONNECTED:
                raise RadioError(f"wifi connect to {ssid!r} failed")
            time.sleep(0.02)
        raise RadioTimeout(f"wifi connect to {ssid!r}: not connected within {timeout:g} s")

    def disconnect(self, timeout: float | None = None) -> None:
        self.radio.request(wire.CH_WIFI, wire.WIFI_DISCONNECT, timeout=timeout, what="wifi disconnect")

    def status(self, timeout: float | None = None) -> WifiStatus:
        b = self.radio.request(wire.CH_WIFI, wire.WIFI_STATUS, timeout=timeout, what="wifi status")
        state, rssi = _unpack("<Bb", b, 0, "wifi status")
        _unpack("4s", b, 2, "wifi status")
        return WifiStatus(state, rssi, socket.inet_ntoa(b[2:6]))


def parse_scan(body: bytes) -> list[AccessPoint]:
    """Decode a WIFI.SCAN body (count u8, then records); RadioProtocolError if it is malformed."""
    aps, k = [], 1
    (count,) = _unpack("<B", body, 0, "wifi scan")
    for _ in range(count):
        rssi, channel, auth, bssid, n = _unpack("<bBB6sB", body, k, "wifi scan")
        if k + 10 + n > len(body):
            raise RadioProtocolError(f"wifi scan: malformed response from the ESP32 (SSID of {n} bytes "
                                     f"runs past the body)")
        ssid = body[k + 10 : k + 10 + n].decode(errors="replace")
        aps.append(AccessPoint(ssid, ":".join(f"{b:02x}" for b in bssid), rssi, channel, auth))
        k += 10 + n
    return aps


@dataclass(frozen=True)
class UdpSocket:
    radio: Radio
    sock: int
    port: int

    def send(self, data: bytes, addr: tuple[str, int], timeout: float | None = None) -> None:
        self.radio.udp.send(data, addr, sock=self, timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self.radio.request(wire.CH_SOCKET, wire.SOCKET_CLOSE, bytes([self.sock]), timeout=timeout,
                           what="close")


class Udp(_Service):
    MAX_DATAGRAM = wire.LIMIT_UDP_DATA

    def __init__(self, radio: Radio) -> None:
        super().__init__(radio)
        self._default: tuple[int, UdpSocket] | None = None  # (boot number, socket)

    def open(self, port: int = 0, timeout: float | None = None) -> UdpSocket:
        """Bind a UDP socket on the ESP32; incoming datagrams arrive as UdpDatagram events."""
        b = self.radio.request(wire.CH_SOCKET, wire.SOCKET_UDP_OPEN, struct.pack("<H", port), timeout=timeout,
                               what="udp open")
        sock, bound = _unpack("<BH", b, 0, "udp open")
        return UdpSocket(self.radio, sock, bound)

    def _encode_send(self, data: bytes, addr: tuple[str, int], sock: UdpSocket | None) -> bytes:
        _check_size("datagram", len(data), self.MAX_DATAGRAM)
        if sock is None:
            if self._default is None or self._default[0] != self.radio.boots:
                self._default = (self.radio.boots, self.open())  # sockets die with an ESP32 reboot
            sock = self._default[1]
        return bytes([sock.sock]) + _ip(addr[0]) + struct.pack("<H", addr[1]) + bytes(data)

    def send(self, data: bytes, addr: tuple[str, int], *, sock: UdpSocket | None = None,
             timeout: float | None = None) -> None:
        self.radio.request(wire.CH_SOCKET, wire.SOCKET_UDP_SEND, self._encode_send(data, addr, sock),
                           timeout=timeout, what="udp send")

    def send_async(self, data: bytes, addr: tuple[str, int], *, sock: UdpSocket | None = None) -> Pending:
        return self.radio.submit(wire.CH_SOCKET, wire.SOCKET_UDP_SEND, self._encode_send(data, addr, sock),
                                 what="udp send")


@dataclass(frozen=True)
class TcpSocket:
    radio: Radio
    sock: int

    def send(self, data: bytes, timeout: float | None = None) -> int:
        _check_size("tcp send", len(data), wire.LIMIT_TCP_DATA)
        b = self.radio.request(wire.CH_SOCKET, wire.SOCKET_TCP_SEND, bytes([self.sock]) + bytes(data),
                               timeout=timeout, what="tcp send")
        return int(_unpack("<H", b, 0, "tcp send")[0])

    def close(self, timeout: float | None = None) -> None:
        self.radio.request(wire.CH_SOCKET, wire.SOCKET_CLOSE, bytes([self.sock]), timeout=timeout,
                           what="close")


class Tcp(_Service):
    def connect(self, addr: tuple[str, int], timeout: float = 5.0) -> TcpSocket:
        """Open a TCP client connection from the ESP32; data arrives as TcpData events."""
        payload = _ip(addr[0]) + struct.pack("<HH", addr[1], min(int(timeout * 1000), 0xFFFF))
        b = self.radio.request(wire.CH_SOCKET, wire.SOCKET_TCP_CONNECT, payload, timeout=timeout + 1,
                               what=f"tcp connect to {addr[0]}:{addr[1]}")
        return TcpSocket(self.radio, int(_unpack("<B", b, 0, "tcp connect")[0]))


class Ble(_Service):
    def advertise(self, name: str = "zynpu", enable: bool = True, timeout: float | None = None) -> None:
        n = name.encode()
        _check_size("BLE name (it must fit the 31-byte advertising packet)", len(n), wire.LIMIT_BLE_NAME)
        self.radio.request(wire.CH_BLE, wire.BLE_ADVERTISE, bytes([int(enable)]) + n, timeout=timeout,
                           what="ble advertise")

    def notify(self, data: bytes, timeout: float | None = None) -> None:
        """Notify subscribers of the GATT characteristic with `data`. The ESP32 answers TOO_LARGE if
        `data` exceeds the connection's ATT MTU - 3 (244 bytes at the common MTU of 247)."""
        _check_size("BLE notification", len(data), wire.LIMIT_BLE_NOTIFY)
        self.radio.request(wire.CH_BLE, wire.BLE_NOTIFY, bytes(data), timeout=timeout, what="ble notify")

    def notify_async(self, data: bytes) -> Pending:
        _check_size("BLE notification", len(data), wire.LIMIT_BLE_NOTIFY)
        return self.radio.submit(wire.CH_BLE, wire.BLE_NOTIFY, bytes(data), what="ble notify")
