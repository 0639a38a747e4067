"""`zynpu bench tile`: the tile's efficiency measured from RTL simulation.

decode_stream_efficiency: weight beats consumed per busy cycle over a whole M=1, K=N=1024 job (header,
activations and drain included). prefill_mac_utilization: useful MACs / (R * L * cycles) for M=R.
decode_stream_efficiency_by_ports: the same job split over P weight ports (P tiles, each with its own
DMA; `zynpu.device.multiport`), weight beats over the summed busy cycles of every port's tile.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..device import open_device
from ..device.multiport import open_ports
from ..npu import Npu
from ..tile import reference

SYNTH_REPORT = Path("build/synth/report.json")


def run(
    device_name: str = "sim", k: int = 1024, n: int = 1024, ports: tuple[int, ...] = (2, 4)
) -> dict[str, Any]:
    with open_device(device_name) as device:  # a cold sim build shows its progress on stderr
        npu = Npu(device)
        rng = np.random.default_rng(0)
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        packed = npu.pack_weights(w)
        result: dict[str, Any] = {
            "device": device.name, "rows": npu.rows, "lanes": npu.lanes, "k": k, "n": n
        }  # fmt: skip

        x = rng.integers(-128, 128, size=(1, k), dtype=np.int8)
        y = npu.matmul(x, packed)
        assert np.array_equal(y, reference.matmul(x, w)), "decode job result differs from the reference"
        decode = npu.last
        result["decode_cycles"] = decode.cycles
        result["decode_stream_efficiency"] = decode.active / decode.cycles

        m = npu.rows
        x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
        y = npu.matmul(x, packed)
        assert np.array_equal(y, reference.matmul(x, w)), "prefill job result differs from the reference"
        prefill = npu.last
        result["prefill_cycles"] = prefill.cycles
        result["prefill_mac_utilization"] = m * k * n / (npu.rows * npu.lanes * prefill.cycles)
        result["cycles"] = decode.cycles + prefill.cycles
        result["decode_stream_efficiency_by_ports"] = {"1": result["decode_stream_efficiency"]} | {
            str(p): _port_efficiency(device_name, p, w) for p in ports
        }
    result.update(_synth_resources())
    return result


def _port_efficiency(device_name: str, ports: int, w: np.ndarray) -> float:
    """Weight beats per busy cycle of an M=1 job over `ports` tiles (each port's columns in parallel)."""
    with open_ports(device_name, ports) as device:
        npu = Npu(device)
        x = np.random.default_rng(1).integers(-128, 128, size=(1, w.shape[1]), dtype=np.int8)
        y = npu.matmul(x, npu.pack_weights(w))
        assert np.array_equal(y, reference.matmul(x, w)), f"{ports}-port result differs from the reference"
        return npu.last.active / npu.last.cycles


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
