"""Issue 15 probes on session starts: nonces that cannot wedge the link, a boot counter that cannot
stick silently, and events in flight at a restart reported as lost, never dropped silently.

Restarts run thousands of times in lockstep (tests/radio/lockstep.py), including a host or an ESP32
that draws the previous nonce again on purpose.
"""

from __future__ import annotations

import socket
import struct
import time

from zynpu.radio import wire
from zynpu.radio.events import Boot, EventsLost, UdpDatagram
from zynpu.radio.link import Message
from zynpu.radio.sim.esp32 import SimEsp32

from .conftest import needs_gcc
from .lockstep import lost_total, new_host, ping, run_until, step

pytestmark = needs_gcc

RESYNC_TRANSACTIONS = 12  # SYNC, SYNACK, HELLO, then the ping: measured 6-8; this is the bound


def test_host_restarts_2000_times_half_of_them_with_the_previous_nonce() -> None:
    esp = SimEsp32()
    try:
        host = new_host()
        worst = 0
        for i in range(2000):
            # every other restart reuses the nonce the previous host process had: that used to wedge
            epoch = host.link.epoch if i % 2 else None
            host = new_host(epoch)
            body, n = ping(host, esp, 1, b"r%d" % i)
            assert body == b"\x00r%d" % i, f"restart {i}: no answer after {n} transactions"
            worst = max(worst, n)
        assert worst <= RESYNC_TRANSACTIONS
        assert esp.persist.delivered == 2000  # each ping delivered exactly once
        assert esp.stats()["host_restarts"] >= 2000
    finally:
        esp.close()


def test_host_restarts_with_the_firmwares_three_armed_buffers() -> None:
    """With 3 buffers armed in the slave, stale frames of the old session still reach the new host."""
    esp = SimEsp32(queue_depth=3)
    try:
        host = new_host()
        for i in range(300):
            host = new_host(host.link.epoch if i % 2 else None)
            body, n = ping(host, esp, 1, b"d%d" % i)
            assert body == b"\x00d%d" % i and n <= RESYNC_TRANSACTIONS + 4, (i, n)
        assert esp.persist.delivered == 300
    finally:
        esp.close()


def test_esp32_restarts_1000_times_with_a_stuck_rng_and_failing_nvs() -> None:
    """The chip draws the same nonce at every boot and NVS never commits: soft and cold resets alike
    still resynchronise, and every boot says its counter is volatile."""
    esp = SimEsp32(nonce_source=lambda: 0x5EED5EED)
    esp.nvs_fails = True
    try:
        host = new_host()
        assert ping(host, esp, 1, b"first")[0] == b"\x00first"
        tag = 2
        for i in range(1000):
            cold = i % 3 == 0
            esp.reset(cold=cold)
            # the host notices the restart from the chip's SYNC, although the nonce did not change
            n0 = run_until(host, esp, lambda i=i: host.link.stats.peer_restarts == i + 1 and host.link.up)
            body, n = ping(host, esp, tag, b"x%d" % i)
            assert body == b"\x00x%d" % i and n0 + n <= RESYNC_TRANSACTIONS, (i, cold, n0, n)
            tag = tag % 0xFFFF + 1
        assert set(esp.nonces) == {0x5EED5EED}
        boots = [e for e in host.events if isinstance(e, Boot)]
        assert len(boots) == 1001 and all(b.counter_volatile for b in boots[1:])  # boot 1 preceded the fault
        # soft resets keep counting in RTC memory although NVS never worked
        soft_runs = [b.boot_count for b in boots if b.resumed]
        assert soft_runs and max(soft_runs) >= 3
        assert host.link.stats.peer_restarts == 1000
    finally:
        esp.close()


def test_boot_counter_counts_on_nvs_and_flags_the_fallback() -> None:
    esp = SimEsp32()
    try:
        host = new_host()
        run_until(host, esp, lambda: any(isinstance(e, Boot) for e in host.events))
        esp.reset(cold=True)
        run_until(host, esp, lambda: sum(isinstance(e, Boot) for e in host.events) == 2)
        esp.nvs_fails = True
        esp.reset(cold=True)
        run_until(host, esp, lambda: sum(isinstance(e, Boot) for e in host.events) == 3)
        boots = [e for e in host.events if isinstance(e, Boot)]
        assert [(b.boot_count, b.counter_volatile) for b in boots] == [(1, False), (2, False), (1, True)]
    finally:
        esp.close()


def _datagrams_to(esp: SimEsp32, host, n: int) -> int:
    """Open a socket on the chip and send it n datagrams from outside; returns the chip's socket id."""
    host.link.queue(Message(wire.CH_SOCKET, wire.SOCKET_UDP_OPEN, 0, 7, struct.pack("<H", 0)))
    run_until(host, esp, lambda: 7 in host.responses)
    body = host.responses.pop(7)
    sock, port = body[1], struct.unpack_from("<H", body, 2)[0]
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        src.sendto(struct.pack("<I", i), ("127.0.0.1", port))
    src.close()
    return sock


def _udp_ids(events: list) -> list[int]:
    return [struct.unpack("<I", e.data)[0] for e in events if isinstance(e, UdpDatagram)]


def _wait(cond, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def test_events_in_flight_at_a_host_restart_are_reported_lost() -> None:
    esp = SimEsp32()
    try:
        a = new_host()
        _datagrams_to(esp, a, 40)
        assert _wait(lambda: esp.lib.zl_link_event_room(esp._link) == 0)  # the chip has read 8 of them
        # host A takes a few datagrams, then dies with more in flight (its window is 8 frames)
        run_until(a, esp, lambda: len(_udp_ids(a.events)) >= 5)
        got_a = _udp_ids(a.events)
        assert len(got_a) >= 5
        b = new_host()  # the next host process

        def settled() -> bool:
            step(b, esp)
            return len(set(got_a) | set(_udp_ids(b.events))) + lost_total(b.events) >= 40

        assert _wait(settled, 10)
        got_b, lost = _udp_ids(b.events), lost_total(b.events)
        assert any(isinstance(e, EventsLost) and e.reason == wire.LOST_HOST_RESTART for e in b.events)
        # The chip cannot know whether A saw the frames A never acknowledged: those count as lost even
        # if A got them. What neither host got is always inside the reported count: nothing is silent.
        assert 1 <= 40 - len(got_b) - len(set(got_a) - set(got_b)) <= lost <= 40 - len(got_b)
        assert not set(got_a) & set(got_b), "nothing delivered twice"
        assert got_b == sorted(got_b) and max(got_a) < min(got_b)
    finally:
        esp.close()


def test_events_queued_at_a_soft_reset_are_reported_lost() -> None:
    esp = SimEsp32()
    try:
        host = new_host(credit=0)  # the host takes no events: they stay queued in the chip
        _datagrams_to(esp, host, 5)
        run_until(host, esp, lambda: esp.lib.zl_link_event_room(esp._link) <= wire.ESP_EVENT_SLOTS - 5,
                  limit=400)
        queued = esp.persist.events_pending  # the 5 datagrams and the boot log line, held for credit
        assert queued == 6
        esp.reset(cold=False)
        host.link.rx_room = lambda: 255
        run_until(host, esp, lambda: lost_total(host.events) > 0, limit=100)
        lost = [e for e in host.events if isinstance(e, EventsLost)]
        assert lost == [EventsLost(queued, wire.LOST_ESP_RESET)]
    finally:
        esp.close()
