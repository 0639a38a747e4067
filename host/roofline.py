"""Predict decode tokens/s on a board from first principles, and say which bound applies.

Batch-1 decode streams every weight once per token. On zynpu the weights flow DDR -> HP port -> AXI DMA
-> tile at one 16-byte beat per cycle per port at most; P weight ports (one DMA and tile each) stream
one job's column slices concurrently, and together they cannot read faster than the PS DDR sustains.
So a wave of jobs (one per port, `npu.plan`) costs max(slowest port's tile cycles, its bytes over the
sustained DDR bandwidth); the tile cycles come from the manifest's cycle model. The host adds its
driver cost per tile job and its work between jobs (norms, attention, activation quantization, the LM
head's arg-max), both measured on this machine by `zynpu bench decode` and scaled to the board's
Cortex-A53 by `A53_SLOWDOWN` (the Python host) or `A53_COMPILED_SLOWDOWN` plus the A53's DRAM streaming
(the native C host, `--host native`); the host waits on each job, so tokens/s = 1 / (NPU time + host time).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .npu import plan
from .tile import reference
from .tile.manifest import TileManifest, load_manifest

# Host cost per tile job on a Cortex-A53 under PYNQ when nothing is measured: write header and
# activations, the DMA register writes, a poll loop and a STATUS read, unpack the results. Tens of
# microseconds; `zynpu bench decode` measures it here (host_job_us) and scales it by A53_SLOWDOWN.
DEFAULT_HOST_JOB_S = 50e-6
DEFAULT_CONTEXT = 256
# How much slower the board's CPU (Cortex-A53: 1.333 GHz on the K26 SOM, DS987) runs this host's decode
# work than the x86-64 machine that measured it, until a board measures host_job_us itself
# (`zynpu bench decode --device board`). The decode host work is CPython dispatching small numpy calls
# (a 640-wide quantization costs what a 2048-wide one does: docs/model.md, "Decode speed on the
# board"), so the factor that matters is the interpreter's speed, not SIMD width. Source: the
# pure-CPython benchmark of github.com/alexdedyura/cpu-benchmark (float and big-int arithmetic in
# interpreted loops); its issue #20 (2024-04-20) reports 245 s per attempt on a Raspberry Pi 3B+
# (Cortex-A53, 1.4 GHz, Python 3.11.2; a user's figure, not verified by the project). The same loop
# measured here (CPython 3.11.7, the development machine's AMD EPYC vCPU at 2.45 GHz, CPU time, least of
# 5 samples at load average 8-10 on 2 cores): 23.3 s per attempt (23.1 s in a second measurement).
# 245 / 23.3 = 10.5 at 1.4 GHz, x 1.4 / 1.333 for the K26's clock = 11.0. For scale, the README's
# verified rows put x86 desktops and servers at 13-50 s (a 3.8 x spread of x86 cores alone), so the
# factor belongs to the x86 core that measured. No published A53-vs-x86 numpy figure was found.
A53_SLOWDOWN = 11.0
A53_SLOWDOWN_SOURCE = (
    "pure-CPython loop benchmark (github.com/alexdedyura/cpu-benchmark): Raspberry Pi 3B+ Cortex-A53 "
    "1.4 GHz 245 s (its issue #20, user-reported) vs 23.3 s measured on this machine's AMD EPYC; "
    "x 1.4/1.333 GHz for the K26 (derivation in zynpu.roofline)"
)

# The same factor for COMPILED host code (zynpu.native: the decode step in C, -O3): how much slower the
# K26's Cortex-A53 at 1.333 GHz runs compiled C than this development machine. Source: sysbench 1.0.20
# `sysbench cpu --threads=1` (compiled C: a prime-number loop of integer divisions and square roots),
# 687.45 events/s on a Raspberry Pi 3B+ (Cortex-A53 at 1.4 GHz) as published by leoncode.co.uk
# ("Raspberry Pi CPU Benchmarks", the Sysbench table); the same version (Debian's 1.0.20+ds-5) measured
# here: 2154 events/s (best of 3 runs of 10 s at load average 3, 2 cores, AMD EPYC vCPU). 2154 / 687.45
# = 3.13 at 1.4 GHz, x 1.4 / 1.333 for the K26's clock = 3.3. One integer benchmark: the float loops of a
# decode step are not the same mix, and the Pi's figure is presumably from 32-bit Raspberry Pi OS.
A53_COMPILED_SLOWDOWN = 3.3
A53_COMPILED_SLOWDOWN_SOURCE = (
    "sysbench 1.0.20 cpu, 1 thread: Raspberry Pi 3B+ Cortex-A53 1.4 GHz 687.45 events/s "
    "(leoncode.co.uk, Raspberry Pi CPU Benchmarks) vs 2154 events/s measured on this machine's AMD EPYC; "
    "x 1.4/1.333 GHz for the K26 (derivation in zynpu.roofline)"
)
# What one Cortex-A53 core streams from DRAM, for the host's memory-bound work that compiled code does not
# hide: reading the tile's int32 results (the LM head's 262,144 x 4 bytes, DMA-written, so not in any
# cache) and the float32 KV cache in attention. Source: TI SPRAD90 (AM62A benchmarks, Cortex-A53, LMBench
# `bw_mem 8M bcopy`, one core): 2,125.96 MB/s copied (LMBench counts a byte read and written once). Same
# core, another SoC's memory (LPDDR4): a proxy until a KV260 measures it.
A53_STREAM_BYTES_PER_S = 2.126e9
A53_STREAM_SOURCE = "TI SPRAD90 (AM62A, Cortex-A53): LMBench bw_mem 8M bcopy, 1 core, 2,125.96 MB/s"


@dataclass(frozen=True)
class BoardSpec:
    name: str
    clock_mhz: float
    ddr_gbytes_per_s: float  # peak
    weight_ports: int = 1  # P: HP ports with a DMA and tile each (a board/overlay property)
    ddr_sustained_gbytes_per_s: float = 0.0  # long-stream reads from the PL; 0: the peak

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    @property
    def sustained_gbytes_per_s(self) -> float:
        return self.ddr_sustained_gbytes_per_s or self.ddr_gbytes_per_s

    def with_ports(self, ports: int) -> BoardSpec:
        return BoardSpec(
            self.name, self.clock_mhz, self.ddr_gbytes_per_s, ports, self.ddr_sustained_gbytes_per_s
        )


def board_spec(name: str) -> BoardSpec:
    """The board's clock target, weight ports and DDR bandwidth, from the board facts (their one home)."""
    from .overlays.boards import board_facts

    values = board_facts(name)
    peak = float(values["ddr_gbytes_per_s"])
    sustained_gbs = peak * float(values["ddr_sustained_share"])
    ports = int(values.get("weight_ports", 1))
    return BoardSpec(name, float(values["clock_mhz"]), peak, ports, sustained_gbs)


