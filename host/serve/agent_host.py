"""The agent's radio event loop inside the server: one process owns the NPU and the ESP32.

On the board the NPU and the radio each have one driver, so the agent cannot run in a second process
beside the server. Here a thread takes the radio's wake-ups (UDP datagrams, BLE writes) from the agent's
own `EventLoop` and runs each session as a job on the server's NPU worker, in line with the clients'
completions; sessions and spans go to the agent's store and trace file, which the dashboard reads, and
the radio link's statistics are the dashboard's radio panel.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from zynpu.errors import UserError
from zynpu.serve.errors import ApiError
from zynpu.serve.service import Service
from zynpu.serve.worker import Job


def open_radio(spec: str) -> Any:
    """`sim`: the simulated ESP32 (the firmware's C core); otherwise a spidev path on the board."""
    if spec == "sim":
        from zynpu.radio import open_sim

        return open_sim()
    if not Path(spec).exists():
        raise UserError(f"no radio at {spec}; use --radio sim, or the spidev device the ESP32 is wired to")
    from zynpu.radio import Radio
    from zynpu.radio.spidev import SpidevTransport

    radio = Radio(SpidevTransport(spec, handshake=0, data_ready=1))
    radio.wait_up()
    return radio


class AgentHost:
    def __init__(self, service: Service, radio: Any, home: Path, udp_port: int = 0,
                 peer: str = "127.0.0.1") -> None:
        from zynpu.agent.hwtools import Backends, FixedCounters, LiveCounters, RadioOutbox
        from zynpu.agent.runtime import Agent
        from zynpu.agent.sensors import SimSensors
        from zynpu.agent.serve import EventLoop
        from zynpu.agent.store import KeyValue, Store
        from zynpu.agent.trace import Tracer

        self.service, self.radio = service, radio
        self.sock = radio.udp.open(udp_port)
        llm = service.llm
        store = Store(home / "agent.db")
        backends = Backends(outbox=RadioOutbox(radio, self.sock), sensors=SimSensors(),
                            npu=LiveCounters(llm.npu) if llm.npu is not None else FixedCounters(),
                            memory=KeyValue(store), peer_host=peer)
        self.agent = Agent(llm, store, Tracer(home / "traces.jsonl"), backends)
        self.events = EventLoop(self.agent, radio, self.sock)
        self.sessions = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="agent-events", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.port)

    def _run(self) -> None:
        while not self.stop.is_set():
            # Arrivals go through the agent's admission (rate limits, bounded per-origin queues);
            # `wakes` yields None while the radio is idle, when the queue is served.
            admission = self.events.admission
            for wake in self.events.wakes(time.monotonic() + 0.5):
                if wake is not None:
                    admission.offer(wake)
                while (admitted := admission.next()) is not None:
                    self._handle(admitted.event, admitted.origin)

    def _handle(self, event: dict[str, Any], origin: tuple[str, Any]) -> None:
        """Run one session on the NPU worker and wait for it; a full queue delays it, never drops it."""
        finished = threading.Event()

        def run(job: Job) -> None:
            try:
                self.agent.handle(event, origin)
                self.sessions += 1
            finally:
                finished.set()

        while not self.stop.is_set():
            try:
                self.service.worker.submit(Job(run, lambda e: finished.set()))
                break
            except ApiError:
                time.sleep(self.service.worker.retry_after())
        while not self.stop.is_set() and not finished.wait(0.2):
            pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.radio.close()
