"""Issue 15 probes: responses never wait behind events, sizes are consistent end to end from one
definition (wire_format.json limits), malformed bodies raise the radio's own error, and the host never
clocks the slave faster than its LINK.HELLO says."""

from __future__ import annotations

import socket
import struct
import time

import pytest

pytest.importorskip("hypothesis", reason="property tests need hypothesis (pip install .[dev])")
from hypothesis import given, settings
from hypothesis import strategies as st

from zynpu.errors import UserError
from zynpu.radio import (
    Radio,
    RadioProtocolError,
    RadioRequestTooLarge,
    RadioStatusError,
    RadioTimeout,
    wire,
)
from zynpu.radio.events import Boot, EventsLost, UdpDatagram
from zynpu.radio.services import parse_scan
from zynpu.radio.sim.bus import SimBus
from zynpu.radio.sim.esp32 import SimEsp32
from zynpu.radio.sim.platform import FakeAp

from .conftest import make_radio, needs_gcc


def _echo(radio: Radio, data: bytes, timeout: float | None = None) -> bytes:
    return radio.request(wire.CH_SYSTEM, wire.SYSTEM_PING, data, timeout=timeout, what="ping")


@needs_gcc
def test_full_event_queue_does_not_block_a_ping() -> None:
    """max_events=8, nobody drains, 30 datagrams keep coming: a ping still answers at once."""
    r = make_radio(max_events=8)
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock = r.udp.open()
        for i in range(30):
            src.sendto(struct.pack("<I", i), ("127.0.0.1", sock.port))
        deadline = time.monotonic() + 5
        while len(r._events) < 8 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(r._events) == 8  # full: the host's event credit is 0 now
        assert r.link.credit() == 0
        for i in range(5):
            assert _echo(r, b"still here %d" % i, timeout=0.5) == b"still here %d" % i
        # the datagrams were held back (socket backpressure), not dropped: all 30 arrive in order
        got = []
        while (ev := r.next_event(1.0)) is not None:
            assert not isinstance(ev, EventsLost)
            if isinstance(ev, UdpDatagram):
                got.append(struct.unpack("<I", ev.data)[0])
        assert got == list(range(30))
    finally:
        src.close()
        r.close()


@needs_gcc
def test_ping_sizes_end_to_end(radio: Radio) -> None:
    n0 = radio.transport.counters.transactions  # type: ignore[attr-defined]
    limit = wire.LIMIT_PING_DATA
    with pytest.raises(RadioRequestTooLarge, match=rf"1580 bytes exceeds the link's limit of {limit}"):
        radio.system.ping(bytes(1580))
    with pytest.raises(UserError):  # the CLI prints it as one `zynpu: error:` line
        radio.system.ping_async(bytes(wire.LIMIT_PING_DATA + 1))
    assert radio.transport.counters.transactions - n0 < 5  # refused before anything was sent  # type: ignore
    full = bytes(i % 253 for i in range(wire.LIMIT_PING_DATA))
    assert _echo(radio, full) == full  # the largest ping comes back whole
    # a request that bypasses the host's check is refused by the ESP32, never truncated
    with pytest.raises(RadioStatusError, match="TOO_LARGE"):
        _echo(radio, bytes(wire.MAX_PAYLOAD))


@needs_gcc
def test_udp_and_tcp_limits_come_from_the_wire_format(radio: Radio) -> None:
    assert radio.udp.MAX_DATAGRAM == wire.MAX_PAYLOAD - 7 == wire.LIMIT_UDP_DATA
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(2)
    try:
        data = bytes(i % 249 for i in range(wire.LIMIT_UDP_DATA))
        radio.udp.send(data, sink.getsockname())
        assert sink.recv(4096) == data
        with pytest.raises(RadioRequestTooLarge):
            radio.udp.send(data + b"x", sink.getsockname())
        # a datagram larger than one event can carry reaches the host as a reported loss, not cut
        sock = radio.udp.open()
        sink.sendto(bytes(wire.LIMIT_UDP_DATA + 1), ("127.0.0.1", sock.port))
        sink.sendto(b"small", ("127.0.0.1", sock.port))
        lost = radio.next_event(2, lambda e: isinstance(e, EventsLost))
        assert lost == EventsLost(1, wire.LOST_OVERFLOW)
        ev = radio.next_event(2, lambda e: isinstance(e, UdpDatagram))
        assert isinstance(ev, UdpDatagram) and ev.data == b"small"
    finally:
        sink.close()


