"""Events wake the agent: UDP datagrams and BLE writes from the radio, a timer, a sensor threshold.

Radio text becomes the `text` of an event dict and nothing else: it is quoted as data in the prompt
(see `prompt`), the reply goes back only to where it came from, and the grammar fixes what the model
can do about it. `EventLoop.run` is bounded by a number of events and a duration, so it always ends;
`EventLoop.results` yields each result as it happens and may run until it is stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from zynpu.agent.admission import Admission
from zynpu.agent.runtime import Agent, SessionResult
from zynpu.agent.sensors import Sensors


@dataclass
class Wake:
    event: dict[str, Any]
    origin: tuple[str, Any]


@dataclass
class Threshold:
    name: str
    limit: float
    armed: bool = True  # edge-triggered: fires once per crossing, re-arms below the limit


@dataclass
class EventLoop:
    agent: Agent
    radio: Any = None
    udp_sock: Any = None  # a zynpu.radio UdpSocket whose datagrams wake the agent
    timer: float | None = None  # seconds between timer events
    sensors: Sensors | None = None
    thresholds: list[Threshold] = field(default_factory=list)
    poll: float = 0.05
    resume: bool = False  # a later event from the same origin continues that origin's session
    admission: Admission = field(default_factory=Admission)
    drain: int = 1024  # arrivals pulled (cheaply: admission only) before the queue is served

    def wakes(self, deadline: float) -> Iterator[Wake | None]:
        """Events in arrival order until `deadline` (monotonic); None whenever the radio was idle."""
        from zynpu.radio.events import BleWrite, UdpDatagram

        next_tick = time.monotonic() + self.timer if self.timer else None
        while time.monotonic() < deadline:
            if self.radio is not None:
                ev = self.radio.next_event(self.poll, lambda e: isinstance(e, (UdpDatagram, BleWrite)))
                if ev is None:
                    yield None  # idle: the queue may be served
                elif isinstance(ev, UdpDatagram) and (self.udp_sock is None or ev.sock == self.udp_sock.sock):
                    yield Wake({"src": "udp", "text": ev.data.decode("utf-8", "replace")}, ("udp", ev.addr))
                elif isinstance(ev, BleWrite):
                    yield Wake({"src": "ble", "text": ev.data.decode("utf-8", "replace")}, ("ble", None))
            else:
                time.sleep(self.poll)
                yield None
            now = time.monotonic()
            if next_tick is not None and now >= next_tick:
                next_tick = now + (self.timer or 0)
                yield Wake({"src": "timer", "name": "tick"}, ("timer", None))
            for th in self.thresholds if self.sensors is not None else []:
                value = self.sensors.read(th.name)  # type: ignore[union-attr]
                if th.armed and value > th.limit:
                    th.armed = False
                    yield Wake(
                        {"src": "sensor", "name": th.name, "value": value, "limit": th.limit},
                        ("sensor", None),
                    )
                elif value <= th.limit:
                    th.armed = True

    def run(self, max_events: int = 1, duration: float = 60.0) -> list[SessionResult]:
        """Handle up to `max_events` events arriving within `duration` seconds (a bounded run)."""
        return list(self.results(max_events, duration))

    def results(
        self, max_events: int | None = None, duration: float | None = None
    ) -> Iterator[SessionResult]:
        """Each event's result as soon as it is handled; without bounds, until the caller stops.

        Arrivals go through `admission` (rate limits, bounded queues, round-robin across origins); the
        queue is served when the radio is idle or after `drain` arrivals, so a flood cannot starve
        other senders."""
        deadline = time.monotonic() + duration if duration is not None else math.inf
        handled = pulled = 0
        for wake in self.wakes(deadline):
            if wake is not None:
                self.admission.offer(wake)
                pulled += 1
                if pulled % self.drain:
                    continue
            while (w := self.admission.next()) is not None:
                yield self._handle(w)
                handled += 1
                if max_events is not None and handled >= max_events:
                    return

    def _handle(self, wake: Wake) -> SessionResult:
        sid = None
        if self.resume and wake.origin[1] is not None:
            key = f"{wake.origin[0]}:{wake.origin[1][0]}:{wake.origin[1][1]}"
            row = self.agent.store.latest_for_origin(key)
            sid = row.id if row else None
        return self.agent.handle(wake.event, wake.origin, session_id=sid)
