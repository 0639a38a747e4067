"""One completion on the NPU: plain sampling, or a tool call written through the agent's grammar.

Runs on the worker thread. Each piece of output is handed to `emit` as soon as its token leaves the
model (so a stream is chunk-by-chunk), and `cancelled()` is checked before every forward pass, so a
client that went away stops costing NPU time at the next token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zynpu.agent.constrain import MASK_VOCAB_LIMIT, TokenConstraint
from zynpu.model.generate import Sampler

# ("token", id) for every token written, then what the client sees:
# ("text", str) | ("tool_start", name) | ("tool_args", str)
Emit = Callable[[str, Any], None]
LAZY_CANDIDATES = 64  # top-p over Gemma's 262k vocabulary is taken among the 64 best allowed tokens


@dataclass
class Outcome:
    finish_reason: str  # stop | length | tool_calls | cancelled
    prompt_tokens: int
    completion_tokens: int


class StopText:
    """Token ids to text deltas, cut at the first stop string; text that might begin a stop string is
    held back until it is known not to, so a client never sees part of a stop string."""

    def __init__(self, tokenizer: Any, stops: Sequence[str]) -> None:
        self.tok, self.stops = tokenizer, tuple(stops)
        self.ids: list[int] = []
        self.text, self.sent = "", 0

    def add(self, token: int) -> tuple[str, bool]:
        self.ids.append(token)
        full = self.tok.decode(self.ids)
        if full.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for its other bytes
            return "", False
        self.text = full
        hits = [i for i in (full.find(s) for s in self.stops) if i >= 0]
        if hits:
            delta, self.sent = full[self.sent : min(hits)], len(full)
            return delta, True
        hold = max((k for s in self.stops for k in range(1, len(s)) if full.endswith(s[:k])), default=0)
        safe = max(self.sent, len(full) - hold)
        delta, self.sent = full[self.sent : safe], safe
        return delta, False

    def flush(self) -> str:
        delta, self.sent = self.text[self.sent :], len(self.text)
        return delta


def generate_text(
    model: Any, prompt: list[int], max_tokens: int, sampler: Sampler, stop_ids: frozenset[int],
    text: StopText, emit: Emit, cancelled: Callable[[], bool], ctx: int,
    turn_complete: Callable[[str], bool] = lambda text: False,
) -> Outcome:
    """Prefill once, then sample token by token until a stop token, a stop string or `max_tokens`."""
    cache = model.new_cache(ctx)
    rng = sampler.rng()
    logits = model.forward(np.asarray(prompt), cache)
    n, finish = 0, "length"
    while n < max_tokens:
        token = sampler.pick(logits, rng)
        if token in stop_ids:
            finish = "stop"
            break
        n += 1
        emit("token", token)
        delta, stopped = text.add(token)
        if delta:
            emit("text", delta)
        if stopped or turn_complete(text.text):
            finish = "stop"
            break
        if n == max_tokens:
            break
        if cancelled():
            return Outcome("cancelled", len(prompt), n)
        logits = model.forward(np.array([token]), cache)
    rest = text.flush()  # text held back for a stop string that never came (empty after a stop string)
    if rest:
        emit("text", rest)
    return Outcome(finish, len(prompt), n)


class CallStream:
    """Splits a growing grammar output into OpenAI deltas: answer text, or a tool's name then its
    argument JSON. The newest character is always held back (it may be the output's closing brace,
    which is not part of the arguments), so the arguments are complete once the output is."""

    ANSWER, TOOL, ARGS = '{"answer":"', '{"tool":"', '","args":'

    def __init__(self, emit: Emit) -> None:
        self.emit, self.text, self.sent, self.name = emit, "", 0, None
        self.args = ""

    def feed(self, piece: str) -> None:
        self.text += piece
        t = self.text
        if t.startswith(self.ANSWER):
            body = t[len(self.ANSWER) :]
            end = body.find('"')
            content = body if end < 0 else body[:end]
            if len(content) > self.sent:
                self.emit("text", content[self.sent :])
                self.sent = len(content)
        elif t.startswith(self.TOOL):
            rest = t[len(self.TOOL) :]
            q = rest.find('"')
            if q < 0 or not rest[q:].startswith(self.ARGS):
                return
            if self.name is None:
                self.name = rest[:q]
                self.emit("tool_start", self.name)
            self.args = rest[q + len(self.ARGS) : -1]
            if len(self.args) > self.sent:
                self.emit("tool_args", self.args[self.sent :])
                self.sent = len(self.args)


def pick_constrained(
    c: TokenConstraint, logits: np.ndarray, state: Any, remaining: int, sampler: Sampler,
    rng: np.random.Generator,
) -> int:
    """The grammar's choice with the request's temperature and top_p (greedy at temperature 0)."""
    if sampler.temperature <= 0 or (sampler.top_p >= 1.0 and c.vocab > MASK_VOCAB_LIMIT):
        return c.pick(logits, state, remaining, sampler.temperature, rng)
    logits = np.nan_to_num(np.asarray(logits[: c.vocab], dtype=np.float64), nan=-1e30, posinf=1e30,
                           neginf=-1e30)
    if c.vocab <= MASK_VOCAB_LIMIT:
        ids = c.allowed(state, remaining)
    else:
        found = []
        for i in np.argsort(-logits, kind="stable"):
            if c.ok(state, int(i), remaining):
                found.append(int(i))
                if len(found) == LAZY_CANDIDATES:
                    break
        ids = np.array(found, dtype=np.int64)
    if len(ids) == 0:
        raise RuntimeError(f"grammar dead end in state {state} with {remaining} tokens left")
    return int(ids[sampler.pick(logits[ids], rng)])


def generate_call(
    model: Any, prompt: list[int], max_tokens: int, sampler: Sampler, constraint: TokenConstraint,
    stream: CallStream, cancelled: Callable[[], bool], ctx: int,
) -> Outcome:
    """Write one output the grammar accepts; tokens the grammar forces are prefilled with the next call."""
    cache = model.new_cache(ctx)
    rng = sampler.rng()
    g = constraint.g
    state, pending, n = g.start, list(prompt), 0
    while not g.accepts(state):
        remaining = max_tokens - n
        token = constraint.forced(state, remaining)
        if token is None:
            if cancelled():
                return Outcome("cancelled", len(prompt), n)
            logits = model.forward(np.asarray(pending), cache)
            pending = []
            token = pick_constrained(constraint, logits, state, remaining, sampler, rng)
        nxt = constraint.advance(state, token)
        assert nxt is not None  # pick/forced only return tokens that keep the automaton alive
        state = nxt
        n += 1
        pending.append(token)
        stream.emit("token", token)
        stream.feed(constraint.texts[token] or "")
    return Outcome("tool_calls" if stream.name is not None else "stop", len(prompt), n)
