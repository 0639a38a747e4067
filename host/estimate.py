"""How long a decode will take on a device, said before it starts: no run of minutes begins silently.

The simulator executes the tile cycle by cycle, so its time per token is the tile's cycles per token
(exact, from `zynpu.roofline.predict`) over the simulator's clock rate (`zynpu bench device` measures
1.3-2 million tile cycles per second on one core; the estimate uses the low end).
"""

from __future__ import annotations

import sys

SIM_CYCLES_PER_SECOND = 1.3e6
WARN_ABOVE_SECONDS = 60.0


def sim_seconds_per_token(model: str) -> float | None:
    """Seconds per decoded token of `model` on the sim device; None when its config cannot be read."""
    from zynpu.roofline import board_spec, model_config, predict

    try:
        cfg = model_config(model)
        cycles = predict(cfg, board_spec("kv260")).npu_cycles
    except Exception:  # an unreadable model is reported by the load that follows, with its own message
        return None
    return cycles / SIM_CYCLES_PER_SECOND


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def warn_if_slow(model: str, device: str, tokens: int, prompt_tokens: int = 8) -> float | None:
    """Print the estimate to stderr when `tokens` on `device` will take more than a minute; returns it."""
    if device != "sim":
        return None
    per_token = sim_seconds_per_token(model)
    if per_token is None:
        return None
    # The prompt is prefilled in chunks of R rows: one chunk costs about one decode step.
    total = per_token * (tokens + max(1, prompt_tokens // 8))
    if total > WARN_ABOVE_SECONDS:
        print(
            f"zynpu: note: {model} on the RTL simulator takes ~{per_token:.0f} s per token: "
            f"{tokens} tokens ~{duration(total)}. The same int8 arithmetic runs on the host with "
            "--device numpy (seconds), or fewer tokens with --tokens.",
            file=sys.stderr,
            flush=True,
        )
    return total
