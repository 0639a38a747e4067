"""`zynpu bench decode`: decode on the NPU, measured from its counters and compared with the roofline.

Prefill runs the prompt as one GEMM pass; then `tokens` greedy decode steps (GEMV, M = 1) are timed,
`repeat` times. npu_cycles_per_token comes from the tiles' CYCLES counters (per wave of port jobs, the
slowest port); roofline_error compares it with the cycle count predicted from first principles
(`zynpu.roofline`). On sim/ref, tokens_per_second is this machine's speed, not the board's. On the
`numpy` engine there is no tile and no driver: only the host work between jobs is measured.

Host time is measured here in the decoding thread's CPU seconds (the machine is shared): host_job_us is
the driver's own time per tile job (CPU time in `Npu.matmul` minus that inside the device's
transfers, waits and register reads, i.e. the simulator or the numpy model), and host_token_us the
host's work between jobs per token (norms, attention, activation quantization and dequantization, the
LM head's arg-max: the decode step's CPU time minus the engine's). Both come from the repeat with the
least host time (noise on a shared machine only adds; every repeat is listed). `profile` adds the
per-stage breakdown (`zynpu.bench.host_profile`). The board prediction scales both by
`roofline.A53_SLOWDOWN` (see there for its source) until a board measures them. The prediction is for
`policy` (int8/int4 per site); a tile build without int4 runs the decode with int8 weights, which costs
the host the same work, and says so in `measured_policy`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..device.multiport import open_ports
from ..device.select import NPU_DEVICES
from ..errors import UserError
from ..model.engine import NumpyEngine
from ..npu import Npu
from ..roofline import A53_SLOWDOWN, A53_SLOWDOWN_SOURCE, board_fields, board_spec, predict
from . import host_profile

DEFAULT_MODEL = "tiny-qwen3"
PROMPT = "The tile streams one weight beat per cycle"
HOSTS = ("python", "native")  # where the decode step's host work runs


def run(
    model: str | None = None,
    device_name: str | None = None,
    tokens: int = 8,
    board: str = "kv260",
    ports: int | None = None,
    policy: str = "w8a8",
    a53_slowdown: float = A53_SLOWDOWN,
    repeat: int = 1,
    profile: bool = False,
    host: str = "python",
) -> dict[str, Any]:
    """Decode `tokens` tokens `repeat` times (host costs: the least CPU time of the repeats, and all of
    them), then with `profile` once more under cProfile for the per-stage breakdown of host time.

    `host`: "python" (the model's forward in Python/numpy, through the driver) or "native" (each decode
    step one C call on native ref ports: zynpu.native.bench; measured in wall time minus device time)."""
    ports = ports or 1
    if host not in HOSTS:
        raise UserError(f"unknown host {host!r}; choose one of {', '.join(HOSTS)}")
    if host == "native":
        if profile:
            raise UserError("--profile samples the Python host; the native host has no Python stages")
        from ..native.bench import measure

        return measure(model or DEFAULT_MODEL, device_name, tokens, board, ports, policy, repeat)
    engine, device = _open_engine(device_name, ports)
    try:
        return _measure(
            engine, device, model, device_name, tokens, board, ports, policy, a53_slowdown, repeat, profile
        )
    finally:
        if device is not None:
            device.close()


def _measure(
    engine: Any,
    device: Any,
    model: str | None,
    device_name: str | None,
    tokens: int,
    board: str,
    ports: int,
    policy: str,
    a53_slowdown: float,
    repeat: int,
    profile: bool,
) -> dict[str, Any]:
    from ..model.load import load
    from ..model.precision import FORMATS
    from ..model.precision import policy as make_policy

    spec = board_spec(board)
    chosen = make_policy(policy)
    device_bytes = _count_allocations(device) if device is not None else [0]
    npu = engine if isinstance(engine, Npu) else None
    runs_int4 = hasattr(engine, "pack_weights_int4")
    measured = chosen if runs_int4 else dict.fromkeys(chosen, FORMATS[0])
    # load progress on stderr
    transformer, tokenizer = load(model or DEFAULT_MODEL, engine=engine, precision=measured)
    ids = tokenizer.encode(PROMPT)
    steps = tokens * (repeat + (1 if profile else 0))
    cache = transformer.new_cache(len(ids) + steps + 1)
    token = transformer.next_token(np.asarray(ids), cache)
    generated = [token]

    def step() -> None:
        generated.append(transformer.next_token(np.asarray([generated[-1]]), cache))

    runs = [_timed_tokens(step, tokens, transformer, npu, device) for _ in range(repeat)]
    best = min(runs, key=lambda r: r.host_token_s + r.host_job_s * r.jobs)
    stages, samples = host_profile.profile(step, tokens, device) if profile else (None, 0)

    host_job_s = best.host_job_s if npu is not None else 0.0
    # Each job priced in the format its weights stream in (an int4-gguf site stored in 8 bits is int8):
    streamed = transformer.tile_formats
    at_ports = predict(
        transformer.cfg, spec, npu.manifest, context=cache.length, ports=ports, formats=streamed
    ) if npu is not None else None
    board_host = {"host_job_s": host_job_s * a53_slowdown, "host_token_s": best.host_token_s * a53_slowdown}
    manifest = npu.manifest if npu is not None else None
    board_formats = {"formats": streamed} if runs_int4 else {"precision": chosen}
    on_board = predict(transformer.cfg, spec, manifest, context=cache.length, **board_formats, **board_host)
    no_host = predict(transformer.cfg, spec, manifest, context=cache.length, **board_formats, host_job_s=0.0)
    measured_cycles = best.wave_cycles / tokens if npu is not None else None
    result: dict[str, Any] = {
        "model": model or DEFAULT_MODEL,
        "device": device.name if device is not None else device_name,
        "ports": ports,
        "policy": policy,
        "measured_policy": policy if runs_int4 else "w8a8 (this tile build has no int4 weights)",
        "tokens": tokens,
        "repeat": repeat,
        "generated_token_ids": generated[: 1 + tokens],  # the same before and after a host change
        "tokens_per_second": tokens / best.wall_s,
        "npu_cycles_per_token": measured_cycles,
        "tile_cycles_per_token": best.cycles / tokens if npu is not None else None,
        "tile_jobs_per_token": best.jobs / tokens,
        "bytes_per_token": best.total_bytes / tokens,
        "weight_bytes_per_token": best.weight_bytes / tokens,
        "decode_stream_efficiency": best.active / best.cycles if best.cycles else None,
        "host_time_share": (best.wall_s - best.inside_s) / best.wall_s if best.inside_s else None,
        # Host CPU seconds here (process time: the machine is shared), least of `repeat` runs:
        "host_job_us": best.host_job_s * 1e6 if npu is not None else None,
        "host_token_us": best.host_token_s * 1e6,
        "host_us_per_token": (best.host_token_s + host_job_s * best.jobs / tokens) * 1e6,
        "host_job_us_runs": [round(r.host_job_s * 1e6, 2) for r in runs] if npu is not None else None,
        "host_token_us_runs": [round(r.host_token_s * 1e6, 1) for r in runs],
        "load_average_1min": os.getloadavg()[0],  # how busy the machine was (2 cores here)
        "a53_slowdown": a53_slowdown,
        "a53_slowdown_source": A53_SLOWDOWN_SOURCE,
        "predicted_npu_cycles_per_token": at_ports.npu_cycles if at_ports is not None else None,
        "roofline_error": (
            abs(at_ports.npu_cycles - measured_cycles) / measured_cycles
            if at_ports is not None and measured_cycles
            else None
        ),
        # The board, for `policy` on the board's weight ports, with this run's host costs scaled:
        **board_fields(board, spec, on_board, no_host),
        **_memory(device_bytes),
    }
    if npu is None:
        result["host_job_us_note"] = "the numpy engine has no driver: the prediction leaves per-job costs out"
    if stages is not None:
        raw = host_profile.host_stages(stages)
        total = sum(raw.values())
        # Each stage's share of the sampled host time, times the unprofiled host time per token:
        # sampling costs every stage alike, so the shares hold where the sum runs high.
        result["host_profile_us_per_token"] = {
            stage: round(us / total * result["host_us_per_token"], 1) for stage, us in raw.items()
        } if total else {}
        result["host_profile_sampled_us_per_token"] = round(total, 1)
        result["host_profile_samples"] = samples
        result["host_profile_method"] = (
            f"statistical: a sample every {host_profile.INTERVAL * 1e3:g} ms over {tokens} more tokens, the "
            "thread's CPU time charged to the stage running (zynpu.bench.host_profile); device left out"
        )
    return result


@dataclass
class _Run:
    """One timed run of decode steps: CPU and wall seconds, and what the engine and tiles counted."""

    cpu_s: float  # the decoding thread's CPU seconds per token, engine included
    wall_s: float
    inside_s: float  # wall seconds inside the simulator (sim only)
    host_token_s: float  # host CPU per token outside the engine's matmul
    host_job_s: float  # the driver's own CPU per tile job
    jobs: int
    wave_cycles: int
    cycles: int
    active: int
    total_bytes: int
    weight_bytes: int


def _totals(npu: Npu | None) -> tuple[float, ...]:
    """The driver's running totals the runs are differences of (zeros on the numpy engine)."""
    if npu is None:
        return (0, 0, 0, 0, 0.0)
    t = npu.total
    return (t.wave_cycles, t.cycles, t.active, t.jobs, t.driver_s)


