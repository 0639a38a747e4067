"""Sessions: persisted history (sqlite), budgets that end cleanly with a reason, tool timeouts,
resumption, and OpenTelemetry-GenAI-shaped spans."""

from __future__ import annotations

import json
import time
from pathlib import Path

from zynpu.agent.hwtools import Backends, RecordingOutbox
from zynpu.agent.llm import Llm
from zynpu.agent.runtime import Agent, Budgets, run_tool
from zynpu.agent.sensors import SimSensors
from zynpu.agent.store import KeyValue, Store
from zynpu.agent.tools import ToolError, ToolRegistry
from zynpu.agent.trace import Tracer, read_spans, timeline

EVENT = {"src": "udp", "text": "what is the temperature"}
ORIGIN = ("udp", ("127.0.0.1", 9))


def make_agent(llm: Llm, home: Path, **budget: float) -> Agent:
    store = Store(home / "agent.db")
    backends = Backends(outbox=RecordingOutbox(), sensors=SimSensors(temp=51.5), memory=KeyValue(store))
    return Agent(llm, store, Tracer(home / "traces.jsonl"), backends, Budgets(**budget))  # type: ignore[arg-type]


def test_session_is_persisted_and_traced(tiny: Llm, tmp_path: Path) -> None:
    agent = make_agent(tiny, tmp_path)
    r = agent.handle(EVENT, ORIGIN)
    assert (r.end_reason, r.answer) == ("answer", "temp 51.5 C")
    assert agent.backends.outbox.sent == [("udp", ORIGIN[1], b"temp 51.5 C")]
    agent.store.close()
    store = Store(tmp_path / "agent.db")  # a fresh connection reads what was committed
    row = store.session(r.session_id)
    assert row is not None and row.status == "ended" and row.end_reason == r.end_reason
    roles = [m.role for m in store.history(r.session_id)]
    assert roles[0] == "event" and store.history(r.session_id)[0].content == EVENT
    assert roles[1:] == [
        x for s in r.steps for x in (["call", "result"] if "tool" in s.parsed else ["answer"])
    ]

    spans = read_spans(tmp_path / "traces.jsonl", r.session_id)
    root = [s for s in spans if s["parent_span_id"] is None]
    assert len(root) == 1 and root[0]["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert root[0]["attributes"]["zynpu.session.end_reason"] == r.end_reason
    children = [s for s in spans if s["parent_span_id"] == root[0]["span_id"]]
    assert len(children) == len(spans) - 1 and all(s["trace_id"] == root[0]["trace_id"] for s in spans)
    assert len(root[0]["trace_id"]) == 32 and len(root[0]["span_id"]) == 16
    chats = [s for s in children if s["attributes"]["gen_ai.operation.name"] == "chat"]
    tools = [s for s in children if s["attributes"]["gen_ai.operation.name"] == "execute_tool"]
    assert len(chats) == len(r.steps) and len(tools) == len(r.calls)
    for s, step in zip(chats, r.steps, strict=True):
        a = s["attributes"]
        assert a["gen_ai.usage.output_tokens"] == step.output_tokens > 0
        assert a["gen_ai.usage.input_tokens"] == step.input_tokens
        assert "zynpu.npu.cycles" in a and s["end_time_unix_nano"] >= s["start_time_unix_nano"]
    for s, call in zip(tools, r.calls, strict=True):
        assert s["attributes"]["gen_ai.tool.name"] == call["tool"]
    text = timeline(spans)
    assert "invoke_agent" in text and "chat" in text


def test_budgets_end_sessions_with_a_reason(tiny: Llm, tmp_path: Path) -> None:
    for budget, reason in [
        ({"max_steps": 0}, "max_steps"),
        ({"max_tokens": 10}, "max_tokens"),
        ({"wall_time": 0.0}, "wall_time"),
    ]:
        agent = make_agent(tiny, tmp_path / reason, **budget)
        if reason == "wall_time":
            time.sleep(0.01)
        r = agent.handle(EVENT, ORIGIN)
        assert r.end_reason == reason and r.answer is None
        assert agent.store.session(r.session_id).end_reason == reason  # type: ignore[union-attr]
    agent = make_agent(tiny, tmp_path / "one", max_steps=1)
    r = agent.handle(EVENT, ORIGIN)
    assert len(r.steps) == 1 and r.end_reason == "max_steps"
    assert r.steps[0].parsed == {"tool": "read_sensor", "args": {"name": "temp"}}


def test_tool_timeouts_errors_and_policy_checks() -> None:
    reg = ToolRegistry()

    @reg.register(timeout=0.1)
    def slow() -> dict:
        """Takes too long."""
        time.sleep(2)
        return {}

    @reg.register
    def broken(n: int) -> dict:
        """Fails."""
        if n > 0:
            raise ToolError("n must not be positive")
        raise RuntimeError("boom")

    t0 = time.monotonic()
    assert run_tool(reg, "slow", {}) == {"error": "timeout after 0.1 s"}
    assert time.monotonic() - t0 < 1.0
    assert run_tool(reg, "broken", {"n": 1}) == {"error": "n must not be positive"}
    assert run_tool(reg, "broken", {"n": 0}) == {"error": "RuntimeError: boom"}
    assert "error" in run_tool(reg, "broken", {"n": "1"})
    assert run_tool(reg, "shell", {"cmd": "ls"}) == {"error": "no tool 'shell'"}


def test_resumed_session_keeps_its_history(tiny: Llm, tmp_path: Path) -> None:
    agent = make_agent(tiny, tmp_path)
    first = agent.handle(EVENT, ORIGIN)
    second = agent.handle({"src": "udp", "text": "and the power?"}, ORIGIN, session_id=first.session_id)
    assert second.session_id == first.session_id and second.trace_id == first.trace_id
    events = [m.content for m in agent.store.history(first.session_id) if m.role == "event"]
    assert events == [EVENT, {"src": "udp", "text": "and the power?"}]


def test_memory_is_persistent_across_store_connections(tmp_path: Path) -> None:
    kv = KeyValue(Store(tmp_path / "m.db"))
    kv["wifi"] = "lab5"
    assert KeyValue(Store(tmp_path / "m.db")).get("wifi") == "lab5"
    assert json.loads(json.dumps(kv.get("nothing"))) is None
