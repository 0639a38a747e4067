"""`zynpu bench decode --host native` on the tiny model: the same tokens as the Python host, and the
fields the roofline needs, from a measurement (replayed tokens) rather than a constant."""

from __future__ import annotations

import pytest

from zynpu.bench import decode
from zynpu.errors import UserError
from zynpu.roofline import A53_COMPILED_SLOWDOWN


def test_native_bench_generates_the_python_hosts_tokens_and_reports_host_time() -> None:
    python = decode.run(device_name="ref", tokens=4, ports=2)
    native = decode.run(device_name="ref", tokens=4, ports=2, host="native", repeat=2)
    assert native["generated_token_ids"] == python["generated_token_ids"]
    assert native["host"] == "native" and native["a53_slowdown"] == A53_COMPILED_SLOWDOWN
    assert native["tile_jobs_per_token"] == python["tile_jobs_per_token"]
    assert native["predicted_npu_cycles_per_token"] == python["predicted_npu_cycles_per_token"]
    assert 0 < native["host_token_us"] < python["host_token_us"]
    assert len(native["host_token_us_runs"]) == 2
    assert set(native["host_profile_us_per_token"]) >= {"rms_norm", "quantize", "attention", "lm_head_argmax"}
    board_host = native["predicted_kv260_host_us_per_token"]
    assert board_host >= native["host_us_per_token"] * A53_COMPILED_SLOWDOWN
    assert 0 < native["ddr_roofline_fraction"] <= 1
    assert native["ddr_peak_fraction"] < native["ddr_roofline_fraction"]


def test_native_host_refuses_other_devices_and_the_python_profiler() -> None:
    with pytest.raises(UserError, match="native ref ports"):
        decode.run(device_name="sim", tokens=1, host="native")
    with pytest.raises(UserError, match="profile"):
        decode.run(device_name="ref", tokens=1, host="native", profile=True)
    with pytest.raises(UserError, match="unknown host"):
        decode.run(device_name="ref", tokens=1, host="fortran")


def test_cli_runs_the_native_host(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from zynpu.cli import main

    code = main(
        ["bench", "decode", "--device", "ref", "--ports", "2", "--tokens", "2", "--host", "native", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["host"] == "native" and out["ports"] == 2 and len(out["generated_token_ids"]) == 3
