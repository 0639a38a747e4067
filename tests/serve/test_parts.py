"""The server's parts on their own: stop strings, turn ends, tool-call streaming, schema conversion,
cancellation between tokens, the loopback/API-key rule and the CLI's refusal."""

from __future__ import annotations

import json

import pytest

from zynpu.agent.constrain import TokenConstraint
from zynpu.agent.grammar import Grammar
from zynpu.cli import main as zynpu_main
from zynpu.errors import UserError
from zynpu.serve import decode
from zynpu.serve.errors import ApiError
from zynpu.serve.request import parse
from zynpu.serve.server import api_key, is_loopback, load_service
from zynpu.serve.templates import one_json_object
from zynpu.serve.tools import registry_from_openai


class CharTokenizer:
    """Token id = code point: enough to exercise text handling without a model."""

    def decode(self, ids: list[int]) -> str:
        return "".join(map(chr, ids))


def _feed(stop_text: decode.StopText, text: str) -> tuple[str, bool]:
    out = []
    for ch in text:
        delta, stopped = stop_text.add(ord(ch))
        out.append(delta)
        if stopped:
            return "".join(out), True
    return "".join(out) + stop_text.flush(), False


def test_stop_strings_are_cut_and_partial_matches_held_back() -> None:
    s = decode.StopText(CharTokenizer(), ["END", "##"])
    assert _feed(s, "hello EN world END tail") == ("hello EN world ", True)
    s = decode.StopText(CharTokenizer(), ["END"])
    pieces = [s.add(ord(c))[0] for c in "abE"]
    assert "".join(pieces) == "ab"  # "E" might start END: held back...
    assert s.flush() == "E"  # ...and given out when the output ends without it


def test_one_json_object_ends_a_tiny_turn() -> None:
    assert one_json_object('{"tool":"x","args":{"a":"}"}}')
    assert not one_json_object('{"tool":"x","args":{"a":"}"}')
    assert not one_json_object('{"answer":"a \\" }"')
    assert one_json_object('{"answer":"a \\" }"}')
    assert not one_json_object('x{"a":1}')


def test_call_stream_splits_name_and_arguments() -> None:
    events: list[tuple[str, str]] = []
    stream = decode.CallStream(lambda k, v: events.append((k, v)))
    text = '{"tool":"udp_send","args":{"port":9100,"text":"hi"}}'
    for ch in text:
        stream.feed(ch)
    assert events[0] == ("tool_start", "udp_send")
    assert "".join(v for k, v in events if k == "tool_args") == '{"port":9100,"text":"hi"}'
    events.clear()
    stream = decode.CallStream(lambda k, v: events.append((k, v)))
    for ch in '{"answer":"temp 47.5 C"}':
        stream.feed(ch)
    assert "".join(v for _, v in events) == "temp 47.5 C"


def test_openai_schemas_become_the_agents_grammar() -> None:
    tools = [{"type": "function", "function": {"name": "set-led", "parameters": {
        "type": "object", "properties": {
            "color": {"type": "string", "enum": ["red", "green"]},
            "level": {"type": "integer", "minimum": 0, "maximum": 255},
            "blink": {"type": "boolean"}, "note": {"type": "string", "maxLength": 5}},
        "required": ["color", "level"]}}}]
    g = Grammar(registry_from_openai(tools), allow_answer=False)
    assert g.matches('{"tool":"set-led","args":{"color":"red","level":255}}')
    assert g.matches('{"tool":"set-led","args":{"color":"green","level":0,"blink":true,"note":"hi"}}')
    assert not g.matches('{"tool":"set-led","args":{"color":"blue","level":1}}')
    assert not g.matches('{"tool":"set-led","args":{"color":"red","level":256}}')
    assert not g.matches('{"tool":"set-led","args":{"level":1}}')
    assert not g.matches('{"tool":"set-led","args":{"color":"red","level":1,"note":"toolong"}}')
    assert not g.matches('{"answer":"no"}')


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"x": {"type": "object"}}},
    {"type": "object", "properties": {"x": {"type": "string", "pattern": "a+"}}},
    {"type": "object", "properties": {"x": {"type": "string", "enum": ['a"b']}}},
    {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["y"]},
])
def test_schemas_the_grammar_cannot_guarantee_are_refused(schema: dict) -> None:
    with pytest.raises(ApiError) as e:
        registry_from_openai([{"type": "function", "function": {"name": "f", "parameters": schema}}])
    assert e.value.status == 400


def test_requests_are_checked_field_by_field() -> None:
    parts = [{"type": "text", "text": "a"}]
    r = parse({"model": "tiny", "messages": [{"role": "developer", "content": parts},
                                             {"role": "user", "content": "b"}], "stop": "x"})
    assert [m.role for m in r.messages] == ["system", "user"] and r.stop == ("x",) and r.temperature == 1.0
    user = [{"role": "user", "content": "x"}]
    for body, param in [({"model": "tiny", "messages": user, "seed": -1}, "seed"),
                        ({"model": "tiny", "messages": user, "stop": [""]}, "stop"),
                        ({"model": "tiny", "messages": [{"role": "assistant", "content": "x"}]},
                         "messages[0]")]:
        with pytest.raises(ApiError) as e:
            parse(body)
        assert e.value.param == param


def test_generation_stops_at_the_next_token_once_cancelled() -> None:
    service = load_service("tiny", "numpy")
    p = service.prepare(parse({"model": "tiny", "temperature": 0,
                               "messages": [{"role": "user", "content": "send hello to port 9100"}]}))
    tokens: list[int] = []

    def emit(kind: str, value: object) -> None:
        if kind == "token":
            tokens.append(value)  # type: ignore[arg-type]

    out = decode.generate_text(service.llm.model, p.prompt, 50, p.sampler, service.template.stop_ids,
                               decode.StopText(service.llm.tokenizer, ()), emit, lambda: len(tokens) >= 3,
                               service.ctx, service.template.turn_complete)
    assert out.finish_reason == "cancelled" and out.completion_tokens == len(tokens) == 3
    props = {"port": {"type": "integer", "minimum": 1024, "maximum": 65535}, "text": {"type": "string"}}
    tools = [{"type": "function",
              "function": {"name": "udp_send", "parameters": {"type": "object", "properties": props}}}]
    p = service.prepare(parse({"model": "tiny", "messages": [{"role": "user", "content": "send hi to 9100"}],
                               "tools": tools, "tool_choice": "required"}))
    assert isinstance(p.constraint, TokenConstraint)
    got: list[tuple[str, object]] = []
    out = decode.generate_call(service.llm.model, p.prompt, p.max_tokens, p.sampler, p.constraint,
                               decode.CallStream(lambda k, v: got.append((k, v))), lambda: False, service.ctx)
    args = "".join(str(v) for k, v in got if k == "tool_args")
    assert out.finish_reason == "tool_calls" and isinstance(json.loads(args)["port"], int)
    service.worker.close()


def test_binding_beyond_loopback_needs_a_key(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ZYNPU_API_KEY", raising=False)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert api_key("127.0.0.1", None) is None
    with pytest.raises(UserError):
        api_key("0.0.0.0", None)
    monkeypatch.setenv("ZYNPU_API_KEY", "short")
    with pytest.raises(UserError):
        api_key("0.0.0.0", None)
    monkeypatch.setenv("ZYNPU_API_KEY", "a" * 32)
    assert api_key("0.0.0.0", None) == "a" * 32
    monkeypatch.delenv("ZYNPU_API_KEY")
    assert zynpu_main(["serve", "--host", "0.0.0.0", "--device", "numpy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zynpu: error: binding to 0.0.0.0")
