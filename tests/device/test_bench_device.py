"""`zynpu bench device`: the measurement runs a real job and reports what it measured.

No speed is asserted here (targets live in `make bench`); the tests check that the job ran on the RTL,
that its cycle count is the tile's cycle model, and that the report is complete and consistent.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("amaranth", reason="the measurements run the RTL on the sim device (pip install .[sim])")
from zynpu.bench import device as bench_device
from zynpu.cli import main as zynpu_main
from zynpu.errors import UserError
from zynpu.npu import port_columns
from zynpu.tile import reference
from zynpu.tile.manifest import load_manifest
from zynpu.tile.packing import check_shape


def test_sim_measurement_counts_the_cycle_model():
    result = bench_device.run(k=64, n=48, repeats=2, cocotb=False)
    manifest = load_manifest()
    assert result["job_cycles"] == reference.job_cycles(manifest, check_shape(manifest, 1, 64, 48))
    assert result["simulated_cycles"] > result["job_cycles"]  # plus the driver's register accesses
    assert result["sim_cycles_per_second"] > 0 and result["sim_cycles_per_cpu_second"] > 0
    assert 0.0 <= result["driver_overhead"] < 1.0
    assert "cocotb_cycles_per_second" not in result and "sim_speedup" not in result


def test_each_configuration_counts_its_ports_and_format():
    """int4 over 2 ports: every port's tile clocks the cycle model of its share of the columns."""
    manifest = load_manifest()
    result = bench_device.run(k=128, n=48, repeats=1, cocotb=False, ports=(1, 2), formats=("int8", "int4"))
    configs = result["configurations"]
    assert set(configs) == {"int8x1", "int8x2", "int4x1", "int4x2"}
    for name, config in configs.items():
        fmt, ports = config["format"], config["ports"]
        assert name == f"{fmt}x{ports}"
        share = [n1 - n0 for n0, n1 in port_columns(48, manifest.lanes, ports)]
        model = sum(reference.job_cycles(manifest, check_shape(manifest, 1, 128, n, fmt)) for n in share)
        assert config["job_cycles"] == model, name
        assert config["simulated_cycles"] > config["job_cycles"]  # plus the register accesses
        assert config["cycles_per_cpu_second"] > 0
    assert configs["int4x1"]["job_cycles"] < configs["int8x1"]["job_cycles"]  # half the weight beats
    assert result["sim_cycles_per_cpu_second"] == configs["int8x1"]["cycles_per_cpu_second"]


def test_unknown_format_is_a_user_error():
    with pytest.raises(UserError, match="int2"):
        bench_device.run(k=32, n=16, repeats=1, cocotb=False, formats=("int2",))


def test_cli_json_is_one_object_on_stdout(capsys):
    assert zynpu_main(["bench", "device", "--no-cocotb", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    result = json.loads(out[0])
    assert result["k"] == result["n"] == 1024 and result["job_cycles"] > 1024 * 1024 // 16


@pytest.mark.slow
def test_cocotb_comparison_runs_the_same_job():
    result = bench_device.run(k=32, n=32, repeats=1, cocotb=True)
    assert result["cocotb_cycles_per_second"] > 0
    assert result["sim_speedup"] == pytest.approx(
        result["sim_cycles_per_second"] / result["cocotb_cycles_per_second"]
    )


def test_cli_device_takes_port_and_format_lists_decode_one_port_count(capsys):
    assert zynpu_main(["bench", "decode", "--ports", "1,2", "--json"]) == 2
    assert "one port count" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse: the format list is checked when parsed
        zynpu_main(["bench", "device", "--no-cocotb", "--format", "int8,int3", "--json"])
    assert stop.value.code == 2 and "int3" in capsys.readouterr().err