def test_malformed_scan_body_raises_the_radios_error() -> None:
    good = bytes([1]) + struct.pack("<bBB6sB", -40, 6, 3, bytes(6), 4) + b"labx"
    assert [a.ssid for a in parse_scan(good)] == ["labx"]
    for bad in (b"", good[:5], good[:-1], bytes([2]) + good[1:]):
        with pytest.raises(RadioProtocolError, match="wifi scan: malformed"):
            parse_scan(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_scan_parser_raises_only_radio_errors(body: bytes) -> None:
    try:
        aps = parse_scan(body)
    except RadioProtocolError:
        return
    assert len(aps) == body[0]


@needs_gcc
def test_ssid_32_and_psk_64_are_not_truncated() -> None:
    ssid, psk = "S" * 31 + "!", "ab" * 32  # 32 bytes; 64 hex digits (a raw WPA key)
    bus = SimBus(SimEsp32(aps=[FakeAp(ssid, psk)]))
    r = Radio(bus)
    try:
        r.wait_up(5)
        assert r.wifi.connect(ssid, psk, timeout=2).connected  # the sim compares the full strings
        with pytest.raises(RadioRequestTooLarge):
            r.wifi.connect(ssid + "x", psk)
    finally:
        r.close()


@needs_gcc
def test_ble_name_and_mtu_limits(radio: Radio) -> None:
    plat = radio.transport.esp.platform  # type: ignore[attr-defined]
    radio.ble.advertise("n" * wire.LIMIT_BLE_NAME)
    assert plat.ble.name == "n" * 26
    with pytest.raises(RadioRequestTooLarge, match="advertising packet"):
        radio.ble.advertise("n" * 27)
    with pytest.raises(RadioStatusError, match="BAD_REQUEST"):  # the ESP32 checks where it accepts it
        radio.request(wire.CH_BLE, wire.BLE_ADVERTISE, b"\x01" + b"n" * 27)
    radio.ble.notify(bytes(244))  # MTU 247 - 3
    with pytest.raises(RadioStatusError, match="TOO_LARGE"):
        radio.ble.notify(bytes(245))
    plat.ble.mtu = 0  # the phone went away
    with pytest.raises(RadioStatusError, match="NOT_CONNECTED"):
        radio.ble.notify(b"x")
    assert plat.ble.notifications == [bytes(244)]


@needs_gcc
def test_host_never_clocks_faster_than_the_slave_says() -> None:
    bus = SimBus(SimEsp32(max_spi_hz=4_000_000), clock_hz=10_000_000)
    r = Radio(bus)
    try:
        r.wait_up(5)
        assert r.capabilities is not None and r.capabilities.max_spi_hz == 4_000_000
        assert _echo(r, b"slow") == b"slow"
        assert bus.clock_now_hz == 4_000_000 and bus.counters.max_clock_hz <= 4_000_000
        assert bus.counters.overclocked == 0
        # the model bites: forced past the slave's limit, nothing gets through
        r._set_clock(10_000_000)
        with pytest.raises(RadioTimeout):
            _echo(r, b"fast", timeout=0.3)
        assert bus.counters.overclocked > 0
    finally:
        r.close()


@needs_gcc
def test_default_clock_is_10_mhz_and_the_reset_line_restarts_the_chip() -> None:
    bus = SimBus()
    r = Radio(bus, reset_peer=True)
    try:
        r.wait_up(5)
        assert bus.clock_now_hz == wire.HOST_DEFAULT_SPI_HZ == 10_000_000
        boot = r.next_event(2, lambda e: isinstance(e, Boot))
        assert boot == Boot(2, 1, False)  # the EN pulse: a second, power-on boot before the link starts
    finally:
        r.close()