@dataclass(frozen=True)
class Job:
    """One logical tile job of a decode step: y (M, N) = x (M, K) @ W.T, weights in `fmt`."""

    name: str
    m: int
    k: int
    n: int
    fmt: str = "int8"


def decode_jobs(
    cfg: Any, m: int = 1, precision: dict[str, str] | None = None, formats: Sequence[str] | None = None
) -> list[Job]:
    """The tile jobs of one decode step: every layer site per layer, then the LM head (model.sites).
    `formats`: per job, the format its weights really stream in (`Transformer.tile_formats`: an
    int4-gguf site stored in more than 4 bits streams as int8); else the policy's, site by site."""
    from .model.precision import policy
    from .model.sites import LAYER_SITES, LM_HEAD

    fmt = policy(precision or {})
    per_layer = [Job(s.name, m, s.k(cfg), s.n(cfg), fmt[s.name]) for s in LAYER_SITES]
    head = Job(LM_HEAD.name, m, LM_HEAD.k(cfg), LM_HEAD.n(cfg), fmt[LM_HEAD.name])
    jobs = per_layer * cfg.n_layers + [head]
    if formats is None:
        return jobs
    if len(formats) != len(jobs):
        raise ValueError(f"{len(formats)} job formats for {len(jobs)} decode jobs")
    return [replace(job, fmt=f) for job, f in zip(jobs, formats, strict=True)]


