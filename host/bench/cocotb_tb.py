"""cocotb testbench for `zynpu bench device`: one decode job driven by cocotbext-axi, timed.

Run by `cocotb_speed` through the cocotb runner; it writes cycles and wall time to the JSON file
named by ZYNPU_BENCH_OUT.
"""

from __future__ import annotations

import json
import logging
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from zynpu.tile import packing, reference
from zynpu.tile.manifest import load_manifest


@cocotb.test()
async def decode_job(dut) -> None:
    manifest = load_manifest(os.environ.get("ZYNPU_MANIFEST") or None)
    k, n = int(os.environ["ZYNPU_BENCH_K"]), int(os.environ["ZYNPU_BENCH_N"])
    cocotb.start_soon(Clock(dut.aclk, 4, unit="ns").start())
    source = AxiStreamSource(
        AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn, reset_active_level=False
    )
    sink = AxiStreamSink(
        AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn, reset_active_level=False
    )
    for bus in (source, sink):
        bus.log.setLevel(logging.WARNING)  # it would print every 1 MiB frame
    for name in ("awvalid", "wvalid", "arvalid", "bready", "rready"):
        getattr(dut, f"s_axi_{name}").value = 0
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 4)
    dut.aresetn.value = 1
    await RisingEdge(dut.aclk)

    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(1, k), dtype=np.int8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    packet = packing.pack_job(manifest, x, w)
    cycles = 0

    async def count() -> None:
        nonlocal cycles
        while True:
            await RisingEdge(dut.aclk)
            cycles += 1

    counter = cocotb.start_soon(count())
    start = time.perf_counter()
    await source.send(AxiStreamFrame(packet.tobytes()))
    frame = await sink.recv()
    wall = time.perf_counter() - start
    counter.cancel()
    shape = packing.check_shape(manifest, 1, k, n)
    y = packing.unpack_results(np.frombuffer(bytes(frame.tdata), dtype=np.uint8), shape)
    assert np.array_equal(y, reference.matmul(x, w)), "cocotb run disagrees with the reference"
    with open(os.environ["ZYNPU_BENCH_OUT"], "w") as out:
        json.dump({"cycles": cycles, "wall": wall}, out)
