"""Link benchmark on the simulated bus, clocked like a board: SPI clock, bytes per transaction and a
per-transaction gap (docs/radio.md gives the gap assumption), so the figures are what a board would see.

Bounds at clock f, transaction size T bytes and gap g:
  transaction time  t = 8 T / f + g          (T = 1600, f = 10 MHz, g = 50 us: t = 1.33 ms)
  transaction rate  1 / t                    (752 /s: a small request/response pair per transaction
                                              when pipelined, since the link is full duplex)
  payload ceiling   8 * max_payload / t      (9.46 Mbit/s)
bulk_mbit_per_s is UDP data through the ESP32 to a loopback sink (max-size datagrams, 7 header bytes
less than max_payload per frame); messages_per_second is pipelined 16-byte pings.
"""

from __future__ import annotations

import socket
import threading
import time

from . import wire


def run(n_bulk: int = 1500, n_small: int = 1500, window: int = 32, clock_hz: int = wire.HOST_DEFAULT_SPI_HZ,
        gap_us: float | None = None) -> dict:
    from .driver import Radio
    from .sim.bus import DEFAULT_GAP_US, SimBus

    gap = DEFAULT_GAP_US if gap_us is None else gap_us
    bus = SimBus(clock_hz=clock_hz, gap_us=gap, slack_s=0.02)
    radio = Radio(bus, timeout=10.0)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.5)
    received = [0]

    def drain() -> None:
        while received[0] < n_bulk:
            try:
                sink.recv(65535)
            except (TimeoutError, OSError):
                break
            received[0] += 1

    try:
        radio.wait_up(5)
        sock = radio.udp.open()
        data = bytes(i % 251 for i in range(radio.udp.MAX_DATAGRAM))
        radio.udp.send(data, sink.getsockname(), sock=sock)  # warm up the path
        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        bits0, t0 = bus.counters.clock_bits, time.perf_counter()
        inflight: list = []
        for _ in range(n_bulk):
            inflight.append(radio.udp.send_async(data, sink.getsockname(), sock=sock))
            if len(inflight) >= window:
                inflight.pop(0).result(10)
        for p in inflight:
            p.result(10)
        bus.wait_idle()
        bulk_s, clock_bits = time.perf_counter() - t0, bus.counters.clock_bits - bits0
        drainer.join(5)

        small = bytes(16)
        t0 = time.perf_counter()
        inflight = []
        for _ in range(n_small):
            inflight.append(radio.system.ping_async(small))
            if len(inflight) >= window:
                inflight.pop(0).result(10)
        for p in inflight:
            p.result(10)
        bus.wait_idle()
        small_s = time.perf_counter() - t0
        bus.slack_s = 0.0  # a lone ping: every transaction waits out its own bus time
        rtts = sorted(radio.system.ping(small) for _ in range(100))
        t = bus.transaction_time()
        ceiling = 8 * wire.MAX_PAYLOAD / t
        bulk = n_bulk * len(data) * 8 / bulk_s
        rate = n_small / small_s
        return {
            "spi_clock_hz": bus.clock_now_hz,
            "transaction_gap_us": gap,
            "gap_assumption": "spidev ioctl + chip-select setup on the host, ESP32 next buffer pre-queued",
            "transaction_bytes": wire.TRANSACTION_SIZE,
            "header_bytes": wire.HEADER_SIZE,
            "max_payload_bytes": wire.MAX_PAYLOAD,
            "transaction_time_us": round(t * 1e6, 1),
            "transaction_rate_bound_per_s": round(1 / t, 1),
            "payload_ceiling_mbit_per_s": round(ceiling / 1e6, 3),
            "bulk_messages": n_bulk,
            "bulk_datagrams_received": received[0],
            "bulk_mbit_per_s": round(bulk / 1e6, 3),
            "bulk_vs_ceiling": round(bulk / ceiling, 4),
            "payload_efficiency": round(n_bulk * wire.MAX_PAYLOAD * 8 / clock_bits, 4),
            "small_messages": n_small,
            "messages_per_second": round(rate, 1),
            "messages_vs_bound": round(rate * t, 4),
            "ping_rtt_ms": round(rtts[len(rtts) // 2] * 1000, 3),
        }
    finally:
        sink.close()
        radio.close()
