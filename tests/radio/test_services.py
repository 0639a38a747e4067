"""End-to-end: the host driver against the simulated ESP32 (firmware C core + loopback sockets)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from zynpu.radio import Radio, RadioStatusError, wire
from zynpu.radio.events import BleWrite, Boot, Log, TcpClosed, TcpData, UdpDatagram, WifiState

from .conftest import make_radio, needs_gcc

pytestmark = needs_gcc


def _udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    return s


def test_boot_announcement_and_log_line(radio: Radio) -> None:
    boot = radio.next_event(2, lambda e: isinstance(e, Boot))
    assert boot == Boot(1, 1, False, counter_volatile=False)
    caps = radio.capabilities
    assert caps is not None and caps.version == wire.VERSION and caps.max_payload == wire.MAX_PAYLOAD
    assert caps.features & wire.FEATURE_BLE and caps.boot_count == 1
    log = radio.next_event(2, lambda e: isinstance(e, Log))
    assert isinstance(log, Log) and log.text.startswith("boot 1")


def _echo(radio: Radio, data: bytes) -> bytes:
    """A ping's response body, compared by the caller (System.ping returns only the time)."""
    return radio.request(wire.CH_SYSTEM, wire.SYSTEM_PING, data, what="ping")


def test_ping_version_and_unsupported(radio: Radio) -> None:
    assert _echo(radio, b"x" * 100) == b"x" * 100
    assert radio.system.version().startswith("zynpu-esp32")
    with pytest.raises(RadioStatusError, match="UNSUPPORTED"):
        radio.request(wire.CH_SYSTEM, 99)


def test_largest_ping_roundtrips(radio: Radio) -> None:
    data = bytes(i % 251 for i in range(wire.LIMIT_PING_DATA))  # the response is a full-size frame
    assert _echo(radio, data) == data


def test_wifi_scan_connect_status(radio: Radio) -> None:
    aps = radio.wifi.scan()
    assert [a.ssid for a in aps] == ["zynpu-lab"] and aps[0].rssi == -50 and aps[0].auth == 3
    with pytest.raises(Exception, match="failed"):
        radio.wifi.connect("zynpu-lab", "wrong", timeout=2)
    st = radio.wifi.connect("zynpu-lab", "secret", timeout=2)
    assert st.connected and st.ip == "127.0.0.1"
    assert radio.wifi.status().connected
    radio.wifi.disconnect()
    states = []
    while (ev := radio.next_event(0.5, lambda e: isinstance(e, WifiState))) is not None:
        states.append((ev.state, ev.reason))  # type: ignore[union-attr]
    assert states == [(wire.WIFI_STATE_DISCONNECTED, 202), (wire.WIFI_STATE_CONNECTED, 0),
                      (wire.WIFI_STATE_DISCONNECTED, 8)]  # auth failure, connected, left (ASSOC_LEAVE)
    assert radio.wifi.status().state == wire.WIFI_STATE_DISCONNECTED


def test_udp_send_reaches_local_socket(radio: Radio) -> None:
    sink = _udp_socket()
    try:
        radio.udp.send(b"hello from the host", sink.getsockname())
        data, _ = sink.recvfrom(2048)
        assert data == b"hello from the host"
        big = bytes(i % 251 for i in range(radio.udp.MAX_DATAGRAM))
        radio.udp.send(big, sink.getsockname())
        assert sink.recvfrom(4096)[0] == big
    finally:
        sink.close()


def test_udp_datagram_to_the_chip_arrives_as_event(radio: Radio) -> None:
    sock = radio.udp.open()
    src = _udp_socket()
    try:
        for i in range(20):
            src.sendto(b"dgram %d" % i, ("127.0.0.1", sock.port))
        got = [radio.next_event(2, lambda e: isinstance(e, UdpDatagram)) for _ in range(20)]
        assert [g.data for g in got] == [b"dgram %d" % i for i in range(20)]  # type: ignore[union-attr]
        assert all(g.addr == src.getsockname() and g.sock == sock.sock for g in got)  # type: ignore[union-attr]
        sock.close()
        with pytest.raises(RadioStatusError, match="NO_SOCKET"):
            sock.send(b"x", src.getsockname())
    finally:
        src.close()


