"""Token generation: prefill the prompt in one GEMM pass, then decode one token (GEMV) at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from zynpu.model.kvcache import KVCache
from zynpu.model.transformer import Transformer


@dataclass(frozen=True)
class Sampler:
    """temperature 0 is greedy; otherwise softmax(logits / T) restricted to top-k, then to the top-p mass."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)

    def pick(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        if self.temperature <= 0:
            return int(np.argmax(logits))
        z = logits.astype(np.float64) / self.temperature
        order = np.argsort(-z, kind="stable")
        if self.top_k > 0:
            order = order[: self.top_k]
        p = np.exp(z[order] - z[order[0]])
        p /= p.sum()
        if self.top_p < 1.0:
            keep = int(np.searchsorted(np.cumsum(p), self.top_p)) + 1  # smallest prefix reaching top_p
            order, p = order[:keep], p[:keep] / p[:keep].sum()
        return int(order[rng.choice(len(order), p=p)])


def generate(
    model: Transformer,
    prompt: Sequence[int],
    max_tokens: int,
    sampler: Sampler | None = None,
    stop: Sequence[int] = (),
    cache: KVCache | None = None,
) -> Iterator[int]:
    """Yield up to `max_tokens` new token ids as they are produced; stops after a token in `stop`."""
    if not prompt:
        raise ValueError("empty prompt: need at least one token (e.g. BOS)")
    sampler = sampler or Sampler()
    rng = sampler.rng()
    cache = cache or model.new_cache(len(prompt) + max_tokens)
    logits = model.forward(np.asarray(prompt), cache)
    for i in range(max_tokens):
        token = sampler.pick(logits, rng)
        yield token
        if token in stop or i == max_tokens - 1:
            return
        logits = model.forward(np.array([token]), cache)


def stream_text(tokenizer, ids: Iterator[int]) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Turn a token stream into text pieces, holding back bytes until they decode to whole characters."""
    seen: list[int] = []
    text = ""
    for token in ids:
        seen.append(token)
        full = tokenizer.decode(seen)
        if full.endswith("\ufffd"):
            continue
        yield full[len(text) :]
        text = full
