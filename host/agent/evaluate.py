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
from zynpu.agent.policy import Policy
from zynpu.agent.runtime import Agent, Budgets
from zynpu.agent.store import Store
from zynpu.agent.tasks import Task, expected_action, task_set
from zynpu.agent.trace import Tracer

EVAL_SEED = 1
SUITES = ("honest", "legacy")  # honest: evaldata/honest.json; legacy: the old in-distribution set


@dataclass
class TaskOutcome:
    id: str
    intent: str
    categories: list[str]
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
    # The model alone is measured here: every origin may call every tool (policy has its own tests).
    agent = Agent(
        llm,
        Store(":memory:"),
        tracer or Tracer(None),
        backends,
        budgets or Budgets(),
        policy=Policy.trusting(),
    )
    t0 = time.perf_counter()
    r = agent.handle(task.event, origin)
    error = judge(task, [s.output for s in r.steps], [s.result for s in r.steps])
    return TaskOutcome(
        task.id,
        task.intent,
        categories(task),
        error is None,
        len(r.steps),
        r.input_tokens,
        r.output_tokens,
        r.cycles,
        time.perf_counter() - t0,
        r.end_reason,
        error,
    )


def categories(task: Task) -> list[str]:
    return list(task.tags) or [task.intent]


def run_baseline(task: Task, max_steps: int = 6) -> bool:
    """The keyword baseline on one task: same tools, same world, same judge as the model."""
    from zynpu.agent.baseline import baseline_action
    from zynpu.agent.runtime import run_tool

    registry, _ = world_registry(task.world)
    outputs: list[str] = []
    results: list[Any] = []
    for _ in range(max_steps):
        out = baseline_action(task.event, results)
        outputs.append(out)
        parsed = json.loads(out)
        if "answer" in parsed:
            break
        results.append(run_tool(registry, parsed["tool"], parsed["args"]))
    return judge(task, outputs, results) is None


def _by_category(tasks: list[Task], success: list[bool]) -> dict[str, float]:
    groups: dict[str, list[bool]] = {}
    for t, ok in zip(tasks, success, strict=True):
        for c in categories(t):
            groups.setdefault(c, []).append(ok)
    return {c: round(sum(v) / len(v), 4) for c, v in sorted(groups.items())}


def eval_tasks(suite: str, n: int, seed: int) -> list[Task]:
    if suite == "honest":
        from zynpu.agent.honest import honest_set

        return honest_set(n, seed)
    if suite == "legacy":
        return task_set("eval", n, seed)
    raise ValueError(f"unknown eval suite {suite!r} (choose from {', '.join(SUITES)})")


def baseline_report(tasks: list[Task]) -> dict[str, Any]:
    ok = [run_baseline(t) for t in tasks]
    return {
        "name": "keyword/regex baseline (zynpu.agent.baseline)",
        "task_success": sum(ok) / max(1, len(ok)),
        "by_category": _by_category(tasks, ok),
    }


def evaluate(
    llm: Llm,
    n: int = 120,
    seed: int = EVAL_SEED,
    progress: bool = False,
    tracer: Tracer | None = None,
    suite: str = "honest",
    device: str | None = None,
) -> dict[str, Any]:
    """The model and the keyword baseline on the same tasks, per category."""
    tasks = eval_tasks(suite, n, seed)
    outcomes = []
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
    return summarize(tasks, outcomes, suite, llm.name, device, seed)


def summarize(
    tasks: list[Task],
    outcomes: list[TaskOutcome],
    suite: str,
    model: str,
    device: str | None,
    seed: int,
) -> dict[str, Any]:
    """The report of `evaluate` from the tasks and their outcomes (however they were run)."""
    k = max(1, len(outcomes))
    secs = sum(o.seconds for o in outcomes)
    out_tok = sum(o.output_tokens for o in outcomes)
    by_intent: dict[str, list[bool]] = {}
    for o in outcomes:
        by_intent.setdefault(o.intent, []).append(o.success)
    base = baseline_report(tasks)
    success = sum(o.success for o in outcomes) / k
    return {
        "suite": suite,
        "model": model,
        "device": device,
        "tasks": len(outcomes),
        "seed": seed,
        "task_success": success,
        "by_category": _by_category(tasks, [o.success for o in outcomes]),
        "baseline": base,
        "gap_over_baseline": round(success - base["task_success"], 4),
        "success_by_intent": {i: sum(v) / len(v) for i, v in sorted(by_intent.items())},
        "steps_per_task": sum(o.steps for o in outcomes) / k,
        "input_tokens_per_task": sum(o.input_tokens for o in outcomes) / k,
        "output_tokens_per_task": out_tok / k,
        "npu_cycles_per_task": sum(o.npu_cycles for o in outcomes) / k,
        "seconds_per_task": secs / k,
        "output_tokens_per_second": out_tok / secs if secs else 0.0,
        "per_task": [asdict(o) for o in outcomes],
    }
