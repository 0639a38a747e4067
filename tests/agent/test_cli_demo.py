"""`zynpu agent run|eval|trace` through argparse, and the end-to-end demo (sim radio + NPU device)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

pytest.importorskip("tokenizers", reason="needs the model extra (pip install .[model])")

from zynpu.agent import cli, demo


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="zynpu")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_run_then_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(tmp_path)]
    assert run_cli(["agent", "run", "remember door is 4711", "--device", "numpy", "--json", *home]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["end_reason"] == "answer" and out["answer"] == "stored door"
    assert out["steps"][0]["output"] == '{"tool":"memory_set","args":{"key":"door","value":"4711"}}'
    assert run_cli(["agent", "run", "what is door", "--device", "numpy", "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out)["answer"] == "door is 4711"  # memory persisted in sqlite
    assert run_cli(["agent", "trace", "last", *home]) == 0
    text = capsys.readouterr().out
    assert "invoke_agent" in text and "memory_get" in text and "execute_tool" in text
    assert run_cli(["agent", "trace", out["session"], "--json", *home]) == 0
    spans = json.loads(capsys.readouterr().out)
    assert {s["attributes"]["gen_ai.operation.name"] for s in spans} == {
        "invoke_agent",
        "chat",
        "execute_tool",
    }


def test_eval_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["agent", "eval", "--json", "--device", "numpy", "--tasks", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["tasks"], report["device"], report["suite"], report["model"]) == (
        3,
        "numpy",
        "honest",
        "model",
    )
    assert "per_task" not in report and set(report["baseline"]) == {"name", "task_success", "by_category"}
    assert report["gap_over_baseline"] == round(
        report["task_success"] - report["baseline"]["task_success"], 4
    )


def test_demo_on_the_ref_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.run("ref")
    out = capsys.readouterr().out
    assert "reply datagram at the test socket: b'temp 47.5 C'" in out and "tokens/s" in out


@pytest.mark.slow
def test_demo_on_the_rtl_simulation() -> None:
    assert demo.run("sim")
