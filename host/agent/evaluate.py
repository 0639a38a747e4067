"""`zynpu agent eval`: the shipped model on the held-out task set, through the real runtime.

A task succeeds when every model output equals the oracle's (right tool, right arguments, right final
answer) given the tool results actually observed. Tools run against each task's simulated world
(sensors, counters, clock and memory), so results are reproducible; the model runs on the chosen
engine (sim/ref/board NPU or the host int8 engine), and NPU cycles come from the tile's counters.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from tqdm import tqdm

from zynpu.agent.hwtools import world_registry
from zynpu.agent.llm import Llm
from zynpu.agent.runtime import Agent, Budgets
from zynpu.agent.store import Store
from zynpu.agent.tasks import Task, expected_action, task_set
from zynpu.agent.trace import Tracer

EVAL_SEED = 1


@dataclass
class TaskOutcome:
    id: str
    intent: str
    success: bool
    steps: int
    input_tokens: int
    output_tokens: int
    npu_cycles: int
    seconds: float
    end_reason: str
    first_error: str | None


def judge(task: Task, outputs: list[str], results: list[Any]) -> str | None:
    """None if the trajectory is the oracle's, else what went wrong first."""
    for i, out in enumerate(outputs):
        want = expected_action(task, results[:i])
        if json.loads(out) != json.loads(want):
            return f"step {i}: wrote {out} expected {want}"
        if "answer" in json.loads(out):
            return None if i == len(outputs) - 1 else f"step {i}: answered but the session went on"
    return "never answered"


def run_task(
    llm: Llm, task: Task, tracer: Tracer | None = None, budgets: Budgets | None = None
) -> TaskOutcome:
    origin: tuple[str, Any] = (
        ("udp", ("127.0.0.1", 9)) if task.event["src"] == "udp" else (task.event["src"], None)
    )
    _, backends = world_registry(task.world, origin)
    agent = Agent(llm, Store(":memory:"), tracer or Tracer(None), backends, budgets or Budgets())
    t0 = time.perf_counter()
    r = agent.handle(task.event, origin)
    error = judge(task, [s.output for s in r.steps], [s.result for s in r.steps])
    return TaskOutcome(
        task.id,
        task.intent,
        error is None,
        len(r.steps),
        r.input_tokens,
        r.output_tokens,
        r.cycles,
        time.perf_counter() - t0,
        r.end_reason,
        error,
    )


def evaluate(
    llm: Llm, n: int = 50, seed: int = EVAL_SEED, progress: bool = False, tracer: Tracer | None = None
) -> dict[str, Any]:
    outcomes = []
    tasks = task_set("eval", n, seed)
    bar = tqdm(tasks, desc="agent eval", unit="task", disable=not progress, file=sys.stderr)
    for task in bar:  # elapsed time and an estimate of what is left, on stderr
        o = run_task(llm, task, tracer)
        outcomes.append(o)
        if progress:
            bar.write(
                f"{o.id:>9} {o.intent:<9} {'ok ' if o.success else 'BAD'} {o.steps} steps "
                f"{o.output_tokens} tok {o.seconds:.1f} s {o.first_error or ''}",
                file=sys.stderr,
            )
    k = max(1, len(outcomes))
    secs = sum(o.seconds for o in outcomes)
    out_tok = sum(o.output_tokens for o in outcomes)
    by_intent: dict[str, list[bool]] = {}
    for o in outcomes:
        by_intent.setdefault(o.intent, []).append(o.success)
    return {
        "model": llm.name,
        "tasks": len(outcomes),
        "seed": seed,
        "task_success": sum(o.success for o in outcomes) / k,
        "success_by_intent": {i: sum(v) / len(v) for i, v in sorted(by_intent.items())},
        "steps_per_task": sum(o.steps for o in outcomes) / k,
        "input_tokens_per_task": sum(o.input_tokens for o in outcomes) / k,
        "output_tokens_per_task": out_tok / k,
        "npu_cycles_per_task": sum(o.npu_cycles for o in outcomes) / k,
        "seconds_per_task": secs / k,
        "output_tokens_per_second": out_tok / secs if secs else 0.0,
        "per_task": [asdict(o) for o in outcomes],
    }
