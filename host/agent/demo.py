"""The end-to-end demo: a UDP datagram reaches the simulated ESP32, the agent wakes, decides on the
NPU, calls tools, and its answer arrives as a datagram at a local socket. `make demo` calls `run`.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path

QUESTION = b"what is the board temperature?"


def run(device_name: str | None = "sim", question: bytes = QUESTION, temp: float = 47.5) -> bool:
    """True when the agent's reply datagram reached the requesting socket and the session answered."""
    from zynpu.agent.hwtools import Backends, FixedCounters, LiveCounters, RadioOutbox
    from zynpu.agent.llm import load_llm
    from zynpu.agent.runtime import Agent
    from zynpu.agent.sensors import SimSensors
    from zynpu.agent.serve import EventLoop
    from zynpu.agent.store import KeyValue, Store
    from zynpu.agent.trace import Tracer, read_spans, timeline
    from zynpu.radio import open_sim

    device = device_name or "sim"
    home = Path(tempfile.mkdtemp(prefix="zynpu-agent-demo-"))
    print(f"[agent] model on the {device} device (W8A8, every linear layer on the NPU)")
    store, tracer = Store(home / "agent.db"), Tracer(home / "traces.jsonl")
    with load_llm(None, engine=device) as llm, open_sim() as radio:
        sock = radio.udp.open()
        backends = Backends(
            outbox=RadioOutbox(radio, sock),
            sensors=SimSensors(temp=temp),
            npu=LiveCounters(llm.npu) if llm.npu else FixedCounters(),
            memory=KeyValue(store),
        )
        agent = Agent(llm, store, tracer, backends)
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.bind(("127.0.0.1", 0))
        client.settimeout(5.0)
        try:
            print(f"[agent] datagram {question!r} -> simulated ESP32 UDP port {sock.port}")
            client.sendto(question, ("127.0.0.1", sock.port))
            results = EventLoop(agent, radio, sock).run(max_events=1, duration=30.0)
            try:
                reply, _ = client.recvfrom(2048)
            except TimeoutError:
                reply = None
        finally:
            client.close()
    if not results:
        print("[agent] no event arrived")
        return False
    r = results[0]
    print(timeline(read_spans(home / "traces.jsonl", r.session_id)))
    secs = sum(s.seconds for s in r.steps) or 1e-9
    print(f"[agent] session {r.session_id}: {r.end_reason}, answer {r.answer!r}")
    print(f"[agent] reply datagram at the test socket: {reply!r}")
    print(
        f"[agent] {r.output_tokens} tokens written, {r.input_tokens} tokens read, "
        f"{r.output_tokens / secs:.2f} tokens/s written ({(r.input_tokens + r.output_tokens) / secs:.1f} "
        f"tokens/s through the model) on {device}; {r.cycles} NPU cycles"
    )
    return reply is not None and r.end_reason == "answer"


if __name__ == "__main__":
    t0 = time.time()
    ok = run(sys.argv[1] if len(sys.argv) > 1 else "sim")
    print(f"[agent] demo {'passed' if ok else 'FAILED'} in {time.time() - t0:.1f} s")
    sys.exit(0 if ok else 1)
