"""The simulated ESP32's platform: Wi-Fi, sockets and BLE stand-ins behind zl_platform callbacks.

Sockets are real sockets on 127.0.0.1, so a UDP send from the host driver reaches a test socket and a
datagram sent to the simulated chip comes back as an event. Wi-Fi is a table of fake access points and
BLE a stand-in "phone" the tests can write through. Callbacks run inside C calls, so anything that
must call back into the core is deferred to `SimEsp32` via `defer`.
"""

from __future__ import annotations

import ctypes as C
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import wire
from . import core

WIFI_REASON_NO_AP_FOUND = 201
WIFI_REASON_AUTH_FAIL = 202


@dataclass
class FakeAp:
    ssid: str
    password: str = ""
    rssi: int = -50
    channel: int = 6
    bssid: bytes = b"\x24\x6f\x28\x00\x00\x01"


@dataclass
class BleStandIn:
    """What a phone would see: advertising state, notifications received; `write` goes via SimEsp32."""

    advertising: bool = False
    name: str = ""
    notifications: list[bytes] = field(default_factory=list)
    mtu: int = 247  # ATT MTU a phone typically negotiates (LE data length 251); 0: no phone connected


class SimPlatform:
    """Implements zl_platform for the simulator; one instance per simulated chip (survives resets)."""

    def __init__(self, defer: Callable[[Callable[[], None]], None], link_call: Callable[..., int],
                 aps: list[FakeAp], version: str, request_reset: Callable[[], None],
                 max_spi_hz: int = wire.ESP_MAX_SPI_HZ) -> None:
        self.defer = defer
        self.link_call = link_call
        self.aps = aps
        self.ble = BleStandIn()
        self.sockets: dict[int, socket.socket] = {}
        self.tcp: set[int] = set()
        self.wifi_state = wire.WIFI_STATE_IDLE
        self.wifi_ap: FakeAp | None = None
        self._next_sock = 1
        self._request_reset = request_reset
        self.pending_scan = False
        self.connecting: dict[int, tuple[socket.socket, float]] = {}  # sid -> (socket, deadline)
        self.c = core.Platform(
            None, version.encode(), max_spi_hz,
            core.NOW_MS(lambda _c: int(time.monotonic() * 1000) & 0xFFFFFFFF),
            core.VOID_FN(lambda _c: self._request_reset()),
            core.INT_FN(self._scan_start),
            core.WIFI_CONNECT(self._wifi_connect),
            core.INT_FN(self._wifi_disconnect),
            core.WIFI_STATUS(self._wifi_status),
            core.UDP_OPEN(self._udp_open),
            core.UDP_SEND(self._udp_send),
            core.TCP_CONNECT(self._tcp_connect),
            core.TCP_SEND(self._tcp_send),
            core.SOCK_CLOSE(self._sock_close),
            core.BLE_ADVERTISE(self._ble_advertise),
            core.BLE_NOTIFY(self._ble_notify),
            core.BLE_MTU(lambda _c: self.ble.mtu),
        )

    # --- resets -------------------------------------------------------------------------------------
    def power_cycle(self) -> None:
        """A chip reset closes every socket and drops radio state (the host sees the BOOT event)."""
        for s in self.sockets.values():
            s.close()
        self.sockets.clear()
        self.tcp.clear()
        self.connecting.clear()
        self.wifi_state, self.wifi_ap = wire.WIFI_STATE_IDLE, None
        self.ble.advertising = False
        self.pending_scan = False

    # --- Wi-Fi --------------------------------------------------------------------------------------
    def _scan_start(self, _ctx: int) -> int:
        self.pending_scan = True
        return wire.STATUS_OK

    def scan_results(self) -> C.Array:
        arr = (core.Ap * max(1, len(self.aps)))()
        for i, ap in enumerate(self.aps):
            arr[i].rssi, arr[i].channel, arr[i].auth = ap.rssi, ap.channel, 3 if ap.password else 0
            arr[i].bssid[:] = list(ap.bssid)
            arr[i].ssid = ap.ssid.encode()[:32]
        return arr

    def _wifi_connect(self, _ctx: int, ssid: bytes, password: bytes) -> int:
        ap = next((a for a in self.aps if a.ssid.encode() == ssid), None)
        self.wifi_state = wire.WIFI_STATE_CONNECTING
        if ap is None or ap.password.encode() != password:
            reason = WIFI_REASON_NO_AP_FOUND if ap is None else WIFI_REASON_AUTH_FAIL
            self._set_wifi(wire.WIFI_STATE_DISCONNECTED, reason, None)
        else:
            self._set_wifi(wire.WIFI_STATE_CONNECTED, 0, ap)
        return wire.STATUS_OK

    def _set_wifi(self, state: int, reason: int, ap: FakeAp | None) -> None:
        def apply() -> None:
            self.wifi_state, self.wifi_ap = state, ap
            ip = socket.inet_aton("127.0.0.1") if ap else bytes(4)
            self.link_call("zl_on_wifi_state", state, reason, ip)

        self.defer(apply)

    def _wifi_disconnect(self, _ctx: int) -> int:
        self._set_wifi(wire.WIFI_STATE_DISCONNECTED, 8, None)
        return wire.STATUS_OK

    def _wifi_status(self, _ctx: int, state, rssi, ip) -> int:
        state[0] = self.wifi_state
        rssi[0] = self.wifi_ap.rssi if self.wifi_ap else 0
        addr = socket.inet_aton("127.0.0.1") if self.wifi_ap else bytes(4)
        for i in range(4):
            ip[i] = addr[i]
        return wire.STATUS_OK

    # --- sockets ------------------------------------------------------------------------------------
    def _new_id(self, s: socket.socket) -> int:
        if len(self.sockets) >= 16:
            s.close()
            return -wire.STATUS_BUSY
        while self._next_sock in self.sockets:
            self._next_sock = self._next_sock % 255 + 1
        sid = self._next_sock
        self._next_sock = self._next_sock % 255 + 1
        self.sockets[sid] = s
        return sid

    def _udp_open(self, _ctx: int, port: int, bound) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            return -wire.STATUS_ERROR
        s.setblocking(False)
        bound[0] = s.getsockname()[1]
        return self._new_id(s)

    @staticmethod
    def _loopback(ip) -> str | None:
        addr = socket.inet_ntoa(bytes(ip[i] for i in range(4)))
        return addr if addr.startswith("127.") else None  # the simulator never leaves the machine

    def _udp_send(self, _ctx: int, sid: int, ip, port: int, data, n: int) -> int:
        s, addr = self.sockets.get(sid), self._loopback(ip)
        if s is None or sid in self.tcp:
            return wire.STATUS_NO_SOCKET
        if addr is None:
            return wire.STATUS_ERROR
        try:
            s.sendto(C.string_at(data, n), (addr, port))
        except OSError:
            return wire.STATUS_ERROR
        return wire.STATUS_OK

    def _tcp_connect(self, _ctx: int, ip, port: int, timeout_ms: int) -> int:
        """A non-blocking connect, as the firmware does: the id now, the outcome from poll_connects."""
        addr = self._loopback(ip)
        if addr is None:
            return -wire.STATUS_ERROR
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        sid = self._new_id(s)
        if sid < 0:
            return sid
        self.tcp.add(sid)
        s.connect_ex((addr, port))
        self.connecting[sid] = (s, time.monotonic() + timeout_ms / 1000)
        return sid

    def poll_connects(self) -> None:
        """Complete connects that finished or timed out (the caller holds the chip lock)."""
        if not self.connecting:
            return
        socks = {sid: s for sid, (s, _) in self.connecting.items()}
        _, writable, _ = select.select([], list(socks.values()), [], 0)
        now = time.monotonic()
        for sid, (s, deadline) in list(self.connecting.items()):
            if s in writable:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                status = wire.STATUS_OK if err == 0 else wire.STATUS_ERROR
            elif now >= deadline:
                status = wire.STATUS_TIMEOUT
            else:
                continue
            del self.connecting[sid]
            if status != wire.STATUS_OK:
                self._sock_close(0, sid)
            self.link_call("zl_on_tcp_connect_done", sid, status)

    def _tcp_send(self, _ctx: int, sid: int, data, n: int) -> int:
        s = self.sockets.get(sid)
        if s is None or sid not in self.tcp:
            return -wire.STATUS_NO_SOCKET
        try:
            return s.send(C.string_at(data, n))
        except BlockingIOError:
            return 0
        except OSError:
            return -wire.STATUS_NOT_CONNECTED

    def _sock_close(self, _ctx: int, sid: int) -> int:
        s = self.sockets.pop(sid, None)
        self.tcp.discard(sid)
        self.connecting.pop(sid, None)
        if s is None:
            return wire.STATUS_NO_SOCKET
        s.close()
        return wire.STATUS_OK

    # --- BLE ----------------------------------------------------------------------------------------
    def _ble_advertise(self, _ctx: int, enable: int, name: bytes) -> int:
        self.ble.advertising, self.ble.name = bool(enable), name.decode(errors="replace")
        return wire.STATUS_OK

    def _ble_notify(self, _ctx: int, data, n: int) -> int:
        self.ble.notifications.append(C.string_at(data, n))
        return wire.STATUS_OK
