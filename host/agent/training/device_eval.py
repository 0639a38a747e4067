"""Score a model with the exact int8 engine on a CUDA GPU (same outputs as the host int8 engine and
the NPU, faster): `python -m zynpu.agent.training.device_eval MODEL --out F`.

`--suite honest` is the honest eval (the one number reported); `--suite val` is the training side's
own validation split (training/valsplit.py), scored by the same judge, to choose recipes on.
`--workers N` runs the tasks in N processes, each with its own copy of the model on the GPU: the
per-token work is Python-bound, so processes, not a bigger GPU, make it faster. Outcomes do not
depend on N (every task runs on a fresh agent and store).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from zynpu.agent.evaluate import EVAL_SEED, TaskOutcome, eval_tasks, run_task, summarize
from zynpu.agent.tasks import Task, task_set

DEVICE = "cuda int8 (bit-exact with numpy)"


def suite_tasks(suite: str, n: int, seed: int) -> list[Task]:
    return task_set("val", n, seed) if suite == "val" else eval_tasks(suite, n, seed)


def _load(model: str, adapter: str | None, engine: str) -> Any:
    from zynpu.agent.llm import load_llm

    if engine == "cuda":
        from zynpu.agent.training.cuda_engine import CudaEngine

        return load_llm(model, engine=CudaEngine(), adapter=Path(adapter) if adapter else None)
    return load_llm(model, engine=engine, adapter=Path(adapter) if adapter else None)


Job = tuple[str, str | None, str, str, int, int, int, int, float]


def _shard(job: Job) -> tuple[float, list[dict[str, Any]]]:
    """One worker: load the model, run every `workers`-th task from `first`."""
    model, adapter, engine, suite, n, seed, first, workers, deadline = job
    t0 = time.time()
    llm = _load(model, adapter, engine)
    load_s = time.time() - t0
    out = []
    for task in suite_tasks(suite, n, seed)[first::workers]:
        if deadline and time.time() > deadline:  # the report then names the tasks that ran
            break
        o = run_task(llm, task)
        print(
            f"{o.id:>9} {o.intent:<9} {'ok ' if o.success else 'BAD'} {o.steps} steps "
            f"{o.output_tokens} tok {o.seconds:.1f} s {o.first_error or ''}",
            file=sys.stderr,
            flush=True,
        )
        out.append(asdict(o))
    return load_s, out


def run(
    model: str,
    adapter: str | None,
    suite: str,
    n: int,
    seed: int,
    workers: int,
    engine: str = "cuda",
    max_seconds: float = 0.0,
) -> dict[str, Any]:
    t0 = time.time()
    deadline = t0 + max_seconds if max_seconds else 0.0
    jobs: list[Job] = [(model, adapter, engine, suite, n, seed, i, workers, deadline) for i in range(workers)]
    if workers == 1:
        parts = [_shard(jobs[0])]
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_shard, jobs)
    by_id = {d["id"]: TaskOutcome(**d) for _, part in parts for d in part}
    tasks = [t for t in suite_tasks(suite, n, seed) if t.id in by_id]
    name = model_name(model, adapter)
    device = DEVICE if engine == "cuda" else f"{engine} (host)"
    report = summarize(tasks, [by_id[t.id] for t in tasks], suite, name, device, seed)
    report["load_seconds"] = round(max(s for s, _ in parts), 1)
    report["workers"] = workers
    report["tasks_planned"] = n
    report["wall_seconds"] = round(time.time() - t0, 1)
    report["adapter"] = adapter
    return report


def model_name(model: str, adapter: str | None) -> str:
    from zynpu.agent.llm import GEMMA, GEMMA_TUNED

    return GEMMA_TUNED if model == GEMMA_TUNED or (model == GEMMA and adapter) else model


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="gemma3-270m, gemma3-270m+lora or a model folder")
    p.add_argument("--adapter", default=None, help="adapter folder (default: the shipped one)")
    p.add_argument("--suite", default="honest", choices=["honest", "legacy", "val"])
    p.add_argument("--tasks", type=int, default=120)
    p.add_argument("--seed", type=int, default=None, help=f"task seed (default: {EVAL_SEED}; val: 0)")
    p.add_argument("--workers", type=int, default=1, help="processes, each with its own copy of the model")
    p.add_argument("--engine", default="cuda", help="cuda (exact int8 on the GPU) or a host engine (numpy)")
    p.add_argument("--max-seconds", type=float, default=0.0, help="start no task after this long (0: none)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else (0 if args.suite == "val" else EVAL_SEED)
    report = run(
        args.model, args.adapter, args.suite, args.tasks, seed, args.workers, args.engine, args.max_seconds
    )
    report["command"] = "python -m zynpu.agent.training.device_eval " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "per_task"}), flush=True)


if __name__ == "__main__":
    main()
