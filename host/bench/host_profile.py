"""Where a decode token's host time goes, stage by stage, from a deterministic profile (cProfile).

Every Python function the decode step calls is attributed to one stage: functions named in `STAGES`
own their time, device-model code (the `ref` numpy tile, the simulator harness) is the device's, and
any other function (a numpy wrapper, a builtin method) belongs to the stage of whoever called it
(split by the caller edges' time when several stages call it). The profiler adds its own cost to
every Python call, so stage times here are larger than in an unprofiled run, most for the stages that
make many small calls (the driver); `zynpu bench decode` reports the unprofiled totals beside them.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable, Iterable
from typing import Any

Key = tuple[str, int, str]  # pstats' function key: (file, first line, name)
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
    from pathlib import Path

    from ..device import ref
    from ..tile import reference

    return (ref.__file__, reference.__file__, str(Path(ref.__file__).parent / "sim"))


def _key(function: Callable[..., Any]) -> Key:
    code = function.__code__  # type: ignore[attr-defined]
    return (code.co_filename, code.co_firstlineno, code.co_name)


def attribute(
    stats: dict[Key, tuple[Any, ...]],
    named: dict[Key, str],
    device_prefixes: Iterable[str] = (),
) -> dict[str, float]:
    """Seconds per stage from pstats' raw table {key: (cc, nc, tottime, cumtime, callers)}.

    A named function's own time is its stage's; a function in `device_paths` is the device's; any
    other function's own time is split over its callers' stages, each caller edge weighted by the time
    spent in the function when called from there (the gprof assumption).
    """
    paths = tuple(device_prefixes)
    memo: dict[Key, dict[str, float]] = {}

    def stages_of(key: Key, seen: frozenset[Key] = frozenset()) -> dict[str, float]:
        """The stage mix that time spent in `key` belongs to (fractions summing to 1)."""
        if key in named:
            return {named[key]: 1.0}
        if key[0].startswith(paths):
            return {DEVICE: 1.0}
        if key in memo:
            return memo[key]
        callers = stats.get(key, (0, 0, 0.0, 0.0, {}))[4]
        weights = {c: edge[3] or edge[2] for c, edge in callers.items() if c not in seen}
        total = sum(weights.values())
        if not weights or total <= 0:
            mix = {OTHER: 1.0}
        else:
            mix = {}
            for caller, weight in weights.items():
                for stage, share in stages_of(caller, seen | {key}).items():
                    mix[stage] = mix.get(stage, 0.0) + share * weight / total
        if not seen:
            memo[key] = mix
        return mix

    seconds: dict[str, float] = {}
    for key, (_, _, tottime, _, callers) in stats.items():
        if key in named or key[0].startswith(paths) or not callers:
            for stage, share in stages_of(key).items():
                seconds[stage] = seconds.get(stage, 0.0) + tottime * share
            continue
        for caller, edge in callers.items():  # the edge's own time goes to the caller's stages
            for stage, share in stages_of(caller, frozenset({key})).items():
                seconds[stage] = seconds.get(stage, 0.0) + edge[2] * share
    return seconds


def profile(step: Callable[[], Any], repeats: int, device: Any = None) -> dict[str, float]:
    """Run `step` `repeats` times under cProfile; seconds per stage per call of `step`."""
    named = {_key(f): stage for stage, functions in stage_functions(device).items() for f in functions}
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        for _ in range(repeats):
            step()
    finally:
        profiler.disable()
    raw: dict[Key, tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    seconds = attribute(raw, named, device_paths())
    return {stage: value / repeats for stage, value in sorted(seconds.items(), key=lambda kv: -kv[1])}


def host_stages(per_token_s: dict[str, float]) -> dict[str, float]:
    """The profile in microseconds per token, the device's and the numpy engine's work left out."""
    return {
        stage: round(seconds * 1e6, 1)
        for stage, seconds in per_token_s.items()
        if stage != DEVICE and not stage.startswith("numpy engine")
    }