@dataclass(frozen=True)
class MatmulCost:
    """One matmul on `ports` weight ports: its waves (`npu.plan`) and what each costs."""

    cycles: int  # the critical path: per wave, its slowest port's busy cycles
    tile_jobs: int
    weight_bytes: int
    activation_bytes: int  # header and activations in, results out
    wave_seconds: tuple[float, ...]  # per wave: max(slowest port's cycles, its bytes over sustained DDR)

    @property
    def stream_seconds(self) -> float:
        return sum(self.wave_seconds)


def matmul_cost(
    manifest: TileManifest, board: BoardSpec, m: int, k: int, n: int, fmt: str = "int8", ports: int = 1
) -> MatmulCost:
    """Y (M, N) = X (M, K) @ W.T as the NPU runs it: tile cycles from the manifest's cycle model (what
    the tile's CYCLES counter reads) and the board's time for it, tile- or DDR-bound per wave."""
    sustained = board.sustained_gbytes_per_s * 1e9
    cycles = tile_jobs = weight_bytes = act_bytes = 0
    wave_seconds = []
    tile_format = "int8" if fmt == "int8" else "int4"  # GGUF codes reach the tile as its int4 format
    for wave in plan(manifest, m, k, n, ports, tile_format):
        port_cycles = [reference.job_cycles(manifest, t.shape) for t in wave]
        wave_weights = sum(t.shape.weight_bytes for t in wave)
        wave_acts = sum(t.shape.prefix_beats * t.shape.lanes + t.shape.output_bytes for t in wave)
        cycles += max(port_cycles)
        tile_jobs += len(wave)
        weight_bytes += wave_weights
        act_bytes += wave_acts
        wave_seconds.append(max(max(port_cycles) / board.clock_hz, (wave_weights + wave_acts) / sustained))
    return MatmulCost(cycles, tile_jobs, weight_bytes, act_bytes, tuple(wave_seconds))


@dataclass
class Prediction:
    board: str
    clock_mhz: float
    tile_jobs: int
    weight_bytes: int
    activation_bytes: int
    kv_bytes: int
    npu_cycles: int
    npu_seconds: float
    host_seconds: float
    ddr_seconds: float
    tokens_per_second: float
    bound: str
    host_time_share: float
    macs: int
    weight_ports: int = 1
    params: int = 0
    stream_seconds: float = 0.0  # the waves' cost: each max(its slowest port, its DDR time)
    ddr_sustained_gbytes_per_s: float = 0.0
    ddr_peak_gbytes_per_s: float = 0.0
    host_job_seconds: float = 0.0  # driver cost per tile job (board)
    host_token_seconds: float = 0.0  # host work between jobs per token (board)

    @property
    def bytes_per_token(self) -> int:
        """Everything the token moves through the PS DDR: weights, activations in and out, KV cache."""
        return self.weight_bytes + self.activation_bytes + self.kv_bytes

    @property
    def weight_bits_per_param(self) -> float:
        return 8 * self.weight_bytes / self.params if self.params else 0.0

    @property
    def ddr_roofline_fraction(self) -> float:
        """Achieved DDR traffic over what the DDR sustains for long streams (1.0: at the roofline)."""
        return self.tokens_per_second * self.bytes_per_token / (self.ddr_sustained_gbytes_per_s * 1e9)

    @property
    def ddr_peak_fraction(self) -> float:
        return self.tokens_per_second * self.bytes_per_token / (self.ddr_peak_gbytes_per_s * 1e9)

    def as_dict(self) -> dict[str, Any]:
        extra = ("bytes_per_token", "weight_bits_per_param", "ddr_roofline_fraction", "ddr_peak_fraction")
        return asdict(self) | {name: getattr(self, name) for name in extra}


