"""`zynpu bench decode`: decode on the NPU, measured from its counters and compared with the roofline.

Prefill runs the prompt as one GEMM pass; then `tokens` greedy decode steps (GEMV, M = 1) are timed.
npu_cycles_per_token comes from the tile's CYCLES counter; roofline_error compares it with the cycle
count predicted from first principles (`zynpu.roofline`). On the sim device, tokens_per_second is the
simulator's speed, not the board's: predicted_<board>_tokens_per_second is the board's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..device import open_device
from ..npu import Npu
from ..roofline import board_spec, predict

DEFAULT_MODEL = "tiny-qwen3"
PROMPT = "The tile streams one weight beat per cycle"


def run(
    model: str | None = None, device_name: str | None = None, tokens: int = 8, board: str = "kv260"
) -> dict[str, Any]:
    from ..model.load import load

    device = open_device(device_name)  # a cold sim build shows its progress on stderr
    device_bytes = _count_allocations(device)
    npu = Npu(device)
    transformer, tokenizer = load(model or DEFAULT_MODEL, engine=npu)  # load progress on stderr
    cache = transformer.new_cache(len(tokenizer.encode(PROMPT)) + tokens + 1)
    ids = tokenizer.encode(PROMPT)
    logits = transformer.forward(np.asarray(ids), cache)
    transformer.engine_stats(reset=True)

    cycles0, active0, jobs0 = npu.total.cycles, npu.total.active, npu.total.jobs
    inside0 = getattr(device, "time_in_simulator", 0.0)
    start = time.perf_counter()
    for _ in range(tokens):
        token = int(np.argmax(logits))
        logits = transformer.forward(np.asarray([token]), cache)
    wall = time.perf_counter() - start
    inside = getattr(device, "time_in_simulator", 0.0) - inside0
    stats = transformer.engine_stats()
    cycles = npu.total.cycles - cycles0
    measured_cycles = cycles / tokens
    spec = board_spec(board)
    prediction = predict(transformer.cfg, spec, npu.manifest, context=cache.length)
    result: dict[str, Any] = {
        "model": model or DEFAULT_MODEL,
        "device": device.name,
        "tokens": tokens,
        "tokens_per_second": tokens / wall,
        "npu_cycles_per_token": measured_cycles,
        "tile_jobs_per_token": (npu.total.jobs - jobs0) / tokens,
        "bytes_per_token": stats.total_bytes / tokens,
        "weight_bytes_per_token": stats.weight_bytes / tokens,
        "decode_stream_efficiency": (npu.total.active - active0) / cycles,
        "host_time_share": (wall - inside) / wall if inside else None,
        f"predicted_{board}_tokens_per_second": prediction.tokens_per_second,
        f"predicted_{board}_host_time_share": prediction.host_time_share,
        f"predicted_{board}_bound": prediction.bound,
        "predicted_npu_cycles_per_token": prediction.npu_cycles,
        "roofline_error": abs(prediction.npu_cycles - measured_cycles) / measured_cycles,
        **_memory(device_bytes),
    }
    return result


def _count_allocations(device: Any) -> list[int]:
    """Count the bytes of every device buffer from here on (on a board: CMA, outside the process's heap)."""
    total = [0]
    allocate = device.allocate

    def counting(shape: Any, dtype: Any = np.uint8) -> Any:
        buffer = allocate(shape, dtype)
        total[0] += buffer.nbytes
        return buffer

    device.allocate = counting
    return total


def _memory(device_bytes: list[int]) -> dict[str, float]:
    """Peak RSS of this process and the device buffers; on sim/ref the buffers are inside the RSS."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return {"peak_rss_mb": round(peak, 1), "device_buffer_mb": round(device_bytes[0] / 2**20, 1)}
