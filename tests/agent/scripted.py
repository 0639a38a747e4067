"""A model that writes given outputs in order: the runtime's behaviour without a trained model's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from zynpu.agent.llm import Output


@dataclass
class _Constraint:
    def min_tokens(self) -> int:
        return 1


@dataclass
class _Session:
    outputs: list[str]
    pending: list[int] = field(default_factory=list)
    room: int = 10_000

    def feed(self, ids: list[int]) -> None:
        pass

    def write(self, constraint: Any, limit: int) -> Output:
        text = self.outputs.pop(0)
        return Output(text, [0] * len(text), 1, 1, 0)


class ScriptedModel:
    """Writes the given outputs in order: the worst case of a model the attacker fully controls."""

    name, temperature, fmt = "scripted", 0.0, None

    def __init__(self, *outputs: dict[str, Any]) -> None:
        self.outputs = [json.dumps(o, separators=(",", ":")) for o in outputs]

    def constraint(self, registry: Any) -> _Constraint:
        return _Constraint()

    def session(self) -> _Session:
        return _Session(self.outputs)


class _Fmt:
    def start(self, *a: Any) -> list[int]:
        return [0]

    def result(self, *a: Any) -> list[int]:
        return [0]


ScriptedModel.fmt = _Fmt()  # type: ignore[assignment]


def call(tool: str, **args: Any) -> dict[str, Any]:
    return {"tool": tool, "args": args}
