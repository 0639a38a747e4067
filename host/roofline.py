"""Predict decode tokens/s on a board from first principles, and say which bound applies.

Batch-1 decode streams every weight once per token. On zynpu the weights flow DDR -> HP port -> AXI DMA
-> tile at one 16-byte beat per cycle at most, so the tile's cycles per token are the weight beats
plus each job's fixed cost (header, activations, pipeline tail), all from the manifest's cycle model.
The host adds a fixed cost per tile job (a DMA launch from Python on the A53); the KV cache is read by
the CPUs from the same DDR. Tokens/s = 1 / (NPU time + host time), since the host waits on each job.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .tile import packing, reference
from .tile.manifest import TileManifest, load_manifest

# Host cost per tile job on a Cortex-A53 under PYNQ: quantize the activations, write header and
# activations, four DMA register writes, a poll loop and a STATUS read, unpack the results. Tens of
# microseconds; override with --host-job-us once measured on the board (`zynpu bench decode --device board`).
DEFAULT_HOST_JOB_S = 50e-6
DEFAULT_CONTEXT = 256


@dataclass(frozen=True)
class BoardSpec:
    name: str
    clock_mhz: float
    ddr_gbytes_per_s: float

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6


def board_spec(name: str) -> BoardSpec:
    """The board's clock target and DDR bandwidth, from overlays/<board>/board.tcl (their one home)."""
    from .overlays.build_overlay import read_board

    values = read_board(name)
    return BoardSpec(name, float(values["clock_mhz"]), float(values["ddr_gbytes_per_s"]))


@dataclass(frozen=True)
class Job:
    """One tile job of a decode step: y (M, N) = x (M, K) @ W.T."""

    name: str
    m: int
    k: int
    n: int


def decode_jobs(cfg: Any, m: int = 1) -> list[Job]:
    """The tile jobs of one decode step: QKV, O, gate+up, down per layer, then the LM head."""
    nq, nkv = cfg.n_heads * cfg.head_dim, cfg.n_kv_heads * cfg.head_dim
    per_layer = [
        Job("qkv", m, cfg.hidden_size, nq + 2 * nkv),
        Job("o", m, nq, cfg.hidden_size),
        Job("gate_up", m, cfg.hidden_size, 2 * cfg.intermediate_size),
        Job("down", m, cfg.intermediate_size, cfg.hidden_size),
    ]
    return per_layer * cfg.n_layers + [Job("lm_head", m, cfg.hidden_size, cfg.vocab_size)]


def _tile_jobs(job: Job, manifest: TileManifest) -> list[packing.JobShape]:
    """The hardware jobs a logical job becomes: M tiled over rows, K split at max_k (as `Npu` does)."""
    shapes = []
    for k0 in range(0, job.k, manifest.max_k):
        k = min(manifest.max_k, job.k - k0)
        for m0 in range(0, job.m, manifest.rows):
            shapes.append(packing.JobShape(min(manifest.rows, job.m - m0), k, job.n, manifest.lanes))
    return shapes


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def predict(
    cfg: Any,
    board: BoardSpec,
    manifest: TileManifest | None = None,
    *,
    host_job_s: float = DEFAULT_HOST_JOB_S,
    context: int = DEFAULT_CONTEXT,
    m: int = 1,
) -> Prediction:
    """Per-token cost of decode (m = 1) or of one prefill chunk of m tokens."""
    manifest = manifest or load_manifest()
    shapes = [s for job in decode_jobs(cfg, m) for s in _tile_jobs(job, manifest)]
    cycles = sum(reference.job_cycles(manifest, s) for s in shapes)
    weight_bytes = sum(s.weight_bytes for s in shapes)
    act_bytes = sum(s.prefix_beats * s.lanes + s.output_bytes for s in shapes)
    kv_bytes = (
        2 * cfg.n_layers * context * cfg.n_kv_heads * cfg.head_dim * 4
    )  # float32 K and V, read by the CPU
    npu_s = cycles / board.clock_hz
    host_s = len(shapes) * host_job_s
    ddr_s = (weight_bytes + act_bytes + kv_bytes) / (board.ddr_gbytes_per_s * 1e9)
    token_s = max(npu_s, ddr_s) + host_s
    parts = {"HP-port stream (tile cycles)": npu_s, "DDR bandwidth": ddr_s, "host per-job overhead": host_s}
    bound = max(parts, key=parts.__getitem__)
    macs = sum(job.m * job.k * job.n for job in decode_jobs(cfg, m))
    return Prediction(
        board.name,
        board.clock_mhz,
        len(shapes),
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
        macs,
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
