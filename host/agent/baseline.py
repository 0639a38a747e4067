"""A keyword/regex agent with no model: the trivial baseline printed beside every eval score.

If it scores close to the model, the eval measures pattern matching, not understanding. It runs the
same tools on the same worlds and is judged by the same oracle as the model.
"""

from __future__ import annotations

import re
from typing import Any

from zynpu.agent.tasks import UNKNOWN, answer, call, compact

_REMEMBER = re.compile(r"(?:remember|store|save|set|note|keep)\s+(?:that\s+)?(\S+)\s+(?:is|=|as|to)\s+(.+)$")
_RECALL = re.compile(r"(?:what is|what was|recall|get|tell me|fetch|look up)\s+(\S+?)\??$")
_SEND = re.compile(r"(?:send|udp|forward|transmit)\s+'?(.+?)'?\s+to\s+(?:port\s+)?(\d+)$")


def _lookup_text(intent: str, r: dict[str, Any], key: str = "") -> str:
    if intent in ("temp", "power"):
        return f"{intent} {compact(r['value'])} {r['unit']}"
    if intent == "npu":
        return f"npu {r['jobs']} jobs {r['cycles']} cycles"
    if intent == "time":
        return f"time {r['time']}"
    return f"{key} is {r['value']}" if r.get("value") is not None else f"{key} unknown"


def classify(text: str) -> tuple[str, dict[str, Any]]:
    """(intent, slots) from keywords alone."""
    t = text.strip().lower()
    if m := _SEND.search(t):
        return "send", {"t": m.group(1), "p": int(m.group(2))}
    if m := _REMEMBER.search(t):
        return "remember", {"k": m.group(1), "v": m.group(2)}
    if re.search(r"\b(temp|temperature|hot)\b", t):
        return "temp", {}
    if re.search(r"\b(power|watts?)\b", t):
        return "power", {}
    if re.search(r"\b(npu|accelerator)\b", t):
        return "npu", {}
    if re.search(r"\b(time|clock)\b", t):
        return "time", {}
    if m := _RECALL.search(t):
        return "recall", {"k": m.group(1)}
    return "unknown", {}


def baseline_action(event: dict[str, Any], results: list[Any]) -> str:
    """The keyword agent's next output given the tool results so far."""
    i = len(results)
    if event["src"] == "sensor":
        text = f"alert {event['name']} {compact(event['value'])} {'C' if event['name'] == 'temp' else 'W'}"
        return [call("ble_notify", text=text), answer(text)][min(i, 1)]
    if event["src"] == "timer":
        if i == 0:
            return call("read_sensor", name="temp")
        v = compact(results[0]["value"])
        return [call("memory_set", key="last_temp", value=v), answer(f"logged {v}")][min(i - 1, 1)]
    intent, s = classify(str(event.get("text", "")))
    if intent == "remember":
        return (
            call("memory_set", key=s["k"][:16], value=s["v"][:32]) if i == 0 else answer(f"stored {s['k']}")
        )
    if intent == "send":
        if i == 0 and 1024 <= s["p"] <= 65535:
            return call("udp_send", port=s["p"], text=s["t"][:48])
        return answer(f"sent to {s['p']}")
    if intent == "unknown":
        return call("reply", text=UNKNOWN) if i == 0 else answer(UNKNOWN)
    if i == 0:
        if intent in ("temp", "power"):
            return call("read_sensor", name=intent)
        if intent == "recall":
            return call("memory_get", key=s["k"][:16])
        return call({"npu": "npu_status", "time": "time_now"}[intent])
    text = _lookup_text(intent, results[0], s.get("k", ""))[:48]
    return call("reply", text=text) if i == 1 else answer(text)
