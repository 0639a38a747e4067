"""zynpu.agent: a tiny tool-calling agent loop whose model runs on the NPU.

Pieces, one job each: `tools` (typed functions -> JSON schemas), `grammar` (a character automaton
that accepts only valid calls), `constrain` (the automaton lifted to the tokenizer's vocabulary),
`prompt` (how sessions become tokens, with radio text quoted as data), `runtime` (the step loop with
budgets), `store` (sessions in sqlite), `trace` (OpenTelemetry-GenAI-shaped JSONL spans),
`hwtools` (radio, sensors, NPU, memory, time), `serve` (events wake sessions), `tasks`/`evaluate`
(generated task sets and the eval), `train` (PyTorch training of the shipped model; training only).
"""

from __future__ import annotations

from zynpu.agent.tools import Tool, ToolError, ToolRegistry

__all__ = ["Tool", "ToolError", "ToolRegistry"]