def predict(
    cfg: Any,
    board: BoardSpec,
    manifest: TileManifest | None = None,
    *,
    host_job_s: float = DEFAULT_HOST_JOB_S,
    host_token_s: float = 0.0,
    context: int = DEFAULT_CONTEXT,
    m: int = 1,
    ports: int | None = None,
    precision: dict[str, str] | None = None,
    formats: Sequence[str] | None = None,
) -> Prediction:
    """Per-token cost of decode (m = 1) or of one prefill chunk of m tokens, on `ports` weight ports
    (default: the board's). host_job_s / host_token_s are the board's host costs (already scaled)."""
    manifest = manifest or load_manifest()
    ports = ports or board.weight_ports
    sustained = board.sustained_gbytes_per_s * 1e9
    jobs = decode_jobs(cfg, m, precision, formats)
    cycles = tile_jobs = weight_bytes = act_bytes = 0
    stream_s = 0.0
    for job in jobs:
        cost = matmul_cost(manifest, board, job.m, job.k, job.n, job.fmt, ports)
        cycles += cost.cycles
        tile_jobs += cost.tile_jobs
        weight_bytes += cost.weight_bytes
        act_bytes += cost.activation_bytes
        for wave_s in cost.wave_seconds:
            stream_s += wave_s
    kv_bytes = 2 * cfg.n_layers * context * cfg.n_kv_heads * cfg.head_dim * 4  # float32 K, V; CPU reads
    npu_s = cycles / board.clock_hz
    ddr_s = (weight_bytes + act_bytes + kv_bytes) / sustained
    stream_s = max(stream_s, ddr_s)
    host_s = tile_jobs * host_job_s + host_token_s
    token_s = stream_s + host_s
    parts = {
        "HP-port stream (tile cycles)": npu_s,
        "DDR bandwidth": ddr_s,
        "host per-job overhead": tile_jobs * host_job_s,
        "host work between jobs": host_token_s,
    }
    bound = max(parts, key=parts.__getitem__)
    return Prediction(
        board.name,
        board.clock_mhz,
        tile_jobs,
        weight_bytes,
        act_bytes,
        kv_bytes,
        cycles,
        npu_s,
        host_s,
        ddr_s,
        m / token_s,
        bound,
        host_s / token_s,
        sum(job.m * job.k * job.n for job in jobs),
        ports,
        sum(job.k * job.n for job in jobs),
        stream_s,
        board.sustained_gbytes_per_s,
        board.ddr_gbytes_per_s,
        host_job_s,
        host_token_s,
    )


def model_config(ref: str) -> Any:
    """A model's config without loading its weights (GGUF metadata or config.json)."""
    from .model import config as model_config_module
    from .model.load import resolve

    path = resolve(ref)
    if path.is_dir():
        return model_config_module.from_hf(json.loads((path / "config.json").read_text()))
    from .model.gguf_file import read_gguf

    gguf = read_gguf(path)
    names = {t.name: t for t in gguf.tensors}
    embed = names.get("token_embd.weight")
    if embed is None:
        from .model.errors import ModelLoadError

        raise ModelLoadError(f"{path}: no token_embd.weight tensor")
    return model_config_module.from_gguf(gguf.fields, embed.shape[0], "output.weight" not in names)


