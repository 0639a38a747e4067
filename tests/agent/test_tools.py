"""Tool schemas come from signatures and docstrings; validation is the policy's second line."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from zynpu.agent.hwtools import Backends, build_registry
from zynpu.agent.tools import MaxLen, Range, ToolError, ToolRegistry, tool_from_function


def set_fan(
    mode: Literal["off", "low", "high"],
    rpm: Annotated[int, Range(0, 5000)],
    label: Annotated[str, MaxLen(8)] = "fan",
    boost: bool = False,
    gain: float = 1.0,
) -> dict:
    """Set the fan.

    Args:
        mode: fan mode
        rpm: target speed
    """
    return {"mode": mode}


def test_schema_from_signature_and_docstring() -> None:
    t = tool_from_function(set_fan)
    s = t.schema()
    assert s["name"] == "set_fan" and s["description"] == "Set the fan."
    props = s["parameters"]["properties"]
    assert props["mode"] == {"type": "string", "enum": ["off", "low", "high"], "description": "fan mode"}
    assert props["rpm"] == {"type": "integer", "minimum": 0, "maximum": 5000, "description": "target speed"}
    assert props["label"] == {"type": "string", "maxLength": 8}
    assert props["boost"] == {"type": "boolean"} and props["gain"] == {"type": "number"}
    assert s["parameters"]["required"] == ["mode", "rpm"]
    assert s["parameters"]["additionalProperties"] is False


def test_validation_fills_defaults_and_names_problems() -> None:
    t = tool_from_function(set_fan)
    assert t.validate({"mode": "low", "rpm": 10}) == {
        "mode": "low",
        "rpm": 10,
        "label": "fan",
        "boost": False,
        "gain": 1.0,
    }
    for bad, why in [
        ({"rpm": 1}, "missing"),
        ({"mode": "max", "rpm": 1}, "mode"),
        ({"mode": "low", "rpm": 9999}, "rpm"),
        ({"mode": "low", "rpm": True}, "rpm"),
        ({"mode": "low", "rpm": 1, "label": "x" * 9}, "label"),
        ({"mode": "low", "rpm": 1, "cmd": "rm"}, "unknown"),
    ]:
        with pytest.raises(ToolError, match=why):
            t.validate(bad)


def test_untyped_or_unsupported_parameters_are_refused() -> None:
    def untyped(x):  # type: ignore[no-untyped-def]
        return x

    def listy(x: list) -> None:  # type: ignore[type-arg]
        return None

    with pytest.raises(TypeError, match="type hint"):
        tool_from_function(untyped)
    with pytest.raises(TypeError, match="unsupported type"):
        tool_from_function(listy)
    reg = ToolRegistry()
    reg.register(set_fan)
    with pytest.raises(ValueError, match="already registered"):
        reg.register(set_fan)


def test_hardware_tools_have_no_shell_and_bounded_arguments() -> None:
    reg = build_registry(Backends())
    assert sorted(t.name for t in reg) == [
        "ble_notify",
        "memory_get",
        "memory_set",
        "npu_status",
        "read_sensor",
        "reply",
        "time_now",
        "udp_send",
    ]
    for t in reg:
        for p in t.params:
            assert p.type != "string" or p.max_len <= 48
    assert reg["udp_send"].schema()["parameters"]["properties"]["port"]["minimum"] == 1024