def test_udp_refuses_non_loopback_in_the_simulator(radio: Radio) -> None:
    with pytest.raises(RadioStatusError):
        radio.udp.send(b"x", ("8.8.8.8", 53))


def test_tcp_client_roundtrip(radio: Radio) -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(2)
    try:
        conn = radio.tcp.connect(srv.getsockname(), timeout=2)
        peer, _ = srv.accept()
        peer.settimeout(2)
        assert conn.send(b"GET / HTTP/1.0\r\n\r\n") == 18
        assert peer.recv(100) == b"GET / HTTP/1.0\r\n\r\n"
        peer.sendall(b"HTTP/1.0 200 OK\r\n")
        ev = radio.next_event(2, lambda e: isinstance(e, TcpData))
        assert ev == TcpData(conn.sock, b"HTTP/1.0 200 OK\r\n")
        peer.close()
        assert radio.next_event(2, lambda e: isinstance(e, TcpClosed)) == TcpClosed(conn.sock)
    finally:
        srv.close()


def test_tcp_connect_refused_is_a_clear_error(radio: Radio) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(RadioStatusError, match="tcp connect"):
        radio.tcp.connect(("127.0.0.1", port), timeout=1)


def test_ble_advertise_notify_and_phone_write(radio: Radio) -> None:
    bus_esp = radio.transport.esp  # type: ignore[attr-defined]
    radio.ble.advertise("zynpu-agent")
    assert bus_esp.platform.ble.advertising and bus_esp.platform.ble.name == "zynpu-agent"
    radio.ble.notify(b"\x01\x02status")
    assert bus_esp.platform.ble.notifications == [b"\x01\x02status"]
    assert bus_esp.ble_write(b"from phone")
    assert radio.next_event(2, lambda e: isinstance(e, BleWrite)) == BleWrite(b"from phone")


def test_reset_command_reboots_and_link_resumes(radio: Radio) -> None:
    radio.system.reset()
    boot = radio.next_event(2, lambda e: isinstance(e, Boot) and e.boot_count == 2)
    assert isinstance(boot, Boot) and boot.resumed and boot.reset_reason == 3
    assert _echo(radio, b"after") == b"after"


def test_request_times_out_when_handshake_is_stuck() -> None:
    r = make_radio(timeout=0.3)
    try:
        r.transport._stall_until = time.monotonic() + 5  # type: ignore[attr-defined]
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match=r"no response within 0\.3"):
            r.system.ping(b"x")
        assert time.monotonic() - t0 < 1.0
        r.transport._stall_until = 0  # type: ignore[attr-defined]
        assert _echo(r, b"y") == b"y"
    finally:
        r.close()


def test_event_backpressure_drops_nothing_on_the_link() -> None:
    """A slow consumer (4-event host queue) still gets 50 BLE writes in order: flow control, no overrun."""
    r = make_radio(max_events=4)
    try:
        esp = r.transport.esp  # type: ignore[attr-defined]
        accepted: list[int] = []

        def phone() -> None:
            for i in range(50):
                if _write_retry(esp, b"w%d" % i):
                    accepted.append(i)

        writer = threading.Thread(target=phone)
        writer.start()
        got = []
        time.sleep(0.05)  # let the queues fill first
        while (ev := r.next_event(1, lambda e: isinstance(e, BleWrite))) is not None:
            got.append(ev.data)  # type: ignore[union-attr]
            time.sleep(0.001)
        writer.join(5)
        assert len(accepted) == 50
        assert got == [b"w%d" % i for i in range(50)]
    finally:
        r.close()


def _write_retry(esp: object, data: bytes) -> bool:
    """A phone retries a write the chip refused (its queue was full), as the BLE stack would."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if esp.ble_write(data):  # type: ignore[attr-defined]
            return True
        time.sleep(0.002)
    return False
