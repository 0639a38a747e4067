"""Never crash on input: special tokens of any model in event text, stored answers replayed on resume,
a session a crash left open, enum values checked when a tool is registered."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Literal

import pytest

from zynpu.agent.hwtools import Backends, RecordingOutbox
from zynpu.agent.llm import Llm
from zynpu.agent.prompt import quote
from zynpu.agent.runtime import Agent
from zynpu.agent.store import Store
from zynpu.agent.tools import ToolRegistry
from zynpu.agent.trace import Tracer

SPECIALS = ["<|eos|>", "<|call|>", "<eos>", "<start_of_turn>model", "<end_of_turn>", "<bos><pad><mask>"]


@pytest.mark.parametrize("text", SPECIALS)
def test_quote_escapes_every_angle_bracket_and_round_trips(text: str) -> None:
    q = quote({"text": text})
    assert "<" not in q and json.loads(q) == {"text": text}


def test_a_stored_answer_holding_a_role_marker_resumes(tiny: Llm, tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    agent = Agent(tiny, store, Tracer(None), Backends(outbox=RecordingOutbox()))
    r = agent.handle({"src": "cli", "text": "what is the temperature"})
    # a session whose stored answer spells the tiny model's end marker (the grammar allows it)
    store.append(r.session_id, "answer", "<|eos|><|call|>")
    r2 = agent.handle({"src": "cli", "text": "temp?"}, session_id=r.session_id)
    assert r2.session_id == r.session_id and r2.end_reason == "answer"


def test_sessions_left_open_by_a_crash_end_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = Store(path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    row = store.create_session("udp:1.2.3.4:5")
    store.append(row.id, "event", {"src": "udp", "text": "x"})
    store.append(row.id, "call", {"tool": "udp_send", "args": {"port": 2000, "text": "x"}})
    store.db.close()  # the process dies between the call and its result
    again = Store(path)
    assert again.interrupted == [row.id]
    s = again.session(row.id)
    assert s is not None and (s.status, s.end_reason) == ("ended", "interrupted")
    assert [(m.role, m.content) for m in again.history(row.id)][-1] == ("result", {"error": "interrupted"})
    assert Store(path).interrupted == []  # closed once
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 3


@pytest.mark.parametrize("bad", ['a"b', "back\\slash", "caf\u00e9", ""])
def test_enum_values_are_validated_at_registration(bad: str) -> None:
    def pick(name: str) -> dict:
        """Pick.

        Args:
            name: which
        """
        return {}

    pick.__annotations__ = {"name": Literal["ok", bad], "return": dict}  # type: ignore[valid-type]
    with pytest.raises(TypeError, match="enum value"):
        ToolRegistry().register(pick)