def _timed_tokens(
    step: Callable[[], None], tokens: int, transformer: Any, npu: Npu | None, device: Any
) -> _Run:
    transformer.engine_stats(reset=True)
    before = _totals(npu)
    inside0 = getattr(device, "time_in_simulator", 0.0)
    start, cpu_start = time.perf_counter(), host_profile.CLOCK()
    for _ in range(tokens):
        step()
    wall, cpu = time.perf_counter() - start, host_profile.CLOCK() - cpu_start
    inside = getattr(device, "time_in_simulator", 0.0) - inside0
    stats = transformer.engine_stats()
    wave_cycles, cycles, active, tile_jobs, driver_s = (
        a - b for a, b in zip(_totals(npu), before, strict=True)
    )
    return _Run(
        cpu_s=cpu / tokens,
        wall_s=wall,
        inside_s=inside,
        host_token_s=(cpu - stats.engine_s) / tokens,
        host_job_s=driver_s / tile_jobs if tile_jobs else 0.0,
        jobs=int(tile_jobs) if npu is not None else stats.jobs,
        wave_cycles=int(wave_cycles),
        cycles=int(cycles),
        active=int(active),
        total_bytes=stats.total_bytes,
        weight_bytes=stats.weight_bytes,
    )


def _open_engine(name: str | None, ports: int) -> tuple[Any, Any]:
    """(engine, device): an `Npu` on P ports of an NPU device, or the numpy engine (no device)."""
    from ..device.select import HOST_ENGINES, device_name

    chosen = device_name(name, (*NPU_DEVICES, *HOST_ENGINES))
    if chosen == "numpy":
        return NumpyEngine(), None
    if chosen in HOST_ENGINES:
        raise UserError(f"bench decode runs an NPU device or the numpy engine, not {chosen!r}; pick one of "
                        f"{', '.join((*NPU_DEVICES, 'numpy'))}")
    device = open_ports(chosen, ports)  # a cold sim build shows its progress on stderr
    try:
        return Npu(device), device
    except BaseException:
        device.close()
        raise


def _count_allocations(device: Any) -> list[int]:
    """Count the bytes of every device buffer from here on (on a board: CMA, outside the process's heap),
    on every weight port."""
    total = [0]
    for port in getattr(device, "ports", (device,)):
        allocate = port.allocate

        def counting(
            shape: Any, dtype: Any = np.uint8, cacheable: bool = False, _allocate: Any = allocate
        ) -> Any:
            buffer = _allocate(shape, dtype, cacheable)
            total[0] += buffer.nbytes
            return buffer

        port.allocate = counting
    return total


def _memory(device_bytes: list[int]) -> dict[str, float]:
    """Peak RSS of this process and the device buffers; on sim/ref the buffers are inside the RSS."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return {"peak_rss_mb": round(peak, 1), "device_buffer_mb": round(device_bytes[0] / 2**20, 1)}
