"""Export the tile's interface (spec + register map + port names) as one JSON manifest with a hash.

The manifest is what the host, the overlays and the tests read. `hw/manifest.json` is the committed
export of the default configuration (a test keeps it equal to a fresh export); other configurations
are exported on demand (`zynpu hw manifest --rows 4`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import regmap, spec

TOP_NAME = "zynpu_tile"
DEFAULT_MANIFEST_PATH = Path(__file__).with_name("manifest.json")

# Port names follow Xilinx interface inference so Vivado packages the module reference's buses
# without hand edits (AXI4-Stream `s_axis_*`/`m_axis_*`, AXI4-Lite `s_axi_*`, `aclk`, `aresetn`).
AXIS_SIGNALS = ("tdata", "tvalid", "tready", "tlast", "tkeep")
AXIL_SIGNALS = (
    "awaddr", "awprot", "awvalid", "awready",
    "wdata", "wstrb", "wvalid", "wready",
    "bresp", "bvalid", "bready",
    "araddr", "arprot", "arvalid", "arready",
    "rdata", "rresp", "rvalid", "rready",
)  # fmt: skip


def _ports() -> dict[str, Any]:
    return {
        "clock": "aclk",
        "reset": "aresetn",
        "reset_active_low": True,
        "interrupt": "irq",
        "axis_in": {"prefix": "s_axis", "signals": [f"s_axis_{s}" for s in AXIS_SIGNALS]},
        "axis_out": {"prefix": "m_axis", "signals": [f"m_axis_{s}" for s in AXIS_SIGNALS]},
        "axi_lite": {"prefix": "s_axi", "signals": [f"s_axi_{s}" for s in AXIL_SIGNALS]},
    }


def _layout(config: spec.TileConfig) -> dict[str, Any]:
    lanes = config.lanes
    return {
        "header": {
            "bytes": spec.HEADER_BYTES,
            "magic": spec.HEADER_MAGIC,
            "format": spec.HEADER_FORMAT,
            "fields": [asdict(f) for f in spec.HEADER_FIELDS],
        },
        "input": (
            "one packet: 1 header beat; then M rows of activations, row m in ceil(K/L) beats, byte k of "
            "the row in beat k // L, lane k % L, zero-padded; then ceil(N/L) weight blocks coded as the "
            "header's `weights` field says (weight_formats), columns >= N zero; TLAST on the last weight beat"
        ),
        "weight_formats": _weight_formats(config),
        "output": (
            "one packet of int32, little-endian: for each weight block j, for each row m < M, "
            f"{spec.OUTPUT_BEATS_PER_ROW} beats holding Y[m, j*L + l] for l in 0..L-1 (columns >= N are 0); "
            "TLAST on the last beat"
        ),
        "error_packet": (
            "a failed job ends its output packet with one beat: word 0 = error magic, word 1 = error code, "
            "word 2 = index of the input beat that raised it; TLAST set. Result beats before it are void"
        ),
        "error_magic": spec.ERROR_MAGIC,
        "output_beats_per_row": spec.OUTPUT_BEATS_PER_ROW,
        "max_n": spec.MAX_N,
        "lanes": lanes,
    }


def _weight_formats(config: spec.TileConfig) -> dict[str, Any]:
    group = spec.INT4_GROUP
    return {
        "int8": {
            "code": int(spec.WeightFormat.INT8),
            "weight_bits": 8,
            "weights_per_beat": config.lanes,
            "block_beats": "K",
            "doc": "block j: K beats, beat k carrying W[j*L + l, k] (int8) in byte l",
        },
        "int4": {
            "code": int(spec.WeightFormat.INT4),
            "weight_bits": 4,
            "weights_per_beat": spec.INT4_PER_LANE * config.lanes,
            "group": group,
            "scale_bits": spec.INT4_SCALE_BITS,
            "scale_signed": False,
            "block_beats": "ceil(K/group) + ceil(K/2)",
            "doc": (
                f"block j: for each group g of {group} k values (the last may be shorter), one scale beat "
                "(byte l = unsigned 8-bit scale S[j*L + l, g]), then ceil(k_g/2) weight beats; weight beat t "
                "of group g carries in byte l W[j*L + l, k] for k = g*group + 2t (low nibble) and k + 1 "
                "(high nibble), int4 two's complement, zero past K. Y[m, n] = sum_g S[n, g] * sum_(k in g) "
                "X[m, k] * W[n, k], exact in int32"
            ),
        },
        "accumulator_bound": config.accumulator_bound(),
    }


def _cycle_model() -> dict[str, Any]:
    """The cycle model's constants, the same for every configuration: M, K and L are the variables."""
    return {
        "doc": (
            "busy cycles of one job when the input never starves and the output never stalls: "
            "1 header beat + M * ceil(K/L) activation beats + block_beats (K for int8, ceil(K/group) + "
            "ceil(K/2) for int4) per weight block, where block j's last beat waits until block j-1's "
            "results have drained: blocks are max(block_beats, drain_gap) cycles apart; after the last "
            "weight beat, tail cycles to the final output beat"
        ),
        "header_cycles": 1,
        "drain_gap_per_row": 5,
        "drain_gap_const": 8,
        "tail_per_row": 5,
        "tail_const": 7,
    }


def build_manifest(config: spec.TileConfig = spec.DEFAULT_CONFIG) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": TOP_NAME,
        "rtl_version": ".".join(map(str, spec.RTL_VERSION)),
        "vlnv": f"xilinx.com:module_ref:{TOP_NAME}:1.0",
        "tile": {
            "rows": config.rows,
            "lanes": config.lanes,
            "max_k": config.max_k,
            "stream_bits": config.stream_bits,
            "acc_bits": config.acc_bits,
            "features": int(spec.FEATURES),
        },
        "id_magic": spec.ID_MAGIC,
        "axi_lite": {"addr_bits": spec.AXIL_ADDR_BITS, "data_bits": spec.AXIL_DATA_BITS},
        "ports": _ports(),
        "registers": [
            {
                "name": r.name,
                "offset": r.offset,
                "access": r.access,
                "doc": r.doc,
                "fields": [asdict(f) for f in r.fields],
            }
            for r in regmap.REGISTERS
        ],
        "counters": list(regmap.COUNTERS),
        "errors": {e.name: int(e) for e in spec.ErrorCode},
        "layout": _layout(config),
        "cycle_model": _cycle_model(),
    }
    digest = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    return {**body, "config_hash": digest, "config_hash32": int(digest[:8], 16)}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def manifest_text(config: spec.TileConfig = spec.DEFAULT_CONFIG) -> str:
    return json.dumps(build_manifest(config), indent=2) + "\n"


def write_manifest(path: Path = DEFAULT_MANIFEST_PATH, config: spec.TileConfig = spec.DEFAULT_CONFIG) -> Path:
    path.write_text(manifest_text(config))
    return path
