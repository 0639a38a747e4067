"""`zynpu bench device`: how fast the simulator device runs, and what the Python driver costs.

sim_cycles_per_second: simulated tile cycles per wall second over a K = N = 1024 decode job run
through the `Npu` driver (sim_cycles_per_cpu_second: the same per CPU second, for loaded machines).
cocotb_cycles_per_second: the same job driven by a cocotb testbench on the same Verilog and
Verilator, in the same run. driver_overhead: share of the sim job's wall time spent in Python outside
the simulator's C++.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..device import open_device
from ..npu import Npu
from ..tile import reference


def run(k: int = 1024, n: int = 1024, repeats: int = 3, cocotb: bool = True) -> dict[str, Any]:
    with open_device("sim") as device:  # a cold build shows its progress on stderr
        npu = Npu(device)
        rng = np.random.default_rng(0)
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        x = rng.integers(-128, 128, size=(1, k), dtype=np.int8)
        packed = npu.pack_weights(w)
        best: tuple[float, float, int, float] | None = None
        for _ in range(repeats):
            cycles0, inside0 = device.cycles, device.time_in_simulator
            start, cpu_start = time.perf_counter(), time.process_time()
            y = npu.matmul(x, packed)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            inside = device.time_in_simulator - inside0
            cycles = device.cycles - cycles0
            if best is None or cycles / wall > best[2] / best[0]:
                best = (wall, inside, cycles, cpu)
    assert best is not None
    assert np.array_equal(y, reference.matmul(x, w)), "sim result differs from the reference"
    wall, inside, cycles, cpu = best
    result: dict[str, Any] = {
        "k": k,
        "n": n,
        "job_cycles": npu.last.cycles,  # the tile's CYCLES counter: busy cycles of the job
        "simulated_cycles": cycles,  # every clock of the call, register accesses included
        "sim_cycles_per_second": cycles / wall,
        # The same run per second of this process's CPU time: what the wall figure would be on an idle
        # core (on a busy 2-core machine the two differ by the share of the core the job got).
        "sim_cycles_per_cpu_second": cycles / cpu if cpu > 0 else None,
        "driver_overhead": max(0.0, (wall - inside) / wall),
    }
    if cocotb:
        from .cocotb_speed import cocotb_cycles_per_second

        result["cocotb_cycles_per_second"] = cocotb_cycles_per_second(device.manifest, k, n)
        result["sim_speedup"] = result["sim_cycles_per_second"] / result["cocotb_cycles_per_second"]
    return result
