"""Token-level constraint: whatever the logits say, every output parses, names a registered tool and
validates against its schema, within the token budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zynpu.agent.constrain import TokenConstraint
from zynpu.agent.grammar import Grammar
from zynpu.agent.hwtools import Backends, build_registry
from zynpu.agent.llm import Llm

REG = build_registry(Backends())


def check(text: str) -> dict:
    out = json.loads(text)
    if "answer" in out:
        assert set(out) == {"answer"} and isinstance(out["answer"], str)
    else:
        assert set(out) == {"tool", "args"} and out["tool"] in REG
        REG[out["tool"]].validate(out["args"])
    return out


def decode(tc: TokenConstraint, logits_fn, budget: int) -> str:  # type: ignore[no-untyped-def]
    state, ids = tc.g.start, []
    while not tc.g.accepts(state):
        assert len(ids) < budget, "over budget"
        tok = tc.pick(logits_fn(len(ids)), state, budget - len(ids))
        state = tc.advance(state, tok)
        assert state is not None
        ids.append(tok)
    return "".join(tc.texts[i] for i in ids)  # type: ignore[misc]


def test_random_and_adversarial_logits_give_valid_outputs(tiny: Llm) -> None:
    tc = tiny.constraint(REG)
    rng = np.random.default_rng(0)
    vocab = tc.vocab
    special = [i for i, t in enumerate(tc.texts) if t is None]
    evil = [i for i, t in enumerate(tc.texts) if t and any(w in t for w in ("rm", "\\", "shell", "<", "}"))]
    kinds = seen = 0
    for trial in range(120):
        budget = int(rng.integers(tc.min_tokens(), 70))
        mode = trial % 4

        def logits(i: int, mode=mode) -> np.ndarray:  # type: ignore[no-untyped-def]
            z = rng.standard_normal(vocab) * 10
            if mode == 1:  # everything the grammar forbids scores highest
                z[special] = 1e9
                z[evil] = 1e8
            elif mode == 2:
                z[:] = np.nan
                z[rng.integers(0, vocab, 5)] = np.inf
            elif mode == 3:
                z = -z * 1e30
            return z

        out = check(decode(tc, logits, budget))
        kinds |= 1 << (0 if "answer" in out else 1)
        seen += 1
    assert seen == 120 and kinds == 3  # both calls and answers came out


def test_shortest_budget_still_finishes(tiny: Llm) -> None:
    tc = tiny.constraint(REG)
    n = tc.min_tokens()
    out = decode(tc, lambda i: np.random.default_rng(i).standard_normal(tc.vocab), n)
    assert check(out)
    with pytest.raises(ValueError):
        tiny.session().write(tc, n - 1)


def test_random_weights_model_writes_only_valid_calls(random_llm: Llm) -> None:
    tc = random_llm.constraint(REG)
    for i in range(6):
        sess = random_llm.session()
        sess.feed(random_llm.fmt.start({"src": "udp", "text": f"do something {i}"}))
        out = sess.write(tc, 48)
        check(out.text)
        assert out.forwards <= len(out.ids)


def test_a_grammar_without_answers_forces_a_call(tiny: Llm) -> None:
    g = Grammar(REG.subset(["read_sensor"]), allow_answer=False)
    # The shipped vocabulary spells either whole call in one token: one forward decides it.
    tc = TokenConstraint(g, tiny.texts)
    sess = tiny.session()
    sess.feed(tiny.fmt.start({"src": "cli", "text": "hello"}))
    out = sess.write(tc, tc.min_tokens())
    assert json.loads(out.text)["tool"] == "read_sensor"
    assert out.forwards == len(out.ids) == 1
    # Over single characters most of the call is forced: those tokens are queued and prefilled with
    # the next decision, not decoded token by token.
    chars = [t if t is not None and len(t) == 1 else None for t in tiny.texts]
    tc1 = TokenConstraint(g, chars)
    sess = tiny.session()
    sess.feed(tiny.fmt.start({"src": "cli", "text": "hello"}))
    out = sess.write(tc1, tc1.min_tokens())
    assert json.loads(out.text)["tool"] == "read_sensor"
    assert out.forwards < len(out.ids) / 4


def test_large_vocabulary_lazy_path_agrees_with_masks(tiny: Llm) -> None:
    tc = tiny.constraint(REG)
    rng = np.random.default_rng(5)
    state = tc.g.start
    for _ in range(30):
        if tc.g.accepts(state):
            break
        z = rng.standard_normal(tc.vocab)
        a = tc.pick(z, state, 60)
        b = tc._pick_lazy(z, state, 60, 0.0, None)
        assert a == b
        state = tc.advance(state, a)
