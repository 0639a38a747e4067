"""Service front-ends of `Radio`: system, Wi-Fi, UDP, TCP and BLE calls over the link."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import wire
from .errors import RadioError, RadioTimeout

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


class System(_Service):
    def ping(self, data: bytes = b"", timeout: float | None = None) -> float:
        """Round trip through the ESP32; returns seconds. Raises if the echo differs."""
        t0 = time.perf_counter()
        echo = self.radio.request(wire.CH_SYSTEM, wire.SYSTEM_PING, data, timeout=timeout, what="ping")
        if echo != data:
            raise RadioError("ping echo differs from what was sent")
        return time.perf_counter() - t0

    def ping_async(self, data: bytes = b"") -> Pending:
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
        aps, k = [], 1
        for _ in range(body[0]):
            rssi, channel, auth = struct.unpack_from("<bBB", body, k)
            bssid = ":".join(f"{b:02x}" for b in body[k + 3 : k + 9])
            n = body[k + 9]
            ssid = body[k + 10 : k + 10 + n].decode(errors="replace")
            aps.append(AccessPoint(ssid, bssid, rssi, channel, auth))
            k += 10 + n
        return aps

    def connect(self, ssid: str, password: str = "", *, timeout: float = 15.0) -> WifiStatus:
        """Connect and wait until connected; RadioError if the association fails, RadioTimeout if slow."""
        s, p = ssid.encode(), password.encode()
        if not 1 <= len(s) <= 32 or len(p) > 64:
            raise ValueError("SSID must be 1..32 bytes and the password at most 64")
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
        return WifiStatus(b[0], struct.unpack("b", b[1:2])[0], socket.inet_ntoa(b[2:6]))


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
    MAX_DATAGRAM = wire.MAX_PAYLOAD - 7

    def __init__(self, radio: Radio) -> None:
        super().__init__(radio)
        self._default: tuple[int, UdpSocket] | None = None  # (boot number, socket)

    def open(self, port: int = 0, timeout: float | None = None) -> UdpSocket:
        """Bind a UDP socket on the ESP32; incoming datagrams arrive as UdpDatagram events."""
        b = self.radio.request(wire.CH_SOCKET, wire.SOCKET_UDP_OPEN, struct.pack("<H", port), timeout=timeout,
                               what="udp open")
        return UdpSocket(self.radio, b[0], struct.unpack_from("<H", b, 1)[0])

    def _encode_send(self, data: bytes, addr: tuple[str, int], sock: UdpSocket | None) -> bytes:
        if len(data) > self.MAX_DATAGRAM:
            raise ValueError(f"datagram of {len(data)} bytes exceeds {self.MAX_DATAGRAM}")
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
        b = self.radio.request(wire.CH_SOCKET, wire.SOCKET_TCP_SEND, bytes([self.sock]) + bytes(data),
                               timeout=timeout, what="tcp send")
        return struct.unpack("<H", b[:2])[0]

    def close(self, timeout: float | None = None) -> None:
        self.radio.request(wire.CH_SOCKET, wire.SOCKET_CLOSE, bytes([self.sock]), timeout=timeout,
                           what="close")


class Tcp(_Service):
    def connect(self, addr: tuple[str, int], timeout: float = 5.0) -> TcpSocket:
        """Open a TCP client connection from the ESP32; data arrives as TcpData events."""
        payload = _ip(addr[0]) + struct.pack("<HH", addr[1], min(int(timeout * 1000), 0xFFFF))
        b = self.radio.request(wire.CH_SOCKET, wire.SOCKET_TCP_CONNECT, payload, timeout=timeout + 1,
                               what=f"tcp connect to {addr[0]}:{addr[1]}")
        return TcpSocket(self.radio, b[0])


class Ble(_Service):
    def advertise(self, name: str = "zynpu", enable: bool = True, timeout: float | None = None) -> None:
        n = name.encode()
        if len(n) > 29:
            raise ValueError("BLE name must be at most 29 bytes")
        self.radio.request(wire.CH_BLE, wire.BLE_ADVERTISE, bytes([int(enable)]) + n, timeout=timeout,
                           what="ble advertise")

    def notify(self, data: bytes, timeout: float | None = None) -> None:
        """Notify subscribers of the GATT characteristic with `data`."""
        if len(data) > 244:
            raise ValueError("BLE notifications are limited to 244 bytes")
        self.radio.request(wire.CH_BLE, wire.BLE_NOTIFY, bytes(data), timeout=timeout, what="ble notify")
