"""Simulate the generated `zynpu_tile` Verilog with cocotb on Verilator and Icarus (see tb_tile.py).

Every run builds a simulator (a minute or more) and simulates thousands of cycles per test, so the
whole module is `slow` (`make test-slow`); the default suite still runs the RTL bit-exact through the
`sim` device tests (tests/device). The first three cover every testbench once per simulator with small
random cases; the sweeps run many more random jobs, seeds and a second tile configuration.
"""

from __future__ import annotations

import pytest

pytest.importorskip("amaranth", reason="generates the RTL with Amaranth (pip install .[sim])")
import tile_sim

from zynpu.hw import spec

ALL_TESTS = (
    "test_smoke",
    "test_cycle_model",
    "test_random_traffic",
    "test_error_paths",
    "test_soft_reset",
    "test_aresetn",
    "test_registers",
)
SMALL = spec.TileConfig(rows=4, lanes=16, max_k=1024)
pytestmark = pytest.mark.slow


def _need(sim: str) -> None:
    reason = tile_sim.unavailable(sim)
    if reason:
        pytest.skip(reason)


def test_verilator_all() -> None:
    """Every testbench on Verilator with the default configuration."""
    _need("verilator")
    tile_sim.run("verilator", ALL_TESTS, name="all")


def test_icarus_representative() -> None:
    """A representative subset on Icarus: a second simulator's event semantics, same expectations."""
    _need("icarus")
    tile_sim.run(
        "icarus",
        ("test_smoke", "test_error_paths", "test_registers"),
        env={"ZYNPU_SEED": "7"},
        name="repr",
    )


def test_verilator_small_config() -> None:
    """A non-default build (rows=4, max_k=1024): nothing in the RTL or the tests assumes the defaults."""
    _need("verilator")
    tile_sim.run(
        "verilator",
        ("test_smoke", "test_cycle_model", "test_random_traffic", "test_error_paths", "test_registers"),
        config=SMALL,
        env={"ZYNPU_SEED": "3"},
        name="small",
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_verilator_random_sweep(seed: int) -> None:
    """Many random jobs, bigger K, heavier gaps and backpressure; plus all error paths, per seed."""
    _need("verilator")
    env = {"ZYNPU_SEED": str(seed), "ZYNPU_JOBS": "120", "ZYNPU_PAUSE": "0.7", "ZYNPU_K_CAP": "600"}
    tile_sim.run("verilator", ("test_random_traffic", "test_error_paths"), env=env, name=f"sweep{seed}")


@pytest.mark.slow
def test_verilator_max_k() -> None:
    """The largest K of the build, off the lane multiple by nothing: the activation memories fill up."""
    _need("verilator")
    env = {"ZYNPU_SEED": "21", "ZYNPU_JOBS": "6", "ZYNPU_K_CAP": str(SMALL.max_k)}
    tile_sim.run("verilator", ("test_random_traffic",), config=SMALL, env=env, name="maxk")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [31, 32])
def test_icarus_all(seed: int) -> None:
    _need("icarus")
    tile_sim.run("icarus", ALL_TESTS, env={"ZYNPU_SEED": str(seed)}, name=f"all{seed}")
