"""The dashboard's data: the server and NPU metrics, the agent's recent sessions with their trace
timelines (from the agent's sqlite store and JSONL spans), and the radio link's statistics.

The page (`static/dashboard.html` + `dashboard.js`, no build step) polls `/dashboard/stats` and
redraws; this module only gathers, it never changes anything it reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from zynpu.serve.service import Service

TRACE_TAIL_BYTES = 512 * 1024  # only the newest spans are read back per refresh
SESSIONS = 8


def tail_spans(path: Path, limit_bytes: int = TRACE_TAIL_BYTES) -> list[dict[str, Any]]:
    """The last spans of an append-only JSONL file (a partial first line is skipped)."""
    if not path.exists():
        return []
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - limit_bytes))
        data = f.read().decode("utf-8", "replace")
    lines = data.splitlines()[1:] if size > limit_bytes else data.splitlines()
    spans = []
    for line in lines:
        try:
            spans.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return spans


def timeline(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each span as offset and duration (ms) from the session's first span, with its key attributes."""
    if not spans:
        return []
    t0 = min(s["start_time_unix_nano"] for s in spans)
    out = []
    for s in sorted(spans, key=lambda s: (s["start_time_unix_nano"], s.get("parent_span_id") is not None)):
        a = s.get("attributes", {})
        op = a.get("gen_ai.operation.name", s.get("name"))
        detail = a.get("zynpu.output") or (
            f"{a.get('gen_ai.tool.name')}({a.get('zynpu.tool.args', '')}) -> {a.get('zynpu.tool.result', '')}"
            if op == "execute_tool" else a.get("zynpu.session.end_reason", ""))
        out.append({
            "op": op,
            "start_ms": (s["start_time_unix_nano"] - t0) / 1e6,
            "duration_ms": (s["end_time_unix_nano"] - s["start_time_unix_nano"]) / 1e6,
            "status": s.get("status"),
            "npu_cycles": a.get("zynpu.npu.cycles"),
            "detail": str(detail)[:120],
        })
    return out


class Dashboard:
    def __init__(
        self, service: Service, agent_home: str | os.PathLike | None = None, radio: Any = None
    ) -> None:
        from zynpu.agent.store import default_home

        self.service = service
        self.home = Path(agent_home) if agent_home else default_home()
        self.radio = radio
        self._store: Any = None

    def agent_sessions(self) -> list[dict[str, Any]]:
        db = self.home / "agent.db"
        if not db.exists():
            return []
        if self._store is None:
            from zynpu.agent.store import Store

            self._store = Store(db)
        rows = self._store.sessions(SESSIONS)
        by_session: dict[str, list[dict[str, Any]]] = {}
        for s in tail_spans(self.home / "traces.jsonl"):
            sid = s.get("attributes", {}).get("gen_ai.conversation.id")
            if sid is not None:
                by_session.setdefault(sid, []).append(s)
        return [{"id": r.id, "origin": r.origin, "updated": r.updated, "status": r.status,
                 "end_reason": r.end_reason, "answer": r.answer,
                 "timeline": timeline(by_session.get(r.id, []))} for r in rows]

    def radio_stats(self) -> dict[str, Any] | None:
        r = self.radio
        if r is None:
            return None
        return asdict(r.link.stats) | {"up": bool(r.up), "boots": r.boots,
                                       "handshake_timeouts": r.handshake_timeouts}

    def snapshot(self) -> dict[str, Any]:
        s = self.service
        return s.metrics.snapshot() | {
            "model": s.model_id,
            "device": s.device,
            "context": s.ctx,
            "queue": {"waiting": s.worker.waiting, "busy": s.worker.busy, "bound": s.worker.max_queue},
            "agent": {"home": str(self.home), "sessions": self.agent_sessions()},
            "radio": self.radio_stats(),
        }
