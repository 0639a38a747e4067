"""`zynpu bench decode`: decode on the NPU, measured from its counters and compared with the roofline.

Prefill runs the prompt as one GEMM pass; then `tokens` greedy decode steps (GEMV, M = 1) are timed.
npu_cycles_per_token comes from the tiles' CYCLES counters (per wave of port jobs, the slowest port);
roofline_error compares it with the cycle count predicted from first principles (`zynpu.roofline`).
On sim/ref, tokens_per_second is this machine's speed, not the board's.

Host time is measured here, in CPU seconds of this process (the machine is shared): host_job_us is
the driver's own time per tile job (CPU time in `Npu.matmul` minus that inside the device's
transfers, waits and register reads, i.e. the simulator or the numpy model), and host_token_us the
host's work between jobs per token (norms, attention, activation quantization and dequantization, the
LM head's arg-max: the decode step's CPU time minus the engine's). The board
prediction scales both by `roofline.A53_SLOWDOWN` (see there for its source) until a board measures
them. The prediction is for `policy` (int8/int4 per site); a tile build without int4 runs the decode
with int8 weights, which costs the host the same work, and says so in `measured_policy`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..device.multiport import open_ports
from ..npu import Npu
from ..overlays.boards import board_facts
from ..roofline import A53_SLOWDOWN, board_spec, predict

DEFAULT_MODEL = "tiny-qwen3"
PROMPT = "The tile streams one weight beat per cycle"


def run(
    model: str | None = None,
    device_name: str | None = None,
    tokens: int = 8,
    board: str = "kv260",
    ports: int | None = None,
    policy: str = "w8a8",
    a53_slowdown: float = A53_SLOWDOWN,
) -> dict[str, Any]:
    ports = ports or 1
    with open_ports(device_name, ports) as device:  # a cold sim build shows its progress on stderr
        return _measure(device, model, tokens, board, ports, policy, a53_slowdown)


def _measure(
    device: Any, model: str | None, tokens: int, board: str, ports: int, policy: str, a53_slowdown: float
) -> dict[str, Any]:
    from ..model.load import load
    from ..model.precision import FORMATS
    from ..model.precision import policy as make_policy

    spec = board_spec(board)
    chosen = make_policy(policy)
    device_bytes = _count_allocations(device)
    npu = Npu(device)
    runs_int4 = hasattr(npu, "pack_weights_int4")
    measured = chosen if runs_int4 else dict.fromkeys(chosen, FORMATS[0])
    # load progress on stderr
    transformer, tokenizer = load(model or DEFAULT_MODEL, engine=npu, precision=measured)
    ids = tokenizer.encode(PROMPT)
    cache = transformer.new_cache(len(ids) + tokens + 1)
    token = transformer.next_token(np.asarray(ids), cache)
    transformer.engine_stats(reset=True)

    before = (npu.total.wave_cycles, npu.total.cycles, npu.total.active, npu.total.jobs, npu.total.driver_s)
    inside0 = getattr(device, "time_in_simulator", 0.0)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(tokens):
        token = transformer.next_token(np.asarray([token]), cache)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    inside = getattr(device, "time_in_simulator", 0.0) - inside0
    stats = transformer.engine_stats()
    wave_cycles, cycles, active, jobs, driver_s = (
        now - then
        for now, then in zip(
            (npu.total.wave_cycles, npu.total.cycles, npu.total.active, npu.total.jobs, npu.total.driver_s),
            before,
            strict=True,
        )
    )
    measured_cycles = wave_cycles / tokens
    host_job_s = driver_s / jobs
    host_token_s = (cpu - stats.engine_s) / tokens
    at_ports = predict(
        transformer.cfg, spec, npu.manifest, context=cache.length, ports=ports, precision=measured
    )
    board_host = {"host_job_s": host_job_s * a53_slowdown, "host_token_s": host_token_s * a53_slowdown}
    on_board = predict(
        transformer.cfg, spec, npu.manifest, context=cache.length, precision=chosen, **board_host
    )
    result: dict[str, Any] = {
        "model": model or DEFAULT_MODEL,
        "device": device.name,
        "ports": ports,
        "policy": policy,
        "measured_policy": policy if runs_int4 else "w8a8 (this tile build has no int4 weights)",
        "tokens": tokens,
        "tokens_per_second": tokens / wall,
        "npu_cycles_per_token": measured_cycles,
        "tile_cycles_per_token": cycles / tokens,
        "tile_jobs_per_token": jobs / tokens,
        "bytes_per_token": stats.total_bytes / tokens,
        "weight_bytes_per_token": stats.weight_bytes / tokens,
        "decode_stream_efficiency": active / cycles,
        "host_time_share": (wall - inside) / wall if inside else None,
        "host_job_us": host_job_s * 1e6,
        "host_token_us": host_token_s * 1e6,
        "a53_slowdown": a53_slowdown,
        "predicted_npu_cycles_per_token": at_ports.npu_cycles,
        "roofline_error": abs(at_ports.npu_cycles - measured_cycles) / measured_cycles,
        # The board, for `policy` on the board's weight ports, with this run's host costs scaled:
        f"predicted_{board}_tokens_per_second": on_board.tokens_per_second,
        f"predicted_{board}_host_time_share": on_board.host_time_share,
        f"predicted_{board}_bound": on_board.bound,
        f"predicted_{board}_weight_ports": on_board.weight_ports,
        "predicted_bytes_per_token": on_board.bytes_per_token,
        "weight_bits_per_param": on_board.weight_bits_per_param,
        "ddr_roofline_fraction": on_board.ddr_roofline_fraction,
        "ddr_peak_fraction": on_board.ddr_peak_fraction,
        "ddr_sustained_gbytes_per_s": spec.sustained_gbytes_per_s,
        "ddr_sustained_source": board_facts(board)["ddr_sustained_source"],
        **_memory(device_bytes),
    }
    return result


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
