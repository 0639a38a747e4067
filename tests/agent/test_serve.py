"""Events wake the agent through the simulated ESP32 (the firmware's C core, real loopback sockets):
UDP datagrams, BLE writes, a timer and a sensor threshold; `run` is bounded by events and duration."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from zynpu.agent.hwtools import Backends, RadioOutbox
from zynpu.agent.llm import Llm
from zynpu.agent.runtime import Agent
from zynpu.agent.sensors import SimSensors
from zynpu.agent.serve import EventLoop, Threshold
from zynpu.agent.store import KeyValue, Store
from zynpu.agent.trace import Tracer
from zynpu.radio import open_sim


@pytest.fixture
def radio():  # type: ignore[no-untyped-def]
    r = open_sim()
    yield r
    r.close()


def agent_for(llm: Llm, home: Path, radio, sock, sensors: SimSensors) -> Agent:  # type: ignore[no-untyped-def]
    store = Store(home / "agent.db")
    backends = Backends(outbox=RadioOutbox(radio, sock), sensors=sensors, memory=KeyValue(store))
    return Agent(llm, store, Tracer(home / "traces.jsonl"), backends)


def test_udp_datagram_wakes_the_agent_and_the_reply_arrives(tiny: Llm, tmp_path: Path, radio) -> None:  # type: ignore[no-untyped-def]
    sock = radio.udp.open()
    agent = agent_for(tiny, tmp_path, radio, sock, SimSensors(temp=63.4))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.settimeout(5)
    try:
        client.sendto(b"what is the temperature", ("127.0.0.1", sock.port))
        (r,) = EventLoop(agent, radio, sock).run(max_events=1, duration=30)
        assert client.recvfrom(2048)[0] == b"temp 63.4 C"
    finally:
        client.close()
    assert r.end_reason == "answer" and r.answer == "temp 63.4 C"
    assert [c["tool"] for c in r.calls] == ["read_sensor", "reply"]


def test_ble_write_wakes_the_agent_and_it_notifies(tiny: Llm, tmp_path: Path, radio) -> None:  # type: ignore[no-untyped-def]
    agent = agent_for(tiny, tmp_path, radio, None, SimSensors(power=4.25))
    esp = radio.transport.esp
    assert esp.ble_write(b"power please")
    (r,) = EventLoop(agent, radio).run(max_events=1, duration=30)
    assert r.answer == "power 4.25 W"
    assert esp.platform.ble.notifications == [b"power 4.25 W"]


def test_timer_and_threshold_events(tiny: Llm, tmp_path: Path) -> None:
    sensors = SimSensors(temp=85.3)
    agent = agent_for(tiny, tmp_path, None, None, sensors)
    loop = EventLoop(agent, timer=0.05, sensors=sensors, thresholds=[Threshold("temp", 80.0)])
    results = loop.run(max_events=2, duration=20)
    kinds = sorted(r.calls[0]["tool"] for r in results)
    assert kinds == ["ble_notify", "read_sensor"]
    alert = next(r for r in results if r.calls[0]["tool"] == "ble_notify")
    assert alert.calls[0]["args"] == {"text": "alert temp 85.3 C"}
    timer = next(r for r in results if r.calls[0]["tool"] == "read_sensor")
    assert timer.answer == "logged 85.3" and agent.backends.memory.get("last_temp") == "85.3"


def test_serve_is_bounded_by_duration(tiny: Llm, tmp_path: Path) -> None:
    agent = agent_for(tiny, tmp_path, None, None, SimSensors())
    t0 = time.monotonic()
    assert EventLoop(agent).run(max_events=5, duration=0.3) == []
    assert time.monotonic() - t0 < 2


def test_unbounded_serve_hands_over_each_result_as_it_happens(tiny: Llm, tmp_path: Path, radio) -> None:  # type: ignore[no-untyped-def]
    """`agent serve` without --max-events/--seconds: the first answer comes out while the loop keeps
    listening (the generator is still open and answers the next event too)."""
    agent = agent_for(tiny, tmp_path, radio, None, SimSensors(power=4.25, temp=51.0))
    esp = radio.transport.esp
    results = EventLoop(agent, radio).results()  # no bound on events or time
    assert esp.ble_write(b"power please")
    assert next(results).answer == "power 4.25 W"
    assert esp.ble_write(b"what is the temperature")
    assert next(results).answer == "temp 51.0 C"
    results.close()
    assert esp.platform.ble.notifications == [b"power 4.25 W", b"temp 51.0 C"]
