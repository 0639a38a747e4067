"""`zynpu bench tile`: the tile's efficiency measured from RTL simulation.

decode_stream_efficiency: per weight format ("int8", "int4"), weight beats consumed per busy cycle over
a whole M=1, K=N=1024 job (header, activations, int4 scale beats and drain included).
decode_weight_bits_per_param: streamed weight bits per parameter (int4: 4 + 8/group for the scales).
prefill_mac_utilization: useful MACs / (R * L * cycles) for M=R, int8.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..device import open_device
from ..npu import Npu
from ..tile import reference

SYNTH_REPORT = Path("build/synth/report.json")


def run(device_name: str = "sim", k: int = 1024, n: int = 1024) -> dict[str, Any]:
    device = open_device(device_name)  # a cold sim build shows its progress on stderr
    npu = Npu(device)
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    packed = npu.load_weights(w)
    result: dict[str, Any] = {"device": device.name, "rows": npu.rows, "lanes": npu.lanes, "k": k, "n": n}

    x = rng.integers(-128, 128, size=(1, k), dtype=np.int8)
    y = npu.matmul(x, packed)
    assert np.array_equal(y, reference.matmul(x, w)), "decode job result differs from the reference"
    decode = npu.last
    group = npu.manifest.int4_group
    w4 = rng.integers(-8, 8, size=(n, k), dtype=np.int8)
    s4 = rng.integers(0, 256, size=(n, -(-k // group)), dtype=np.uint8)
    packed4 = npu.load_weights(w4, s4)
    y = npu.matmul(x, packed4)
    assert np.array_equal(y, reference.matmul_int4(x, w4, s4, group)), "int4 decode differs from the ref"
    decode4 = npu.last
    result["decode_cycles"] = {"int8": decode.cycles, "int4": decode4.cycles}
    result["decode_stream_efficiency"] = {
        "int8": decode.active / decode.cycles,
        "int4": decode4.active / decode4.cycles,
    }
    result["decode_weight_bits_per_param"] = {
        "int8": 8 * packed.nbytes / (n * k),
        "int4": 8 * packed4.nbytes / (n * k),
    }

    m = npu.rows
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    y = npu.matmul(x, packed)
    assert np.array_equal(y, reference.matmul(x, w)), "prefill job result differs from the reference"
    prefill = npu.last
    result["prefill_cycles"] = prefill.cycles
    result["prefill_mac_utilization"] = m * k * n / (npu.rows * npu.lanes * prefill.cycles)
    result["cycles"] = decode.cycles + decode4.cycles + prefill.cycles
    result.update(_synth_resources())
    return result


def _synth_resources() -> dict[str, Any]:
    """DSP48E2 (and friends) from `make synth`'s report, when it has been run."""
    if not SYNTH_REPORT.exists():
        return {}
    report = json.loads(SYNTH_REPORT.read_text())
    cells = report.get("resources", report)
    found = {}
    for key in ("dsp48e2", "lut", "ff", "bram36", "uram"):
        for name, value in cells.items():
            if name.lower() == key and isinstance(value, (int, float)):
                found[key] = value
    return found
