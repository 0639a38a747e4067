"""A chat-completions request body, checked field by field before it may take a place in the queue.

Every problem becomes a 400 naming the field (`param`), so a bad request never reaches the NPU.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from zynpu.serve.errors import ApiError, bad_request

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_STOP = 4


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass
class ChatRequest:
    model: str
    messages: list[Message]
    max_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"


def _number(body: dict[str, Any], name: str, default: float, lo: float, hi: float) -> float:
    v = body.get(name)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise bad_request(f"'{name}' must be a number from {lo} to {hi}, got {v!r}", name)
    return float(v)


def _content(m: dict[str, Any], i: int) -> str:
    """Text content: a string, or a list of {"type":"text","text":...} parts (images are refused)."""
    c = m.get("content")
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        parts = []
        for p in c:
            if not isinstance(p, dict) or p.get("type") != "text" or not isinstance(p.get("text"), str):
                raise bad_request("only text content parts are supported", f"messages[{i}].content")
            parts.append(p["text"])
        return "".join(parts)
    raise bad_request("content must be a string or a list of text parts", f"messages[{i}].content")


def _tool_calls(m: dict[str, Any], i: int) -> tuple[ToolCall, ...]:
    calls = m.get("tool_calls") or []
    if not isinstance(calls, list):
        raise bad_request("tool_calls must be a list", f"messages[{i}].tool_calls")
    if len(calls) > 1:  # both models' formats hold one call per turn, and this server writes one
        raise bad_request("one tool call per assistant message is supported", f"messages[{i}].tool_calls")
    out = []
    for j, c in enumerate(calls):
        param = f"messages[{i}].tool_calls[{j}]"
        fn = c.get("function") if isinstance(c, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise bad_request("a tool call needs function.name", param)
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except (TypeError, json.JSONDecodeError):
            raise bad_request("function.arguments must be a JSON object string", param) from None
        if not isinstance(args, dict):
            raise bad_request("function.arguments must be a JSON object string", param)
        out.append(ToolCall(str(c.get("id", "")), fn["name"], args))
    return tuple(out)


def parse_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("'messages' must be a non-empty list", "messages")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise bad_request(f"each message needs a role from {ROLES}", f"messages[{i}].role")
        role = "system" if m["role"] == "developer" else m["role"]
        out.append(Message(role, _content(m, i), _tool_calls(m, i) if role == "assistant" else ()))
    if out[-1].role not in ("user", "tool"):
        raise bad_request("the last message must be a user or tool message", f"messages[{len(out) - 1}]")
    return out


def parse(body: Any) -> ChatRequest:
    """The checked request; raises ApiError(400) for anything the server cannot honour exactly."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise bad_request("'model' is required", "model")
    if body.get("n", 1) != 1:
        raise bad_request("only n=1 is supported (one NPU writes one completion at a time)", "n")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or max_tokens < 1):
        raise bad_request(f"'max_tokens' must be a positive integer, got {max_tokens!r}", "max_tokens")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise bad_request("'seed' must be a non-negative integer", "seed")
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    if len(stops) > MAX_STOP or not all(isinstance(s, str) and s for s in stops):
        raise bad_request(f"'stop' must be a string or up to {MAX_STOP} non-empty strings", "stop")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be a boolean", "stream")
    opts = body.get("stream_options") or {}
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise bad_request("'tools' must be a list", "tools")
    choice = body.get("tool_choice", "auto" if tools else "none")
    if not (choice in ("auto", "none", "required") or (
        isinstance(choice, dict) and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str))):
        raise bad_request("'tool_choice' must be auto, none, required or a named function", "tool_choice")
    if choice != "none" and not tools and choice != "auto":
        raise bad_request("'tool_choice' needs 'tools'", "tool_choice")
    return ChatRequest(
        model=body["model"],
        messages=parse_messages(body.get("messages")),
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
        top_p=_number(body, "top_p", 1.0, 0.0, 1.0),
        seed=seed,
        stop=stops,
        stream=stream,
        include_usage=bool(isinstance(opts, dict) and opts.get("include_usage")),
        tools=tools,
        tool_choice=choice,
    )


__all__ = ["ApiError", "ChatRequest", "Message", "ToolCall", "parse"]
