"""The warning before a long simulator run: its estimate is the tile's exact cycle count over the
simulator's clock rate, and it appears only where the run takes more than a minute."""

from __future__ import annotations

import pytest

from zynpu import estimate
from zynpu.roofline import board_spec, model_config, predict


def test_estimate_is_cycles_over_simulator_speed() -> None:
    cycles = predict(model_config("tiny-qwen3"), board_spec("kv260")).npu_cycles
    assert estimate.sim_seconds_per_token("tiny-qwen3") == pytest.approx(
        cycles / estimate.SIM_CYCLES_PER_SECOND
    )
    assert estimate.sim_seconds_per_token("/no/such/model.gguf") is None


def test_warns_only_for_long_sim_runs(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert estimate.warn_if_slow("tiny-qwen3", "sim", 8) < estimate.WARN_ABOVE_SECONDS
    assert capsys.readouterr().err == ""  # the toy model decodes in well under a second per token
    monkeypatch.setattr(estimate, "SIM_CYCLES_PER_SECOND", 100.0)  # a simulator 10,000x slower
    total = estimate.warn_if_slow("tiny-qwen3", "sim", 8)
    err = capsys.readouterr().err
    assert total > estimate.WARN_ABOVE_SECONDS and "--device numpy" in err and "8 tokens" in err
    assert estimate.warn_if_slow("tiny-qwen3", "numpy", 8) is None  # host engines are not simulated
