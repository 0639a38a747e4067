"""The official `openai` client against `zynpu serve` on 127.0.0.1: completions, streaming, tool calls,
errors as the client's exception types, and the queue bound under concurrency."""

from __future__ import annotations

import json
import threading
import time

import jsonschema
import openai
import pytest

from zynpu.serve.app import build_app
from zynpu.serve.server import running

from .conftest import Hold, Live

ASK_TEMP = [{"role": "user", "content": "what is the temperature"}]
ASK_SEND = [{"role": "user", "content": "send hello to port 9100"}]
TOOLS = [
    {"type": "function", "function": {
        "name": "read_sensor", "description": "Read one of the board's sensors.",
        "parameters": {"type": "object",
                       "properties": {"name": {"type": "string", "enum": ["temp", "power"]}},
                       "required": ["name"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "udp_send", "description": "Send a datagram to the peer.",
        "parameters": {"type": "object", "properties": {
            "port": {"type": "integer", "minimum": 1024, "maximum": 65535},
            "text": {"type": "string", "maxLength": 48}},
            "required": ["port", "text"], "additionalProperties": False}}},
]
SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def test_models_lists_the_served_model(live: Live) -> None:
    models = live.client.models.list()
    assert [m.id for m in models.data] == ["tiny"]


def test_plain_completion_with_usage(live: Live) -> None:
    r = live.client.chat.completions.create(model="tiny", messages=ASK_TEMP, temperature=0)
    choice = r.choices[0]
    # The tiny model writes one JSON output per turn, in its own format; greedy picks the sensor read.
    assert json.loads(choice.message.content) == {"tool": "read_sensor", "args": {"name": "temp"}}
    assert choice.finish_reason == "stop"
    from zynpu.serve.request import parse_messages

    prompt = live.service.template.render(parse_messages(ASK_TEMP), [])
    assert r.usage.prompt_tokens == len(prompt)
    assert r.usage.completion_tokens >= 1
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_stream_gives_the_same_text_chunk_by_chunk(live: Live) -> None:
    whole = live.client.chat.completions.create(model="tiny", messages=ASK_SEND, temperature=0)
    chunks = list(live.client.chat.completions.create(
        model="tiny", messages=ASK_SEND, temperature=0, stream=True, stream_options={"include_usage": True}))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == whole.choices[0].message.content
    assert len(pieces) == whole.usage.completion_tokens > 3  # one chunk per token the model wrote
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_seed_makes_sampling_repeatable_and_max_tokens_cuts(live: Live) -> None:
    def ask(seed: int) -> str:
        r = live.client.chat.completions.create(model="tiny", messages=ASK_SEND, temperature=1.5, top_p=0.9,
                                                seed=seed, max_tokens=6)
        assert r.usage.completion_tokens <= 6
        return r.choices[0].message.content

    assert ask(7) == ask(7)
    r = live.client.chat.completions.create(model="tiny", messages=ASK_SEND, temperature=0, max_tokens=3)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3


def test_stop_string_is_cut_and_never_streamed(live: Live) -> None:
    r = live.client.chat.completions.create(model="tiny", messages=ASK_SEND, temperature=0, stop=['"text"'])
    assert r.choices[0].finish_reason == "stop"
    text = r.choices[0].message.content
    assert '"text"' not in text and text.startswith('{"tool":"udp_send"')
    streamed = "".join(
        c.choices[0].delta.content or "" for c in live.client.chat.completions.create(
            model="tiny", messages=ASK_SEND, temperature=0, stop=['"text"'], stream=True) if c.choices)
    assert streamed == text


def _check_call(call: object) -> dict:
    name, args = call.function.name, json.loads(call.function.arguments)  # type: ignore[attr-defined]
    jsonschema.validate(args, SCHEMAS[name])  # an independent validator, not the server's grammar
    return {"name": name, "args": args}


def test_tool_call_parses_and_validates(live: Live) -> None:
    r = live.client.chat.completions.create(model="tiny", messages=ASK_SEND, tools=TOOLS, temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = _check_call(choice.message.tool_calls[0])
    assert call == {"name": "udp_send", "args": {"port": 9100, "text": "hello"}}
    assert choice.message.tool_calls[0].id.startswith("call_")


def test_streamed_tool_call_assembles_to_the_same_call(live: Live) -> None:
    chunks = list(live.client.chat.completions.create(model="tiny", messages=ASK_SEND, tools=TOOLS,
                                                      temperature=0, stream=True))
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].function.name == "udp_send" and deltas[0].id.startswith("call_")
    args = "".join(d.function.arguments or "" for d in deltas)
    assert len(deltas) > 2  # the arguments arrive in pieces as tokens are written
    jsonschema.validate(json.loads(args), SCHEMAS["udp_send"])
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "tool_calls"]


def test_tool_choice_forces_a_named_function_even_when_sampling_wildly(live: Live) -> None:
    for seed in range(3):
        r = live.client.chat.completions.create(
            model="tiny", messages=ASK_TEMP, tools=TOOLS, temperature=2.0, seed=seed, max_tokens=64,
            tool_choice={"type": "function", "function": {"name": "udp_send"}})
        assert _check_call(r.choices[0].message.tool_calls[0])["name"] == "udp_send"


def test_tool_result_round_trip_then_answer(live: Live) -> None:
    first = live.client.chat.completions.create(model="tiny", messages=ASK_TEMP, tools=TOOLS, temperature=0)
    call = first.choices[0].message.tool_calls[0]
    messages = [*ASK_TEMP, {"role": "assistant", "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": call.id,
                 "content": json.dumps({"value": 47.5, "unit": "C"})}]
    second = live.client.chat.completions.create(model="tiny", messages=messages, tools=TOOLS, temperature=0)
    msg = second.choices[0].message
    assert msg.tool_calls or msg.content  # a next call or a text answer, whichever the model picks
    if msg.tool_calls:
        _check_call(msg.tool_calls[0])


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"messages": [{"role": "user", "content": "x" * 2000}]}, "messages"),  # context overflow
        ({"messages": ASK_TEMP, "temperature": 3}, "temperature"),
        ({"messages": ASK_TEMP, "max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": ASK_TEMP, "n": 2}, "n"),
        ({"messages": ASK_TEMP, "tools": [{"type": "function", "function": {"name": "f", "parameters": {
            "type": "object", "properties": {"x": {"type": "array"}}}}}]},
         "tools[f].parameters.properties.x"),
        ({"messages": ASK_TEMP, "tools": TOOLS, "max_tokens": 2, "tool_choice": "required"}, "max_tokens"),
    ],
)
def test_bad_requests_raise_bad_request_error(live: Live, kwargs: dict, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        live.client.chat.completions.create(model="tiny", **kwargs)
    assert e.value.status_code == 400
    assert e.value.body["param"] == param and e.value.body["type"] == "invalid_request_error"


def test_context_overflow_has_openai_code(live: Live) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        live.client.chat.completions.create(model="tiny", messages=ASK_TEMP, max_tokens=10_000)
    assert e.value.code == "context_length_exceeded"


def test_unknown_model_is_not_found_and_server_survives_garbage(live: Live) -> None:
    with pytest.raises(openai.NotFoundError):
        live.client.chat.completions.create(model="gpt-4o", messages=ASK_TEMP)
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{live.url}/v1/chat/completions", data=b"{not json", method="POST",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400 and "error" in json.loads(e.value.read())
    assert live.client.chat.completions.create(model="tiny", messages=ASK_TEMP, temperature=0).choices


def test_concurrency_past_the_queue_bound_gets_429_with_retry_after(live: Live, hold: Hold) -> None:
    n, bound = 6, live.service.worker.max_queue
    rejected0 = live.service.metrics.counts["rejected"]
    results: list[object] = [None] * n

    def client(i: int) -> None:
        try:
            results[i] = live.client.chat.completions.create(model="tiny", messages=ASK_TEMP, temperature=0)
        except openai.RateLimitError as e:
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while sum(isinstance(r, openai.RateLimitError) for r in results) < n - bound:
        assert time.monotonic() < deadline, results
        time.sleep(0.02)
    hold.release()  # the NPU frees up: the queued requests now run
    for t in threads:
        t.join(30)
    limited = [r for r in results if isinstance(r, openai.RateLimitError)]
    done = [r for r in results if not isinstance(r, openai.RateLimitError)]
    assert len(limited) == n - bound and len(done) == bound
    assert all(int(e.response.headers["retry-after"]) >= 1 for e in limited)
    assert all(e.body["code"] == "queue_full" for e in limited)
    assert all(json.loads(r.choices[0].message.content)["tool"] == "read_sensor" for r in done)
    assert live.service.metrics.counts["rejected"] - rejected0 == n - bound


def test_a_client_that_disconnects_cancels_its_generation(live: Live, hold: Hold) -> None:
    m = live.service.metrics
    cancelled0, tokens0 = m.counts["cancelled"], m.counts["completion_tokens"]
    stream = live.client.chat.completions.create(model="tiny", messages=ASK_SEND, temperature=0, stream=True)
    first = next(iter(stream))  # the role chunk: the request is queued behind the held NPU
    assert first.choices[0].delta.role == "assistant"
    stream.close()  # the client goes away before its turn
    time.sleep(1.0)  # let the server see the disconnect
    hold.release()
    deadline = time.monotonic() + 10
    while m.counts["cancelled"] == cancelled0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert m.counts["completion_tokens"] == tokens0  # no token was generated for it


def test_api_key_is_required_and_compared(live: Live, capfd: pytest.CaptureFixture[str]) -> None:
    key = "k3y-" + "x" * 28
    with running(build_app(live.service, api_key=key), log_level="info") as url:
        wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        right = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
        assert right.chat.completions.create(model="tiny", messages=ASK_TEMP, temperature=0).choices
    out, err = capfd.readouterr()
    assert "401" in out + err  # the access log saw the refused request...
    assert key not in out + err  # ...but never the key


def test_a_client_that_disconnects_mid_stream_stops_the_tile() -> None:
    """On the ref tile (about a tenth of a second per token here) a stream closed after two tokens stops
    its completion at the next token: far fewer than the 12 the full call takes."""
    from zynpu.serve.server import load_service

    service = load_service("tiny", "ref")
    with running(build_app(service)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(model="tiny", messages=ASK_SEND, temperature=0, stream=True)
        pieces = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if len(pieces) == 2:
                break
        stream.close()
        deadline = time.monotonic() + 30
        while not service.metrics.recent:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    service.worker.close()
    rec = service.metrics.recent[0]
    assert rec["finish_reason"] == "cancelled" and rec["completion_tokens"] < 8, rec


def test_malformed_bodies_never_crash_the_server(live: Live) -> None:
    """Random JSON in every field: each answer is a 200 or an OpenAI-shaped 4xx, never a 500."""
    import urllib.error
    import urllib.request

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    junk = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True)
                        | st.text(max_size=8), lambda c: st.lists(c, max_size=3)
                        | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=6)
    # max_tokens is always small or junk, so the bodies that happen to be valid stay quick to answer.
    fields = st.fixed_dictionaries({"max_tokens": st.integers(1, 3) | junk}, optional={
        "model": st.just("tiny") | junk, "messages": st.just(ASK_TEMP) | junk,
        "temperature": junk, "top_p": junk, "seed": junk, "stop": junk, "stream": junk, "tools": junk,
        "tool_choice": junk, "n": junk, "stream_options": junk})

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=fields)
    def check(body: dict) -> None:
        req = urllib.request.Request(f"{live.url}/v1/chat/completions", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 200
                r.read()
        except urllib.error.HTTPError as e:
            assert e.code in (400, 404), (e.code, body)
            assert set(json.loads(e.read())["error"]) == {"message", "type", "param", "code"}

    check()