def plot(
    path: Path,
    cfg: Any,
    board: BoardSpec,
    manifest: TileManifest,
    measured: dict[str, Any] | None,
    model_name: str | None = None,
) -> Path:
    """Roofline of the tile on `board` (attainable GMAC/s vs MACs per streamed byte) with the points.

    Both panels name the model and the board: a tokens/s figure means nothing without them.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    peak_gmacs = manifest.rows * manifest.lanes * board.clock_hz / 1e9
    stream_gbs = manifest.stream_bytes * board.clock_hz / 1e9
    ddr_gbs = board.ddr_gbytes_per_s
    intensity = np.logspace(-1, 2, 200)
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    ax.loglog(
        intensity,
        np.minimum(peak_gmacs, stream_gbs * intensity),
        label=f"tile: HP port {stream_gbs:.1f} GB/s",
    )
    ax.loglog(
        intensity, np.minimum(peak_gmacs, ddr_gbs * intensity), "--", label=f"PS DDR {ddr_gbs:.1f} GB/s"
    )
    ax.axhline(peak_gmacs, color="grey", lw=0.8)
    for m, marker in ((1, "o"), (manifest.rows, "s")):
        p = predict(cfg, board, manifest, m=m)
        x = p.macs / (p.weight_bytes + p.activation_bytes)
        ax.plot(
            x,
            p.macs / p.npu_seconds / 1e9,
            marker,
            ms=9,
            label=f"predicted, M={m} ({'decode' if m == 1 else 'prefill'})",
        )
        if measured and m == 1 and measured.get("npu_cycles_per_token"):
            achieved = p.macs / (measured["npu_cycles_per_token"] / board.clock_hz) / 1e9
            where = measured.get("device", "sim")
            ax.plot(x, achieved, "x", color="red", ms=12, mew=2, label=f"measured on {where}, decode")
    ax.set_xlabel("arithmetic intensity (MACs per streamed byte)")
    ax.set_ylabel("attainable GMAC/s")
    ax.set_title(f"zynpu tile R={manifest.rows} L={manifest.lanes} on {board.name} @ {board.clock_mhz:g} MHz")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)

    p = predict(cfg, board, manifest)
    labels = ["tile stream", "host per-job"]
    values = [p.npu_seconds * 1e3, p.host_seconds * 1e3]
    bar.barh(labels, values, color=["tab:blue", "tab:orange"])
    bar.set_xlabel("ms per decoded token (predicted)")
    who = f"{model_name} on " if model_name else ""
    headline = f"{who}{board.name}: {p.tokens_per_second:.1f} tok/s predicted"
    bar.set_title(f"{headline}\nbound: {p.bound}", fontsize=10)
    bar.set_xlim(0, max(values) * 1.45)  # room for the value labels right of the bars
    for i, v in enumerate(values):
        bar.text(v, i, f" {v:.2f} ms", va="center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def host_budget_for(no_host: Prediction, fraction: float) -> float:
    """Host seconds per token (board CPU, serial with the stream, as `predict` adds them) that still reach
    `fraction` of the sustained DDR roofline, from a prediction made without host time; 0 when the
    stream alone cannot."""
    token_s = no_host.bytes_per_token / (fraction * no_host.ddr_sustained_gbytes_per_s * 1e9)
    return max(0.0, token_s - no_host.stream_seconds - no_host.host_seconds)


def board_fields(board: str, spec: BoardSpec, on_board: Prediction, no_host: Prediction) -> dict[str, Any]:
    """The board prediction's fields as every decode bench reports them (the Python and the native host),
    so the JSON keys of both benches are one list."""
    from .overlays.boards import board_facts

    return {
        f"predicted_{board}_tokens_per_second": on_board.tokens_per_second,
        f"predicted_{board}_host_time_share": on_board.host_time_share,
        f"predicted_{board}_bound": on_board.bound,
        f"predicted_{board}_weight_ports": on_board.weight_ports,
        f"predicted_{board}_host_us_per_token": on_board.host_seconds * 1e6,
        "predicted_bytes_per_token": on_board.bytes_per_token,
        "weight_bits_per_param": on_board.weight_bits_per_param,
        "ddr_roofline_fraction": on_board.ddr_roofline_fraction,
        "ddr_peak_fraction": on_board.ddr_peak_fraction,
        "ddr_roofline_fraction_without_host": no_host.ddr_roofline_fraction,
        # The most host time per token (on the board's CPU) that still reaches 0.90 of sustained DDR:
        f"{board}_host_us_per_token_for_0_90": host_budget_for(no_host, 0.90) * 1e6,
        "ddr_sustained_gbytes_per_s": spec.sustained_gbytes_per_s,
        "ddr_sustained_source": board_facts(board)["ddr_sustained_source"],
    }
