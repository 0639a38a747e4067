"""Sessions, their history and the agent's key-value memory, persisted in one sqlite file.

One connection shared by the agent loop and the tool threads (memory tools run under a timeout in a
worker thread), so every statement goes through a lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, created REAL, updated REAL, origin TEXT, instructions TEXT,
    status TEXT, end_reason TEXT, trace_id TEXT, answer TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT, idx INTEGER, role TEXT, content TEXT, t REAL, PRIMARY KEY (session_id, idx)
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, t REAL);
"""


def default_home() -> Path:
    env = os.environ.get("ZYNPU_AGENT_HOME")
    if env:
        return Path(env)
    cache = Path(os.environ.get("ZYNPU_CACHE", Path.home() / ".cache" / "zynpu"))
    return cache / "agent"


@dataclass
class SessionRow:
    id: str
    created: float
    updated: float
    origin: str
    instructions: str
    status: str
    end_reason: str | None
    trace_id: str
    answer: str | None


@dataclass
class Message:
    role: str  # "event" | "call" | "result" | "answer"
    content: Any


class Store:
    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path else default_home() / "agent.db"
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), check_same_thread=False)
        self.lock = threading.Lock()
        with self.lock:
            if str(self.path) != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")  # a crash mid-step never tears the file
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        self.interrupted = self.close_interrupted()

    def close_interrupted(self) -> list[str]:
        """Sessions a crash left `open` are ended as `interrupted`; a call that has no stored result
        gets an error result, so a resume never replays a half-done call."""
        with self.lock:
            ids = [r[0] for r in self.db.execute("SELECT id FROM sessions WHERE status = 'open'")]
            for sid in ids:
                last = self.db.execute(
                    "SELECT idx, role FROM messages WHERE session_id = ? ORDER BY idx DESC LIMIT 1", (sid,)
                ).fetchone()
                if last is not None and last[1] == "call":
                    self.db.execute(
                        "INSERT INTO messages VALUES (?,?,?,?,?)",
                        (sid, last[0] + 1, "result", json.dumps({"error": "interrupted"}), time.time()),
                    )
                self.db.execute(
                    "UPDATE sessions SET status = 'ended', end_reason = 'interrupted', updated = ? "
                    "WHERE id = ?",
                    (time.time(), sid),
                )
            self.db.commit()
        return ids

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.lock:
            cur = self.db.execute(sql, args)
            rows = cur.fetchall()
            self.db.commit()
            return rows

    # Sessions ----------------------------------------------------------------------------------
    def create_session(
        self, origin: str, instructions: str = "", session_id: str | None = None
    ) -> SessionRow:
        sid = session_id or uuid.uuid4().hex[:12]
        now = time.time()
        trace_id = uuid.uuid4().hex
        self._exec(
            "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?)",
            (sid, now, now, origin, instructions, "open", None, trace_id, None),
        )
        return self.session(sid)  # type: ignore[return-value]

    def session(self, sid: str) -> SessionRow | None:
        rows = self._exec("SELECT * FROM sessions WHERE id = ?", (sid,))
        return SessionRow(*rows[0]) if rows else None

    def latest_for_origin(self, origin: str) -> SessionRow | None:
        rows = self._exec("SELECT * FROM sessions WHERE origin = ? ORDER BY updated DESC LIMIT 1", (origin,))
        return SessionRow(*rows[0]) if rows else None

    def sessions(self, limit: int = 20) -> list[SessionRow]:
        return [
            SessionRow(*r)
            for r in self._exec("SELECT * FROM sessions ORDER BY updated DESC LIMIT ?", (limit,))
        ]

    def end_session(self, sid: str, reason: str, answer: str | None) -> None:
        self._exec(
            "UPDATE sessions SET status = 'ended', end_reason = ?, answer = ?, updated = ? WHERE id = ?",
            (reason, answer, time.time(), sid),
        )

    def reopen(self, sid: str) -> None:
        self._exec("UPDATE sessions SET status = 'open', updated = ? WHERE id = ?", (time.time(), sid))

    # History -----------------------------------------------------------------------------------
    def append(self, sid: str, role: str, content: Any) -> None:
        with self.lock:
            (n,) = self.db.execute("SELECT COUNT(*) FROM messages WHERE session_id = ?", (sid,)).fetchone()
            self.db.execute(
                "INSERT INTO messages VALUES (?,?,?,?,?)", (sid, n, role, json.dumps(content), time.time())
            )
            self.db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (time.time(), sid))
            self.db.commit()

    def history(self, sid: str) -> list[Message]:
        rows = self._exec("SELECT role, content FROM messages WHERE session_id = ? ORDER BY idx", (sid,))
        return [Message(r, json.loads(c)) for r, c in rows]


class KeyValue:
    """The agent's memory tool backend: a persistent string map in the same database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> str | None:
        rows = self.store._exec("SELECT value FROM kv WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def __setitem__(self, key: str, value: str) -> None:
        self.store._exec("INSERT OR REPLACE INTO kv VALUES (?,?,?)", (key, value, time.time()))
