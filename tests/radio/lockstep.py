"""A host link and a simulated ESP32 clocked in lockstep, without threads or bus timing.

Thousands of restarts per test stay fast this way; the same HostLink and the same firmware core run
as in the driver, only the pump is this loop.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from zynpu.radio import wire
from zynpu.radio.events import EventsLost, decode_event
from zynpu.radio.link import HostLink, Message
from zynpu.radio.sim.esp32 import SimEsp32


@dataclass
class Host:
    """One host process: its link, what it received, what the ESP32's restarts cost it."""

    link: HostLink
    responses: dict[int, bytes] = field(default_factory=dict)
    events: list = field(default_factory=list)
    hellos: int = 0
    restarts: list[tuple[bool, int]] = field(default_factory=list)  # (resumed, requests given up)


def new_host(epoch: int | None = None, credit: int = 255) -> Host:
    h: Host
    def on_message(m: Message) -> None:
        if m.flags & wire.FLAG_RESP:
            h.responses[m.tag] = m.payload
        elif (m.channel, m.type) == (wire.CH_LINK, wire.LINK_HELLO):
            h.hellos += 1
        else:
            h.events.append(decode_event(m))

    link = HostLink(epoch or secrets.randbits(32) or 1, rx_room=lambda: credit - len(h.events),
                    on_message=on_message,
                    on_peer_restart=lambda resumed, dropped: h.restarts.append((resumed, len(dropped))))
    h = Host(link)
    return h


def step(host: Host, esp: SimEsp32) -> None:
    host.link.receive(esp.exchange(host.link.prepare()))


def run_until(host: Host, esp: SimEsp32, done, limit: int = 60) -> int:
    """Clock transactions until done() is true; returns how many it took (limit + 1 if never)."""
    for n in range(1, limit + 1):
        step(host, esp)
        if done():
            return n
    return limit + 1


def ping(host: Host, esp: SimEsp32, tag: int, data: bytes, limit: int = 60) -> tuple[bytes | None, int]:
    """Queue one ping and clock until its response; (response body, transactions)."""
    host.link.queue(Message(wire.CH_SYSTEM, wire.SYSTEM_PING, 0, tag, data))
    n = run_until(host, esp, lambda: tag in host.responses, limit)
    return host.responses.pop(tag, None), n


def lost_total(events: list) -> int:
    return sum(e.count for e in events if isinstance(e, EventsLost))
