"""The character automaton accepts exactly the valid calls and answers, and always can finish."""

from __future__ import annotations

import json
import random

import pytest

pytest.importorskip("hypothesis", reason="property tests need hypothesis (pip install .[dev])")
from hypothesis import given, settings
from hypothesis import strategies as st

from zynpu.agent.grammar import Grammar
from zynpu.agent.hwtools import Backends, build_registry
from zynpu.agent.tasks import run_oracle, task_set

REG = build_registry(Backends())
G = Grammar(REG)


def valid(text: str) -> bool:
    """Parses, names a registered tool and validates against its schema (or is an answer)."""
    out = json.loads(text)
    if set(out) == {"answer"}:
        return isinstance(out["answer"], str)
    assert set(out) == {"tool", "args"}
    REG[out["tool"]].validate(out["args"])
    return True


def test_accepts_every_oracle_output() -> None:
    for task in task_set("train", 150, 3) + task_set("eval", 150, 4):
        for call, _ in run_oracle(task):
            assert G.matches(call), call


def test_rejects_what_the_schema_forbids() -> None:
    bad = [
        '{"tool":"shell","args":{"cmd":"rm"}}',
        '{"tool":"read_sensor","args":{"name":"cpu"}}',
        '{"tool":"read_sensor","args":{}}',
        '{"tool":"udp_send","args":{"port":22,"text":"x"}}',
        '{"tool":"udp_send","args":{"port":70000,"text":"x"}}',
        '{"tool":"udp_send","args":{"port":01024,"text":"x"}}',
        '{"tool":"udp_send","args":{"text":"x","port":1024}}',
        '{"tool":"reply","args":{"text":"' + "x" * 49 + '"}}',
        '{"tool":"reply","args":{"text":"a\\"b"}}',
        '{"tool":"npu_status","args":{"x":1}}',
        '{"answer":"ok"} ',
        '{"answer": "ok"}',
        '{"tool":"reply"}',
    ]
    for text in bad:
        assert not G.matches(text), text
    assert G.matches('{"tool":"udp_send","args":{"port":65535,"text":"x"}}')
    assert G.matches('{"tool":"npu_status","args":{}}')


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_walks_end_in_valid_outputs(seed: int) -> None:
    """Choose any live character at random: the automaton only ever offers ways to a valid output."""
    rng = random.Random(seed)
    alphabet = [chr(c) for c in range(0x20, 0x7F)]
    state, text = G.start, ""
    while not G.accepts(state):
        live = [c for c in alphabet if G.step(state, c) is not None]
        assert live, f"dead end after {text!r}"
        c = rng.choice(live)
        nxt = G.step(state, c)
        assert nxt is not None and G.dist(nxt) >= G.dist(state) - 1
        state, text = nxt, text + c
    assert valid(text), text


def test_distance_is_the_shortest_completion() -> None:
    assert G.dist(G.start) == len('{"answer":""}')
    g = Grammar(REG, allow_answer=False)
    assert g.dist(g.start) == len('{"tool":"time_now","args":{}}')
    s = g.walk(g.start, '{"tool":"udp_send","args":{"port":')
    assert g.dist(s) == len('1024,"text":""}}')
