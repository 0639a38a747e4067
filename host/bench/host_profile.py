"""Where a decode token's host time goes, stage by stage: a statistical profiler weighted by CPU time.

While the decode steps run, a timer interrupts the process every `INTERVAL` seconds (`setitimer`,
SIGALRM) and the handler charges the decoding thread's CPU time since the last sample to the stage of
the innermost frame it knows: a function named in `stage_functions`, or device-model code (the `ref`
numpy tile, the simulator harness: the device's work, not the host's). Python handles the signal between
bytecodes, so the time of a numpy call lands on the Python function that made it. Weighting by the
thread's CPU clock keeps a shared machine's waits for a core out of the stages (a sample taken while the
thread waited carries no weight), and sampling keeps the profiler's cost off the measured code (a
deterministic profiler such as cProfile adds microseconds to every call, several times the cost of the
small numpy calls measured here). The price is resolution: a stage's figure is good to about the square
root of its samples, so `zynpu bench decode --profile` reports how many samples the host stages got.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import UserError

Key = tuple[str, int, str]  # a function: (file, first line, name)
CLOCK = time.thread_time  # CPU seconds of the calling (decoding) thread
INTERVAL = 0.00025  # seconds between samples (the process's CPU-time timer ticks at only 250 Hz here)
DEVICE = "device"  # the tile's own work (numpy model / simulator / the board's hardware), not host time
OTHER = "python: layer glue"  # residual adds, slicing, calls between stages


def stage_functions(device: Any = None) -> dict[str, list[Callable[..., Any]]]:
    """The decode path's functions, grouped by the stage they are (imported here: the model is optional).

    `device`: the engine's device, whose DMA channel classes' `transfer` (the launch: register writes on
    a board) is driver time and whose `wait` and register `read` are the device's.
    """
    from ..device.base import DmaChannel
    from ..model import layers, transformer, w8a8
    from ..model.embedding import StoredRows
    from ..model.engine import MeteredEngine, NumpyEngine
    from ..model.kvcache import KVCache
    from ..npu import Npu
    from ..tile import packing

    launch: list[Callable[..., Any]] = [DmaChannel.transfer]
    waits: list[Callable[..., Any]] = []
    for port in getattr(device, "ports", (device,) if device is not None else ()):
        for channel in (port.send, port.recv):
            launch.append(type(channel).transfer)
            waits.append(type(channel).wait)
        waits.append(type(port).read)
    return {
        "embedding": [transformer.embed_tokens, StoredRows.__getitem__],
        "norms (RMSNorm)": [layers.rms_norm],
        "RoPE": [layers.apply_rope],
        "attention over the KV cache": [layers.attention, layers.visible_keys, KVCache.store],
        "GeGLU/SwiGLU": [layers.glu],
        "activation quantization": [w8a8.quantize_activation, w8a8.quantize_rows],
        "dequantization": [w8a8.dequantize_output],
        "LM head arg-max": [transformer.Linear.argmax],
        "python: linear glue": [transformer.Linear.__call__, MeteredEngine.matmul],
        OTHER: [
            transformer.Transformer.next_token,
            transformer.Transformer.hidden,
            transformer.decoder_layer,
        ],
        "driver: python": [Npu.matmul, Npu._run_wave],
        "driver: activations + header into the buffer": [packing.pack_activations, Npu._slot, Npu._header],
        "driver: DMA launch": launch,
        "driver: results out of the buffer": [Npu._collect, packing.results_view, packing.unpack_results],
        "driver: counters (statistics)": [Npu._read_counters, Npu._cycle_counters, Npu._count],
        "numpy engine matmul (the NPU's work)": [NumpyEngine.matmul],
        DEVICE: waits,
    }


def device_paths() -> tuple[str, ...]:
    """Source files (or folders) whose functions are the device's work: the tile model, the simulator."""
    from ..device import ref
    from ..tile import reference

    return (ref.__file__, reference.__file__, str(Path(ref.__file__).parent / "sim"))


def _key(code: Any) -> Key:
    return (code.co_filename, code.co_firstlineno, code.co_name)


class Classifier:
    """The stage of a stack: its innermost frame that is a named stage function or device code."""

    def __init__(self, device: Any = None) -> None:
        functions = stage_functions(device)
        self.named = {_key(f.__code__): stage for stage, fs in functions.items() for f in fs}
        self.device_prefixes = device_paths()

    def __call__(self, frame: FrameType | None) -> str:
        while frame is not None:
            code = frame.f_code
            stage = self.named.get(_key(code))
            if stage is not None:
                return stage
            if code.co_filename.startswith(self.device_prefixes):
                return DEVICE
            frame = frame.f_back
        return OTHER


def profile(step: Callable[[], Any], repeats: int, device: Any = None) -> tuple[dict[str, float], int]:
    """Run `step` `repeats` times while sampling: (CPU seconds per stage per call of `step`, the number
    of samples that carried CPU time). Must run on the main thread (Python runs signal handlers there)."""
    if threading.current_thread() is not threading.main_thread():
        raise UserError("the host profile samples the main thread; run the decode there")
    classify = Classifier(device)
    seconds: dict[str, float] = {}
    state = {"last": CLOCK(), "samples": 0}

    def on_tick(signum: int, frame: FrameType | None) -> None:
        now = CLOCK()
        if now > state["last"]:
            stage = classify(frame)
            seconds[stage] = seconds.get(stage, 0.0) + now - state["last"]
            state["samples"] += 1
        state["last"] = now

    previous = signal.signal(signal.SIGALRM, on_tick)
    signal.setitimer(signal.ITIMER_REAL, INTERVAL, INTERVAL)
    try:
        for _ in range(repeats):
            step()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0, 0.0)
        signal.signal(signal.SIGALRM, previous)
    per_step = {stage: value / repeats for stage, value in sorted(seconds.items(), key=lambda kv: -kv[1])}
    return per_step, state["samples"]


def host_stages(per_token_s: dict[str, float]) -> dict[str, float]:
    """The profile in microseconds per token, the device's and the numpy engine's work left out."""
    return {
        stage: round(seconds * 1e6, 1)
        for stage, seconds in per_token_s.items()
        if stage != DEVICE and not stage.startswith("numpy engine")
    }
