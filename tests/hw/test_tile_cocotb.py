"""Simulate the generated `zynpu_tile` Verilog with cocotb on Verilator and Icarus (see tb_tile.py).

The list of cocotb tests is read from the testbench (`tile_sim.testbench_tests`), so a test added there
runs in every "all" run below without being listed again. The default suite runs a short smoke on
one simulator; the whole testbench on both simulators, the second tile configuration and the random
sweeps are `slow` (minutes each; `make test-slow`, run by CI).
"""

from __future__ import annotations

import pytest

pytest.importorskip("amaranth", reason="generates the RTL with Amaranth (pip install .[sim])")

from zynpu.hw import spec

from . import tile_sim

ALL_TESTS = tile_sim.testbench_tests()
SMALL = spec.TileConfig(rows=4, lanes=16, max_k=1024)


def _pick(*names: str) -> tuple[str, ...]:
    """A subset of the testbench's tests, refusing names it does not define."""
    unknown = sorted(set(names) - set(ALL_TESTS))
    assert not unknown, f"not cocotb tests of tb_tile.py: {unknown}"
    return names


def _need(sim: str) -> None:
    reason = tile_sim.unavailable(sim)
    if reason:
        pytest.skip(reason)


def test_the_test_list_comes_from_the_testbench() -> None:
    source = (
        "import cocotb\n"
        "@cocotb.test()\nasync def test_a(dut): pass\n"
        "@cocotb.test\nasync def test_b(dut): pass\n"
        "@cocotb.test(timeout_time=1)\nasync def test_c(dut): pass\n"
        "async def test_helper_without_decorator(dut): pass\n"
        "@other.test()\nasync def test_d(dut): pass\n"
    )
    assert tile_sim.testbench_tests(source) == ("test_a", "test_b", "test_c")
    assert {"test_smoke", "test_error_paths", "test_registers"} <= set(ALL_TESTS)
    # Every coroutine named like a test in the testbench is one cocotb collects.
    undecorated = [
        line.split("(")[0].removeprefix("async def ")
        for line in tile_sim.TESTBENCH.read_text().splitlines()
        if line.startswith("async def test_")
    ]
    assert sorted(undecorated) == sorted(ALL_TESTS)


def test_icarus_smoke() -> None:
    """A short default check of the generated Verilog under cocotb: one job bit-exact, the registers."""
    _need("icarus")
    tile_sim.run(
        "icarus",
        _pick("test_smoke", "test_registers"),
        env={"ZYNPU_SEED": "7"},
        name="smoke",
    )


@pytest.mark.slow
def test_verilator_all() -> None:
    """Every testbench on Verilator with the default configuration."""
    _need("verilator")
    tile_sim.run("verilator", ALL_TESTS, name="all")


@pytest.mark.slow
def test_verilator_small_config() -> None:
    """A non-default build (rows=4, max_k=1024): nothing in the RTL or the tests assumes the defaults."""
    _need("verilator")
    tile_sim.run(
        "verilator",
        _pick("test_smoke", "test_cycle_model", "test_random_traffic", "test_error_paths", "test_registers"),
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
    tile_sim.run(
        "verilator", _pick("test_random_traffic", "test_error_paths"), env=env, name=f"sweep{seed}"
    )


@pytest.mark.slow
def test_verilator_max_k() -> None:
    """The largest K of the build, off the lane multiple by nothing: the activation memories fill up."""
    _need("verilator")
    env = {"ZYNPU_SEED": "21", "ZYNPU_JOBS": "6", "ZYNPU_K_CAP": str(SMALL.max_k)}
    tile_sim.run("verilator", _pick("test_random_traffic"), config=SMALL, env=env, name="maxk")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [31, 32])
def test_icarus_all(seed: int) -> None:
    """Every testbench on Icarus: a second simulator's event semantics, same expectations."""
    _need("icarus")
    tile_sim.run("icarus", ALL_TESTS, env={"ZYNPU_SEED": str(seed)}, name=f"all{seed}")
