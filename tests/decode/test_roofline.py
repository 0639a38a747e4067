"""The roofline prediction against the RTL's own counters, and the `zynpu roofline` command."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tokenizers", reason="needs the model extra (pip install .[model])")

from zynpu.bench import decode
from zynpu.cli import main
from zynpu.roofline import board_spec, decode_jobs, model_config, predict


@pytest.mark.parametrize("device", ["ref", "sim"])
def test_predicted_cycles_match_the_tile_counters(device: str) -> None:
    result = decode.run(device_name=device, tokens=3)
    assert result["tile_jobs_per_token"] == 4 * model_config("tiny-qwen3").n_layers + 1
    assert result["npu_cycles_per_token"] == result["predicted_npu_cycles_per_token"]
    assert result["roofline_error"] == 0.0
    # Decode is one weight beat per cycle but for each job's header, activations and tail.
    assert 0.9 < result["decode_stream_efficiency"] < 1.0
    assert result["weight_bytes_per_token"] <= result["bytes_per_token"]


def test_bound_moves_with_the_host_cost() -> None:
    cfg = model_config("tiny-qwen3")
    board = board_spec("kv260")
    fast_host = predict(cfg, board, host_job_s=1e-6)
    slow_host = predict(cfg, board, host_job_s=1e-3)
    assert fast_host.bound.startswith("HP-port")
    assert slow_host.bound == "host per-job overhead"
    assert slow_host.tokens_per_second < fast_host.tokens_per_second
    assert fast_host.npu_cycles == slow_host.npu_cycles  # the tile's share does not depend on the host


def test_weight_bytes_are_every_parameter_once_padded_to_lanes() -> None:
    cfg = model_config("tiny-qwen3")
    p = predict(cfg, board_spec("kv260"))
    unpadded = sum(job.k * job.n for job in decode_jobs(cfg))
    assert unpadded <= p.weight_bytes < unpadded * 1.1


def test_ultra96_has_less_bandwidth_than_kv260() -> None:
    assert board_spec("ultra96v2").ddr_gbytes_per_s < board_spec("kv260").ddr_gbytes_per_s
    with pytest.raises(Exception, match="unknown board"):
        board_spec("pynq-z1")


def test_roofline_command_prints_json_and_draws(tmp_path, capsys) -> None:
    png = tmp_path / "roofline.png"
    assert main(["roofline", "--model", "tiny-qwen3", "--board", "zcu104", "--json", "--plot", str(png)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    data = json.loads(first)
    assert data["board"] == "zcu104" and data["tokens_per_second"] > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_roofline_command_names_a_missing_model(capsys) -> None:
    assert main(["roofline", "--model", "/nonexistent/model.gguf"]) == 2
    assert "no such model" in capsys.readouterr().err
