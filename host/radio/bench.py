"""Link benchmark on the simulated bus: payload efficiency of a bulk transfer and small-message rate.

payload_efficiency = link payload bits / SPI clock bits for a bulk host->ESP32 stream of maximum-size
frames (UDP datagrams to a loopback sink). One frame per transaction and acks riding in the reverse
direction of the same full-duplex transaction make it (T - H) / T = 1580/1600 minus pipeline start
and drain; the transaction size T = 1600 was chosen so a 1472-byte UDP datagram fits one frame and
efficiency stays well above the 0.85 target (which needs only T >= H / 0.15 = 134 bytes).
"""

from __future__ import annotations

import socket
import threading
import time

from . import wire


def run(n_bulk: int = 2000, n_small: int = 3000, window: int = 32) -> dict:
    from .driver import Radio
    from .sim.bus import SimBus

    bus = SimBus()
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
        small_s = time.perf_counter() - t0
        rtts = sorted(radio.system.ping(small) for _ in range(200))
        return {
            "transaction_bytes": wire.TRANSACTION_SIZE,
            "header_bytes": wire.HEADER_SIZE,
            "max_payload_bytes": wire.MAX_PAYLOAD,
            "bulk_messages": n_bulk,
            "payload_efficiency": round(n_bulk * wire.MAX_PAYLOAD * 8 / clock_bits, 4),
            "goodput_efficiency": round(n_bulk * len(data) * 8 / clock_bits, 4),
            "bulk_datagrams_received": received[0],
            "bulk_sim_mbit_per_s": round(n_bulk * len(data) * 8 / bulk_s / 1e6, 2),
            "small_messages": n_small,
            "messages_per_second": round(n_small / small_s, 1),
            "ping_rtt_median_ms": round(rtts[len(rtts) // 2] * 1000, 3),
        }
    finally:
        sink.close()
        radio.close()
