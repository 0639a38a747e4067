"""A tool call that times out is cancelled: its thread is told to stop, no side effect happens after
the session gave up on it, and the trace says whether the thread stopped. Datagrams go through real
sockets on loopback (and through the simulated ESP32 for the radio), so "never arrives" is observed at
a receiving socket, not inferred from our own bookkeeping."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zynpu.agent import cancel
from zynpu.agent.hwtools import Backends, HostUdpOutbox, RadioOutbox, build_registry
from zynpu.agent.policy import Policy
from zynpu.agent.runtime import Agent, execute_tool
from zynpu.agent.store import Store
from zynpu.agent.tools import ToolRegistry
from zynpu.agent.trace import Tracer, read_spans

from .scripted import ScriptedModel, call

DELAY_S = 1.0  # when the slow tools below would send
TIMEOUT_S = 0.1
FILLERS = 16  # datagrams queued ahead of the stuck reply: twice the link's window (wire.TX_WINDOW)


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    yield sock
    sock.close()


def received(sock: socket.socket, seconds: float) -> list[bytes]:
    """Every datagram that reaches `sock` within `seconds`."""
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        with contextlib.suppress(TimeoutError):
            got.append(sock.recv(2048))
    return got


def slow_tools(outbox: Any, addr: tuple[str, int]) -> ToolRegistry:
    """Two tools that would send a datagram after DELAY_S: one waits on its cancel token, one ignores it."""
    reg = ToolRegistry()

    @reg.register(timeout=TIMEOUT_S)
    def patient() -> dict[str, Any]:
        """Waits, then sends (watching its token)."""
        cancel.sleep(DELAY_S)
        outbox.send_udp(b"late patient", addr)
        return {"ok": True}

    @reg.register(timeout=TIMEOUT_S)
    def stubborn() -> dict[str, Any]:
        """Waits without looking at its token, then sends."""
        time.sleep(DELAY_S)
        outbox.send_udp(b"late stubborn", addr)
        return {"ok": True}

    @reg.register(timeout=1.0)
    def prompt() -> dict[str, Any]:
        """Sends at once."""
        outbox.send_udp(b"prompt", addr)
        return {"ok": True}

    return reg


def tool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tool-")]


def test_a_timed_out_send_is_stopped_and_never_arrives(receiver: socket.socket) -> None:
    outbox = HostUdpOutbox()
    try:
        reg = slow_tools(outbox, receiver.getsockname())
        baseline = threading.active_count()
        t0 = time.monotonic()
        run = execute_tool(reg, "patient", {})
        waited = time.monotonic() - t0
        assert run.result == {"error": "timeout after 0.1 s"}
        assert run.cancel == "stopped"
        assert waited < DELAY_S  # it did not wait for the tool to finish on its own
        assert threading.active_count() == baseline and tool_threads() == []
        assert received(receiver, DELAY_S + 0.5) == []  # past the moment it would have sent
        assert outbox.sent == []
        assert execute_tool(reg, "prompt", {}).result == {"ok": True}  # the receiver does hear sends
        assert received(receiver, 0.5) == [b"prompt"]
    finally:
        outbox.close()


def test_a_tool_that_ignores_its_token_is_reported_still_running_and_sends_nothing(
    receiver: socket.socket,
) -> None:
    outbox = HostUdpOutbox()
    try:
        reg = slow_tools(outbox, receiver.getsockname())
        baseline = threading.active_count()
        run = execute_tool(reg, "stubborn", {})
        assert run.result == {"error": "timeout after 0.1 s"}
        assert run.cancel == "still running"
        (left,) = tool_threads()
        assert left.name == "tool-stubborn" and threading.active_count() == baseline + 1
        left.join(5)
        assert threading.active_count() == baseline  # it ended when its sleep did
        assert received(receiver, 0.3) == []  # its send was refused: the call had been cancelled
        assert outbox.sent == []
    finally:
        outbox.close()


def test_the_trace_says_whether_each_cancelled_call_stopped(tmp_path: Path, receiver: socket.socket) -> None:
    outbox = HostUdpOutbox()
    try:
        model = ScriptedModel(call("patient"), call("stubborn"), call("prompt"), {"answer": "done"})
        agent = Agent(
            model,  # type: ignore[arg-type]
            Store(tmp_path / "a.db"),
            Tracer(tmp_path / "t.jsonl"),
            Backends(outbox=outbox),
            registry_factory=lambda origin: slow_tools(outbox, receiver.getsockname()),
            policy=Policy.trusting(),
        )
        r = agent.handle({"src": "cli", "text": "go"})
        for t in tool_threads():
            t.join(5)
        assert received(receiver, 0.3) == [b"prompt"]
    finally:
        outbox.close()
    assert r.end_reason == "answer"
    assert [s.result for s in r.steps] == [
        {"error": "timeout after 0.1 s"},
        {"error": "timeout after 0.1 s"},
        {"ok": True},
        None,
    ]
    spans = read_spans(tmp_path / "t.jsonl", r.session_id)
    tools = [s for s in spans if s["name"].startswith("execute_tool")]
    assert [(s["name"], s["status"], s["attributes"].get("zynpu.tool.cancel")) for s in tools] == [
        ("execute_tool patient", "ERROR", "stopped"),
        ("execute_tool stubborn", "ERROR", "still running"),
        ("execute_tool prompt", "OK", None),
    ]


def test_a_reply_stuck_behind_a_dead_radio_link_is_withdrawn_never_sent(receiver: socket.socket) -> None:
    """The shipped `reply` tool through the simulated ESP32: the link goes dead (every SPI transaction
    lost) with its window full, the reply waits in the host's queue, the call times out and is
    cancelled. When the link comes back, what was already on the wire is delivered, the reply is not."""
    from zynpu.radio import open_sim, wire
    from zynpu.radio.sim.bus import Faults

    with open_sim() as radio:
        sock = radio.udp.open()
        filler = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        filler.bind(("127.0.0.1", 0))
        filler.settimeout(0.05)
        try:
            origin = ("udp", receiver.getsockname())
            reg = build_registry(Backends(outbox=RadioOutbox(radio, sock)), origin)
            reg["reply"].timeout = 0.3
            radio.transport.faults = Faults(drop_rate=1.0)  # the link is dead from here
            # Twice the link's window ahead of the reply: it cannot get a sequence number (leave the
            # host) while the link is dead, whatever the ARQ does with those in flight.
            for i in range(FILLERS):
                radio.udp.send_async(b"filler %d" % i, filler.getsockname(), sock=sock)
            run = execute_tool(reg, "reply", {"text": "too late"})
            assert run.result == {"error": "timeout after 0.3 s"}
            assert run.cancel == "stopped"
            radio.transport.faults = Faults()  # the link comes back
            assert radio.link.inflight <= wire.TX_WINDOW < FILLERS  # nothing past the window has left
            fillers = sorted(received(filler, 2.0))
            late = received(receiver, 0.5)
            assert execute_tool(reg, "reply", {"text": "in time"}).result == {"ok": True}
            after = received(receiver, 1.0)
        finally:
            filler.close()
    assert fillers == sorted(b"filler %d" % i for i in range(FILLERS))
    assert late == []
    assert after == [b"in time"]


def test_sleep_and_wait_for_end_early_when_cancelled() -> None:
    token = cancel.CancelToken()
    outcome: list[str] = []

    def tool() -> None:
        cancel.bind(token)
        try:
            cancel.wait_for(lambda: False, 10.0, "an answer")
        except cancel.Cancelled:
            outcome.append("cancelled")

    worker = threading.Thread(target=tool)
    worker.start()
    t0 = time.monotonic()
    assert token.cancel(1.0) is True
    worker.join(2)
    assert (outcome, worker.is_alive()) == (["cancelled"], False)
    assert time.monotonic() - t0 < 5.0  # not the 10 s it was waiting for
    with pytest.raises(TimeoutError, match=r"an answer: no answer within 0\.05 s"):
        cancel.wait_for(lambda: False, 0.05, "an answer")  # outside a call: a plain bounded wait
    with pytest.raises(cancel.Cancelled), token.effect():
        pytest.fail("a side effect ran after cancel()")
