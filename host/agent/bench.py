"""`zynpu bench agent`: a 500-datagram flood from one sender and one question from another, through
the simulated ESP32 and the real agent loop (shipped model, host int8 engine by default).

Measures how long the other sender waits for its answer, what admission dropped, the process's peak
memory, and the model's tokens per second over the sessions that ran.
"""

from __future__ import annotations

import resource
import socket
import tempfile
import time
from pathlib import Path
from typing import Any


def run(device: str = "numpy", flood: int = 500) -> dict[str, Any]:
    from zynpu.agent.hwtools import Backends, RadioOutbox
    from zynpu.agent.llm import load_llm
    from zynpu.agent.runtime import Agent
    from zynpu.agent.sensors import SimSensors
    from zynpu.agent.serve import EventLoop
    from zynpu.agent.store import KeyValue, Store
    from zynpu.agent.trace import Tracer
    from zynpu.radio import open_sim

    with load_llm(None, engine=device) as llm, tempfile.TemporaryDirectory() as home, open_sim() as radio:
        sock = radio.udp.open()
        store = Store(Path(home) / "agent.db")
        backends = Backends(
            outbox=RadioOutbox(radio, sock), sensors=SimSensors(temp=47.5), memory=KeyValue(store)
        )
        tracer = Tracer(Path(home) / "traces.jsonl")
        loop = EventLoop(Agent(llm, store, tracer, backends), radio, sock)
        loop.admission.tracer = tracer
        flooder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flooder.bind(("127.0.0.3", 0))  # two hosts on loopback: rate limits are per sending host
        asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        asker.bind(("127.0.0.2", 0))
        asker.settimeout(0.01)
        try:
            for i in range(flood):
                flooder.sendto(f"flood {i} what is the power".encode(), ("127.0.0.1", sock.port))
            t_ask = time.monotonic()
            asker.sendto(b"what is the temperature", ("127.0.0.1", sock.port))
            results, answer, waited = [], b"", float("inf")
            while time.monotonic() - t_ask < 60:  # one session at a time until the asker has its answer
                results += loop.run(max_events=1, duration=5)
                try:
                    answer, _ = asker.recvfrom(2048)
                except TimeoutError:
                    continue
                waited = time.monotonic() - t_ask
                break
        finally:
            flooder.close()
            asker.close()
    secs = sum(r.seconds for r in results)
    out_tokens = sum(r.output_tokens for r in results)
    return {
        "device": device,
        "flood_datagrams": flood,
        "other_sender_answer": answer.decode(),
        "other_sender_wait_s": round(waited, 3),
        "sessions_run": len(results),
        "admitted": loop.admission.admitted,
        "dropped": sum(loop.admission.dropped.values()),
        "dropped_by_reason": loop.admission.drop_counts(),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "spans_in_memory": len(tracer.spans),
        "output_tokens_per_s": round(out_tokens / secs, 2) if secs else 0.0,
    }
