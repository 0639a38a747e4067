"""Spans as JSON lines, shaped after the OpenTelemetry GenAI semantic conventions.

Each agent session is one trace: an `invoke_agent` span with `chat` children (one per model step:
`gen_ai.usage.input_tokens`/`output_tokens`, `zynpu.npu.cycles`) and `execute_tool` children
(`gen_ai.tool.name`, `gen_ai.tool.call.id`). Times are Unix nanoseconds, ids are W3C-sized hex.
"""

from __future__ import annotations

import collections
import json
import os
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYSTEM = "zynpu"


@dataclass
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_time_unix_nano: int
    end_time_unix_nano: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "OK"  # OK | ERROR

    def set(self, **attrs: Any) -> None:
        self.attributes.update({k.replace("__", "."): v for k, v in attrs.items()})

    def to_json(self) -> str:
        return json.dumps(vars(self), separators=(",", ":"))


class Tracer:
    """Writes finished spans to a JSONL file (append-only; one line per span)."""

    def __init__(
        self, path: str | os.PathLike | None, keep: int = 1000, max_bytes: int = 8 * 2**20
    ) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()
        # the newest `keep` spans of this process (a long `serve` must not grow without bound)
        self.spans: collections.deque[Span] = collections.deque(maxlen=keep)
        self.emitted = 0
        self.max_bytes = max_bytes  # past this the file rotates to <name>.1 (one old file kept)
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def span(self, name: str, trace_id: str, parent: Span | None = None, **attrs: Any):  # type: ignore[no-untyped-def]
        s = Span(name, trace_id, secrets.token_hex(8), parent.span_id if parent else None, time.time_ns())
        s.set(**attrs)
        try:
            yield s
        except BaseException as e:
            s.status = "ERROR"
            s.attributes["error.type"] = type(e).__name__
            raise
        finally:
            s.end_time_unix_nano = time.time_ns()
            self._emit(s)

    def _emit(self, s: Span) -> None:
        with self.lock:
            self.spans.append(s)
            self.emitted += 1
            if self.path:
                if self.path.exists() and self.path.stat().st_size > self.max_bytes:
                    self.path.replace(self.path.with_name(self.path.name + ".1"))
                with self.path.open("a") as f:
                    f.write(s.to_json() + "\n")


def read_spans(path: str | os.PathLike, session: str | None = None) -> list[dict[str, Any]]:
    """Spans from a JSONL file, optionally only those of one session (conversation id), by start time."""
    out = []
    p = Path(path)
    if not p.exists():
        return out
    for line in p.read_text().splitlines():
        if not line.strip():
            continue
        s = json.loads(line)
        if session is None or s["attributes"].get("gen_ai.conversation.id") == session:
            out.append(s)
    return sorted(out, key=lambda s: (s["start_time_unix_nano"], s["parent_span_id"] is not None))


def timeline(spans: list[dict[str, Any]]) -> str:
    """A readable timeline: offset, duration, operation, and the interesting attributes."""
    if not spans:
        return "(no spans)"
    t0 = min(s["start_time_unix_nano"] for s in spans)
    lines = []
    for s in spans:
        a = s["attributes"]
        start = (s["start_time_unix_nano"] - t0) / 1e6
        dur = (s["end_time_unix_nano"] - s["start_time_unix_nano"]) / 1e6
        indent = "  " if s["parent_span_id"] else ""
        op = a.get("gen_ai.operation.name", s["name"])
        bits = []
        if op == "chat":
            bits.append(f"in={a.get('gen_ai.usage.input_tokens')} out={a.get('gen_ai.usage.output_tokens')}")
            bits.append(f"npu_cycles={a.get('zynpu.npu.cycles')}")
            if "zynpu.output" in a:
                bits.append(a["zynpu.output"])
        elif op == "execute_tool":
            bits.append(
                f"{a.get('gen_ai.tool.name')}({a.get('zynpu.tool.args', '')})"
                f" -> {a.get('zynpu.tool.result', '')}"
            )
        elif op == "invoke_agent":
            bits.append(f"session={a.get('gen_ai.conversation.id')} end={a.get('zynpu.session.end_reason')}")
        status = "" if s["status"] == "OK" else f" [{s['status']}]"
        lines.append(f"{start:9.1f} ms {dur:9.1f} ms  {indent}{op:<13} {' '.join(map(str, bits))}{status}")
    return "\n".join(lines)
