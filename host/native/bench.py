"""`zynpu bench decode --host native`: the decode step in C on native `ref` ports, measured.

Host time is wall time minus device time, as the Python bench defines it: each port times its own
compute (clock_gettime around the tile arithmetic), the rest of a step is host work. host_job_us is the
time in port calls outside the ports' compute per port job (splitting N, calling through the port
interface); host_token_us everything else in the step (norms, quantization, dequantization, RoPE,
attention, GLU, residuals, the embedding row, the LM head's arg-max). The board prediction scales both
by `roofline.A53_COMPILED_SLOWDOWN` (compiled code, not CPython) and adds the bytes the A53 must stream
from DRAM (the tiles' int32 results and the KV cache) at `roofline.A53_STREAM_BYTES_PER_S`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ..errors import UserError
from ..roofline import (
    A53_COMPILED_SLOWDOWN,
    A53_COMPILED_SLOWDOWN_SOURCE,
    A53_STREAM_BYTES_PER_S,
    A53_STREAM_SOURCE,
    board_fields,
    board_spec,
    decode_jobs,
    predict,
)
from .decoder import NativeDecoder
from .engine import COMPUTE, RECORD, REPLAY, NativeEngine

PROMPT = "The tile streams one weight beat per cycle"


def host_stream_bytes(cfg: Any, context: int) -> int:
    """Bytes per token the host reads that no cache holds on the board: every job's int32 results
    (DMA-written) and the float32 K and V of every layer up to `context`."""
    results = sum(4 * job.n for job in decode_jobs(cfg))
    return results + 2 * cfg.n_layers * context * cfg.n_kv_heads * cfg.head_dim * 4


def _timed_tokens(
    decoder: NativeDecoder, engine: NativeEngine, cache: Any, generated: list[int], tokens: int
) -> dict[str, Any]:
    """`tokens` decode steps, each computed (recording its results) then replayed at the same position."""
    names = "wall_s device_s matmul_s jobs replay_wall_s replay_cpu_s replay_device_s replay_matmul_s"
    total: dict[str, Any] = dict.fromkeys(names.split(), 0.0)
    stages = dict.fromkeys(decoder.stages(), 0.0)
    for _ in range(tokens):
        token = generated[-1]
        engine.mode(RECORD)
        before, start = engine.stats(), time.perf_counter()
        computed = decoder.step(token, cache)
        wall, after = time.perf_counter() - start, engine.stats()
        cache.length -= 1  # back to the token's position: the replay appends the same K and V there
        engine.mode(REPLAY)
        stage0, start, cpu0 = decoder.stages(), time.perf_counter(), time.thread_time()
        replayed = decoder.step(token, cache)
        replay_cpu, replay_wall = time.thread_time() - cpu0, time.perf_counter() - start
        replay, stage1 = engine.stats(), decoder.stages()
        engine.mode(COMPUTE)
        if replayed != computed:
            raise RuntimeError(f"the replayed token {replayed} differs from the computed {computed}")
        generated.append(computed)
        total["wall_s"] += wall
        total["device_s"] += after["device_s"] - before["device_s"]
        total["matmul_s"] += after["matmul_s"] - before["matmul_s"]
        total["jobs"] += after["jobs"] - before["jobs"]
        total["replay_wall_s"] += replay_wall
        total["replay_cpu_s"] += replay_cpu
        total["replay_device_s"] += replay["device_s"] - after["device_s"]
        total["replay_matmul_s"] += replay["matmul_s"] - after["matmul_s"]
        for k in stages:
            stages[k] += stage1[k] - stage0[k]
    jobs = total["jobs"]
    return {
        **total,
        "stages": stages,
        "host_job_s": (total["replay_matmul_s"] - total["replay_device_s"]) / jobs,
        # CPU time (the machine is shared, as the Python bench measures): the replayed step's thread CPU
        # seconds minus the port calls (the results' copy; their own split is in host_job_s)
        "host_token_s": (total["replay_cpu_s"] - total["replay_matmul_s"]) / tokens,
        "host_token_wall_s": (total["replay_wall_s"] - total["replay_matmul_s"]) / tokens,
        "computing_host_token_s": (total["wall_s"] - total["matmul_s"]) / tokens,
    }


def measure(
    model: str,
    device_name: str | None,
    tokens: int,
    board: str,
    ports: int,
    policy: str,
    repeat: int,
    slowdown: float = A53_COMPILED_SLOWDOWN,
) -> dict[str, Any]:
    from ..model.load import load
    from ..model.precision import policy as make_policy
    from ..tile.manifest import load_manifest

    if device_name not in (None, "ref"):
        raise UserError(
            f"--host native runs native ref ports (the tile's arithmetic in C), not {device_name!r}; "
            "use --device ref, or --host python for the sim and board devices"
        )
    spec, chosen, manifest = board_spec(board), make_policy(policy), load_manifest()
    engine = NativeEngine(ports, manifest.lanes)
    try:
        transformer, tokenizer = load(model, engine=engine, precision=chosen)
        decoder = NativeDecoder(transformer, engine)
        ids = tokenizer.encode(PROMPT)
        cache = transformer.new_cache(len(ids) + tokens * repeat + 1)
        generated = [transformer.next_token(np.asarray(ids), cache)]  # prefill: the Python forward
        runs = [_timed_tokens(decoder, engine, cache, generated, tokens) for _ in range(repeat)]
        per_port = engine.port_stats()  # every run, computing and replaying
        decoder.close()
    finally:
        engine.close()
    best = min(runs, key=lambda r: r["host_token_s"])
    cfg = transformer.cfg
    stream_s = host_stream_bytes(cfg, cache.length) / A53_STREAM_BYTES_PER_S
    board_host = {
        "host_job_s": best["host_job_s"] * slowdown,
        "host_token_s": best["host_token_s"] * slowdown + stream_s,
    }
    on_board = predict(cfg, spec, manifest, context=cache.length, precision=chosen, **board_host)
    no_host = predict(cfg, spec, manifest, context=cache.length, precision=chosen, host_job_s=0.0)
    at_ports = predict(cfg, spec, manifest, context=cache.length, ports=ports, precision=chosen)
    host_s = (best["host_token_s"] + best["host_job_s"] * best["jobs"] / tokens) * tokens
    return {
        "model": model,
        "device": "ref",
        "host": "native",
        "ports": ports,
        "policy": policy,
        "measured_policy": policy,
        "tokens": tokens,
        "repeat": repeat,
        "generated_token_ids": generated[: 1 + tokens],
        "tokens_per_second": tokens / best["wall_s"],  # computing ports: this machine's speed
        "npu_cycles_per_token": None,  # native ref ports have no cycle counters: see the prediction
        "predicted_npu_cycles_per_token": at_ports.npu_cycles,
        "roofline_error": None,
        "tile_jobs_per_token": best["jobs"] / tokens,
        "native_device_us_per_token": best["device_s"] / tokens * 1e6,
        "native_device_s_by_port": [round(seconds, 4) for seconds, _ in per_port],
        "native_jobs_by_port": [jobs for _, jobs in per_port],
        "host_time_share": host_s / (host_s + best["device_s"]),
        # Host CPU seconds here on replayed tokens, the least of `repeat` runs:
        "host_job_us": best["host_job_s"] * 1e6,
        "host_token_us": best["host_token_s"] * 1e6,
        "host_us_per_token": host_s / tokens * 1e6,
        "host_job_us_runs": [round(r["host_job_s"] * 1e6, 3) for r in runs],
        "host_token_us_runs": [round(r["host_token_s"] * 1e6, 1) for r in runs],
        # The same on the computing ports, where the tile's arithmetic runs on this CPU between host
        # stages and evicts their data from its caches and TLB (the PL does not, on a board):
        "host_token_us_computing_ports": best["computing_host_token_s"] * 1e6,
        "host_token_us_wall": best["host_token_wall_s"] * 1e6,
        "host_profile_us_per_token": {k: round(v / tokens * 1e6, 1) for k, v in best["stages"].items()},
        "host_profile_note": "wall time inside the C step; the rest of host_token_us is the Python wrapper "
        "(the embedding row's lookup, the ctypes call)",
        "host_measurement": (
            "each token decoded twice at its position: once on the computing ref ports, recording every "
            "job's int32 results; once replaying them (same token checked): host = the replayed step's "
            "thread CPU time minus its port calls (the results' copy); host_job_us: port-call time outside "
            "the ports' own clock_gettime windows. Stage profile: wall time per C stage"
        ),
        "load_average_1min": os.getloadavg()[0],
        "a53_slowdown": slowdown,
        "a53_slowdown_source": A53_COMPILED_SLOWDOWN_SOURCE,
        f"{board}_host_stream_us_per_token": stream_s * 1e6,
        "a53_stream_source": A53_STREAM_SOURCE,
        "bytes_per_token": on_board.bytes_per_token,
        **board_fields(board, spec, on_board, no_host),
        "native_board_port": "not built: the prediction has no measured per-job DMA/register cost on a board",
    }
