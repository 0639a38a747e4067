"""OpenAI `tools` (function JSON schemas) as the agent's ToolRegistry, so a requested tool call is written
through the agent's own grammar constraint and always parses and validates against those schemas.

The grammar covers flat objects of string (maxLength, enum), integer (minimum/maximum), number and
boolean properties; anything else (nested objects, arrays, patterns) is refused with a 400 rather than
produced without a guarantee.
"""

from __future__ import annotations

import re
from typing import Any

from zynpu.agent.grammar import STRING_CHARS
from zynpu.agent.tools import DEFAULT_MAX_LEN, INT_LIMIT, Param, Tool, ToolRegistry
from zynpu.serve.errors import bad_request

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_STRING = 256  # the longest string argument the grammar will spell out
SUPPORTED_KEYS = {"type", "description", "enum", "maxLength", "minLength", "minimum", "maximum", "title",
                  "default"}


def _plain(text: str) -> bool:
    return all(c in STRING_CHARS for c in text)


def _param(tool: str, key: str, s: Any, required: bool) -> Param:
    where = f"tools[{tool}].parameters.properties.{key}"
    if not isinstance(s, dict):
        raise bad_request("a property schema must be an object", where)
    extra = set(s) - SUPPORTED_KEYS
    if extra:
        raise bad_request(f"unsupported schema keywords {sorted(extra)} (flat string/integer/number/boolean "
                          "properties with enum, maxLength, minimum, maximum are supported)", where)
    kind = s.get("type", "string" if "enum" in s else None)
    desc = str(s.get("description", ""))
    if "enum" in s:
        values = s["enum"]
        if kind != "string" or not isinstance(values, list) or not values or not all(
            isinstance(v, str) and v and _plain(v) for v in values
        ):
            raise bad_request("enums must be non-empty lists of plain ASCII strings", where)
        return Param(key, "string", required, enum=tuple(values), max_len=max(map(len, values)),
                     description=desc)
    if kind == "string":
        n = s.get("maxLength", DEFAULT_MAX_LEN)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_STRING:
            raise bad_request(f"maxLength must be 1..{MAX_STRING}", where)
        return Param(key, "string", required, max_len=n, description=desc)
    if kind == "integer":
        lo, hi = s.get("minimum", -INT_LIMIT), s.get("maximum", INT_LIMIT)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)) or lo > hi:
            raise bad_request("integer minimum/maximum must be integers with minimum <= maximum", where)
        lo, hi = max(lo, -INT_LIMIT), min(hi, INT_LIMIT)
        return Param(key, "integer", required, lo=lo, hi=hi, description=desc)
    if kind in ("number", "boolean"):
        return Param(key, kind, required, description=desc)
    raise bad_request(f"unsupported property type {kind!r} (string, integer, number, boolean)", where)


def _refuse(**_: Any) -> Any:
    raise RuntimeError("the client runs its tools; the server only writes the call")


def registry_from_openai(tools: list[Any]) -> ToolRegistry:
    """One Tool per function; parameters keep their schema order (the grammar writes keys in order)."""
    reg = ToolRegistry()
    for i, t in enumerate(tools):
        fn = t.get("function") if isinstance(t, dict) and t.get("type", "function") == "function" else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not NAME.match(fn["name"]):
            raise bad_request("each tool needs type 'function' and a name of 1-64 letters, digits, _ or -",
                              f"tools[{i}]")
        name = fn["name"]
        if name in reg:
            raise bad_request(f"tool {name!r} is given twice", f"tools[{i}]")
        schema = fn.get("parameters") or {"type": "object", "properties": {}}
        props = schema.get("properties", {}) if isinstance(schema, dict) else None
        if not isinstance(props, dict) or schema.get("type", "object") != "object":
            raise bad_request("parameters must be an object schema with properties", f"tools[{i}].parameters")
        required = schema.get("required", [])
        if not isinstance(required, list) or set(required) - set(props):
            raise bad_request("'required' must list declared properties", f"tools[{i}].parameters.required")
        for key in props:
            if not key or not _plain(key):
                raise bad_request(f"property name {key!r} must be plain ASCII", f"tools[{i}].parameters")
        params = tuple(_param(name, k, s, k in required) for k, s in props.items())
        reg.tools[name] = Tool(name, _refuse, str(fn.get("description", "")), params)
    return reg


def chosen(reg: ToolRegistry, choice: str | dict[str, Any]) -> tuple[ToolRegistry, bool]:
    """The tools the model may call under `tool_choice`, and whether it may answer in text instead."""
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        if name not in reg:
            raise bad_request(f"tool_choice names {name!r}, which is not in 'tools'", "tool_choice")
        return reg.subset([name]), False
    return reg, choice != "required"
