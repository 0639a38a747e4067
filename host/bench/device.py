"""`zynpu bench device`: how fast the simulator device runs, and what the Python driver costs.

Each configuration (weight format x weight ports) runs a K = N = 1024 decode job through the `Npu`
driver on the sim device (P ports: P Verilator tiles, simulated one after another in this process).
simulated_cycles: every clock of the call, summed over the ports' tiles (register accesses included).
cycles_per_cpu_second: those cycles per second of the calling thread's CPU time, which is where the
simulator and the driver run (library threads such as OpenBLAS's idle workers are not counted); on a
busy 2-core machine it is the speed an idle core would give, where cycles_per_second (wall) is not.
Each figure is the best of `repeats` jobs (the least disturbed one: on a shared machine other
processes evict the model's code and state from the caches between time slices, which costs a job
up to a third of its speed); cycles_per_cpu_second_runs lists every job's figure, to show the spread.
The top-level fields repeat the one-port int8 case, the issue's target: sim_cycles_per_cpu_second
>= 1 M.
cocotb_cycles_per_second: the same job driven by a cocotb testbench on the same Verilog and
Verilator, in the same run. driver_overhead: share of the wall time spent in Python outside the
simulator's C++.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..device.multiport import open_ports
from ..errors import UserError
from ..npu import Npu, PackedWeights
from ..tile import reference
from ..tile.manifest import load_manifest


def configuration_name(fmt: str, ports: int) -> str:
    """Key of one configuration in the report, e.g. int8x1, int4x4."""
    return f"{fmt}x{ports}"


def run(
    k: int = 1024,
    n: int = 1024,
    repeats: int = 5,
    cocotb: bool = True,
    ports: Sequence[int] = (1,),
    formats: Sequence[str] = ("int8",),
) -> dict[str, Any]:
    known = load_manifest().weight_formats  # the formats the tile's build streams
    unknown = [f for f in formats if f not in known]
    if unknown:
        raise UserError(f"unknown weight format {unknown[0]!r}; use one of {', '.join(known)}")
    if any(p < 1 for p in ports):
        raise UserError("port counts must be whole numbers >= 1")
    configurations = {
        configuration_name(fmt, p): _measure(fmt, p, k, n, repeats)
        for fmt in dict.fromkeys(formats)
        for p in dict.fromkeys(ports)
    }
    base = configurations.get(configuration_name("int8", 1)) or _measure("int8", 1, k, n, repeats)
    result: dict[str, Any] = {
        "k": k,
        "n": n,
        "job_cycles": base["job_cycles"],  # the tile's CYCLES counter: busy cycles of the job
        "simulated_cycles": base["simulated_cycles"],
        "sim_cycles_per_second": base["cycles_per_second"],
        "sim_cycles_per_cpu_second": base["cycles_per_cpu_second"],
        "driver_overhead": base["driver_overhead"],
        "configurations": configurations,
    }
    if cocotb:
        from .cocotb_speed import cocotb_cycles_per_second

        result["cocotb_cycles_per_second"] = cocotb_cycles_per_second(load_manifest(), k, n)
        result["sim_speedup"] = result["sim_cycles_per_second"] / result["cocotb_cycles_per_second"]
    return result


def _weights(npu: Npu, fmt: str, n: int, k: int, rng: np.random.Generator) -> tuple[PackedWeights, Any]:
    """Random weights packed in `fmt`, and a function giving the reference result for x."""
    if fmt == "int8":
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        return npu.pack_weights(w), lambda x: reference.matmul(x, w)
    group = npu.device.manifest.int4_group
    q = rng.integers(-8, 8, size=(n, k), dtype=np.int8)
    scales = rng.integers(0, 256, size=(n, -(-k // group)), dtype=np.uint8)
    return npu.pack_weights_int4(q, scales, group), lambda x: reference.matmul_int4(x, q, scales, group)


def _measure(fmt: str, ports: int, k: int, n: int, repeats: int) -> dict[str, Any]:
    """Speed of one configuration: the best of `repeats` decode jobs, checked against the reference."""
    with open_ports("sim", ports) as device:  # a cold build shows its progress on stderr
        tiles = getattr(device, "ports", (device,))
        npu = Npu(device)
        rng = np.random.default_rng(0)
        packed, expected = _weights(npu, fmt, n, k, rng)
        x = rng.integers(-128, 128, size=(1, k), dtype=np.int8)
        runs: list[tuple[float, float, int, float]] = []  # (wall, inside, cycles, cpu) per job
        for _ in range(max(1, repeats)):
            cycles0 = sum(t.cycles for t in tiles)
            inside0 = device.time_in_simulator
            start, cpu_start = time.perf_counter(), time.thread_time()
            y = npu.matmul(x, packed)
            wall, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
            cycles = sum(t.cycles for t in tiles) - cycles0
            runs.append((wall, device.time_in_simulator - inside0, cycles, cpu))
            if not np.array_equal(y, expected(x)):
                name = configuration_name(fmt, ports)
                raise AssertionError(f"sim {name} result differs from the reference")
        job_cycles = npu.last.cycles
    wall, inside, cycles, _ = max(runs, key=lambda r: r[2] / r[0])
    per_cpu = [r[2] / r[3] for r in runs if r[3] > 0]
    return {
        "format": fmt,
        "ports": ports,
        "job_cycles": job_cycles,  # CYCLES counters of the job, summed over the ports' tiles
        "simulated_cycles": cycles,
        "cycles_per_second": cycles / wall,
        "cycles_per_cpu_second": max(per_cpu, default=None),
        "cycles_per_cpu_second_runs": [round(v) for v in per_cpu],
        "driver_overhead": max(0.0, (wall - inside) / wall),
    }
