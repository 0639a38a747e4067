"""Generation: greedy is argmax of a full recompute, sampling is seeded, top-k/top-p restrict the draw."""

import numpy as np
import pytest

from zynpu.model.generate import Sampler, generate, stream_text
from zynpu.model.load import load


@pytest.fixture(scope="module")
def qwen3(tiny_paths):  # type: ignore[no-untyped-def]
    return load(tiny_paths("qwen3")[0], progress=False)


def test_greedy_matches_recomputing_from_scratch(qwen3) -> None:
    model, tok = qwen3
    prompt = tok.encode("The keeper")
    out = list(generate(model, prompt, 6))
    seq = list(prompt)
    for token in out:  # no cache reuse: each step reruns the whole sequence as a prefill
        logits = model.forward(np.array(seq), model.new_cache())
        assert token == int(np.argmax(logits))
        seq.append(token)


def test_generator_is_lazy_and_stops(qwen3, monkeypatch: pytest.MonkeyPatch) -> None:
    model, tok = qwen3
    forward, calls = model.forward, []
    monkeypatch.setattr(model, "forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
    gen = generate(model, tok.encode("The"), 50)
    assert calls == []  # nothing runs until the first token is asked for
    first = next(gen)
    assert isinstance(first, int) and len(calls) == 1  # the prompt's prefill only
    full = list(generate(model, tok.encode("The"), 5))
    stop_at = full[2]
    assert list(generate(model, tok.encode("The"), 5, stop=[stop_at])) == full[: full.index(stop_at) + 1]
    with pytest.raises(ValueError, match="empty prompt"):
        next(generate(model, [], 3))


def test_sampling_is_seeded(qwen3) -> None:
    model, tok = qwen3
    p = tok.encode("The keeper")
    s = Sampler(temperature=1.0, seed=7)
    a, b = list(generate(model, p, 8, s)), list(generate(model, p, 8, s))
    assert a == b
    assert any(list(generate(model, p, 8, Sampler(1.0, seed=k))) != a for k in range(8, 12))
    assert list(generate(model, p, 8, Sampler(1.0, top_k=1, seed=3))) == list(generate(model, p, 8))


def test_top_k_top_p_restrict_support() -> None:
    logits = np.array([3.0, 2.0, 1.0, 0.0, -1.0])
    rng = np.random.default_rng(0)
    draws = {Sampler(1.0, top_k=2).pick(logits, rng) for _ in range(300)}
    assert draws == {0, 1}
    # softmax mass: 0.64, 0.24, 0.09...; top_p=0.8 keeps the two tokens needed to reach 0.8
    draws = {Sampler(1.0, top_p=0.8).pick(logits, rng) for _ in range(300)}
    assert draws == {0, 1}
    assert {Sampler(1.0, top_p=0.5).pick(logits, rng) for _ in range(50)} == {0}
    assert Sampler().pick(logits, rng) == 0


def test_stream_text_holds_back_partial_characters() -> None:
    class Tok:
        def decode(self, ids: list[int]) -> str:
            return bytes(ids).decode("utf-8", errors="replace")

    pieces = list(stream_text(Tok(), iter([0x41, 0xCE, 0xA9, 0x42])))
    assert pieces == ["A", "Ω", "B"]
