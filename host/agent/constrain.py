"""The character automaton lifted to a tokenizer's vocabulary: which token ids may come next.

A token is allowed when its text keeps the automaton alive *and* the shortest completion after it
still fits the remaining token budget (every character has a one-character token, checked here), so
decoding always ends in an accepted output however adversarial the logits. Small vocabularies get
memoized boolean masks per state; large ones (Gemma's 262k) are searched lazily in logit order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zynpu.agent.grammar import Grammar, State

MASK_VOCAB_LIMIT = 8192  # above this, masks are not materialized (lazy best-first search instead)


def token_texts(tokenizer) -> list[str | None]:  # type: ignore[no-untyped-def]
    """Each id's text when it is plain printable ASCII the grammar can use, else None.

    Special/control tokens are never usable: the model cannot emit role markers or EOS inside a call.
    """
    tok = tokenizer.tok
    n = tok.get_vocab_size()
    special = {i for i, t in tok.get_added_tokens_decoder().items() if t.special}
    out: list[str | None] = []
    for i in range(n):
        if i in special:
            out.append(None)
            continue
        text = tok.decode([i], skip_special_tokens=False)
        ok = text != "" and all(0x20 <= ord(c) < 0x7F for c in text)
        out.append(text if ok else None)
    return out


@dataclass
class _StateInfo:
    ids: np.ndarray  # allowed token ids (ignoring the budget)
    dists: np.ndarray  # fewest characters to acceptance after each of them
    nexts: list[State]


class TokenConstraint:
    """Allowed-token computation for one grammar over one vocabulary."""

    def __init__(self, grammar: Grammar, texts: list[str | None]) -> None:
        self.g = grammar
        self.texts = texts
        self.vocab = len(texts)
        singles = {t for t in texts if t is not None and len(t) == 1}
        missing = sorted(set(map(chr, range(0x20, 0x7F))) - singles)
        if missing:
            raise ValueError(f"vocabulary lacks one-character tokens for {''.join(missing)!r}")
        self.single = {t: i for i, t in enumerate(texts) if t is not None and len(t) == 1}
        self._by_first: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if t is not None:
                self._by_first.setdefault(t[0], []).append(i)
        self._info: dict[State, _StateInfo] = {}
        self._step: dict[tuple[State, int], State | None] = {}

    def advance(self, state: State, token: int) -> State | None:
        key = (state, token)
        if key not in self._step:
            text = self.texts[token] if 0 <= token < self.vocab else None
            self._step[key] = None if text is None else self.g.walk(state, text)
        return self._step[key]

    def info(self, state: State) -> _StateInfo:
        if state not in self._info:
            ids, dists, nexts = [], [], []
            for first, cands in self._by_first.items():
                if self.g.step(state, first) is None:
                    continue
                for i in cands:
                    nxt = self.advance(state, i)
                    if nxt is not None:
                        ids.append(i)
                        dists.append(self.g.dist(nxt))
                        nexts.append(nxt)
            self._info[state] = _StateInfo(
                np.array(ids, dtype=np.int64), np.array(dists, dtype=np.int64), nexts
            )
        return self._info[state]

    def allowed(self, state: State, remaining: int) -> np.ndarray:
        """Token ids allowed in `state` with `remaining` tokens left for this output (this one included)."""
        inf = self.info(state)
        return inf.ids[inf.dists <= remaining - 1]

    def ok(self, state: State, token: int, remaining: int) -> bool:
        nxt = self.advance(state, token)
        return nxt is not None and self.g.dist(nxt) <= remaining - 1

    def pick(
        self,
        logits: np.ndarray,
        state: State,
        remaining: int,
        temperature: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> int:
        """Greedy (temperature 0) or sampled choice among the allowed tokens only."""
        logits = np.asarray(logits[: self.vocab], dtype=np.float64)
        if self.vocab <= MASK_VOCAB_LIMIT:
            ids = self.allowed(state, remaining)
            if len(ids) == 0:
                raise RuntimeError(f"grammar dead end in state {state} with {remaining} tokens left")
            z = np.nan_to_num(logits[ids], nan=-1e30, posinf=1e30, neginf=-1e30)
            if temperature <= 0:
                return int(ids[int(np.argmax(z))])
            p = np.exp((z - z.max()) / temperature)
            return int(ids[(rng or np.random.default_rng()).choice(len(ids), p=p / p.sum())])
        return self._pick_lazy(logits, state, remaining, temperature, rng)

    def _pick_lazy(self, logits, state, remaining, temperature, rng) -> int:  # type: ignore[no-untyped-def]
        z = np.nan_to_num(logits, nan=-1e30, posinf=1e30, neginf=-1e30)
        if temperature > 0:  # Gumbel-max: argmax of perturbed logits = a sample from the masked softmax
            z = z / temperature + (rng or np.random.default_rng()).gumbel(size=z.shape)
        for i in np.argsort(-z, kind="stable"):
            if self.ok(state, int(i), remaining):
                return int(i)
        raise RuntimeError(f"grammar dead end in state {state} with {remaining} tokens left")

    def forced(self, state: State, remaining: int) -> int | None:
        """The only allowed token, if there is exactly one (it can skip the model's choice)."""
        if self.vocab > MASK_VOCAB_LIMIT:
            return None
        ids = self.allowed(state, remaining)
        return int(ids[0]) if len(ids) == 1 else None

    def min_tokens(self, state: State | None = None) -> int:
        """Tokens that always suffice to finish from `state` (one per character of the shortest path)."""
        return self.g.dist(self.g.start if state is None else state)
