"""The model side of a step: load a model onto an engine, keep a session's KV cache, write one
grammar-constrained output.

Tokens the grammar forces (exactly one allowed id) are not decoded one by one: they are queued and
prefilled together with whatever comes next, so structural text costs one GEMM row, not a GEMV pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zynpu.agent.constrain import TokenConstraint, token_texts
from zynpu.agent.grammar import Grammar
from zynpu.agent.tools import ToolRegistry
from zynpu.device.select import ENGINES
from zynpu.model.engine import close_engine, make_engine

SHIPPED_MODEL = Path(__file__).parent / "model"
ENGINE_NAMES = ENGINES  # every NPU device and host engine, from the one registry


@dataclass
class Output:
    text: str
    ids: list[int]
    input_tokens: int  # tokens pushed through the model for this output (prompt part included)
    forwards: int
    cycles: int


class Llm:
    """A loaded model plus its prompt format; `session()` gives per-session decoding state."""

    def __init__(
        self, model: Any, tokenizer: Any, fmt: Any, name: str, temperature: float = 0.0, seed: int = 0
    ) -> None:
        self.model, self.tokenizer, self.fmt, self.name = model, tokenizer, fmt, name
        self.temperature = temperature
        self.rng = np.random.default_rng(seed)
        self.texts = token_texts(tokenizer)
        self._constraints: dict[str, TokenConstraint] = {}

    def close(self) -> None:
        """Release the engine's device (an NPU's); the model is unusable afterwards."""
        from zynpu.model.engine import close_engine

        close_engine(getattr(self.model, "engine", None))

    def __enter__(self) -> Llm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def npu(self) -> Any:
        eng = getattr(self.model, "engine", None)
        inner = getattr(eng, "inner", None)
        return inner if inner is not None and hasattr(inner, "total") else None

    def cycles(self) -> int:
        npu = self.npu
        return int(npu.total.cycles) if npu is not None else 0

    def constraint(self, registry: ToolRegistry, answer_max_len: int = 64) -> TokenConstraint:
        key = json.dumps([registry.schemas(), answer_max_len], sort_keys=True)
        if key not in self._constraints:
            self._constraints[key] = TokenConstraint(Grammar(registry, answer_max_len), self.texts)
        return self._constraints[key]

    def session(self, max_ctx: int | None = None) -> LlmSession:
        """Fresh decoding state; the context defaults to the model's, capped at 2048 positions."""
        return LlmSession(self, self.model.new_cache(max_ctx or min(self.model.cfg.max_position, 2048)))


class LlmSession:
    """KV cache and the queue of tokens not yet pushed through the model."""

    def __init__(self, llm: Llm, cache: Any) -> None:
        self.llm, self.cache = llm, cache
        self.pending: list[int] = []

    @property
    def room(self) -> int:
        """Positions left in the context after the queued tokens."""
        return self.cache.max_ctx - self.cache.length - len(self.pending)

    def feed(self, ids: list[int]) -> None:
        self.pending.extend(ids)

    def _forward(self) -> np.ndarray:
        ids, self.pending = self.pending, []
        return self.llm.model.forward(np.asarray(ids), self.cache)

    def write(self, constraint: TokenConstraint, max_tokens: int) -> Output:
        """Decode one output the grammar accepts, in at most `max_tokens` tokens."""
        if max_tokens < constraint.min_tokens():
            raise ValueError(
                f"{max_tokens} tokens cannot hold the shortest output ({constraint.min_tokens()})"
            )
        g = constraint.g
        state, out, text = g.start, [], []
        c0, fed, forwards = self.llm.cycles(), 0, 0
        while not g.accepts(state):
            remaining = max_tokens - len(out)
            tok = constraint.forced(state, remaining)
            if tok is None:
                fed += len(self.pending)
                logits = self._forward()
                forwards += 1
                tok = constraint.pick(logits, state, remaining, self.llm.temperature, self.llm.rng)
            nxt = constraint.advance(state, tok)
            assert nxt is not None
            state = nxt
            out.append(tok)
            text.append(constraint.texts[tok])  # type: ignore[arg-type]
            self.pending.append(tok)
        return Output("".join(text), out, fed, forwards, self.llm.cycles() - c0)


GEMMA = "gemma3-270m"
GEMMA_TUNED = "gemma3-270m+lora"  # Gemma 3 270M with the shipped adapter merged before W8A8


def _load_gemma(engine: str | Any, adapter: Path | None) -> tuple[Any, Any]:
    """Gemma 3 270M from its GGUF; with an adapter, LoRA is merged into the float weights first, then
    SmoothQuant and W8A8 exactly as for the base model, so every linear layer runs on the NPU."""
    from zynpu.model.load import read_checkpoint, resolve
    from zynpu.model.transformer import Transformer

    cfg, weights, tok = read_checkpoint(resolve(GEMMA))
    if adapter is not None:
        from zynpu.agent.adapter import merge, read_adapter

        weights = merge(weights, *read_adapter(adapter))
    eng = engine if not isinstance(engine, str) else make_engine(engine)  # or an engine object
    try:
        if eng is not None:
            from zynpu.model.smooth import smooth_for_w8a8

            weights = smooth_for_w8a8(cfg, weights, tok)
        return Transformer(cfg, weights, eng, progress=False), tok
    except BaseException:
        if isinstance(engine, str):  # the device opened here is closed here
            close_engine(eng)
        raise


def load_llm(
    ref: str | Path | None = None, engine: str = "sim", adapter: Path | None = None, **kw: Any
) -> Llm:
    """The shipped tiny model (default), `gemma3-270m` (few-shot) or `gemma3-270m+lora` (the shipped
    adapter, or `adapter`), on the named engine."""
    from zynpu.model.load import read_checkpoint, resolve
    from zynpu.model.transformer import Transformer

    ref = str(ref or SHIPPED_MODEL)
    if ref in (GEMMA, GEMMA_TUNED):
        from zynpu.agent.adapter import SHIPPED_ADAPTER
        from zynpu.agent.fewshot import GemmaPrompt, GemmaTunedPrompt

        if ref == GEMMA_TUNED:
            adapter = adapter or SHIPPED_ADAPTER
        model, tok = _load_gemma(engine, adapter)
        fmt: Any = GemmaTunedPrompt(tok) if adapter is not None else GemmaPrompt(tok)
        name = GEMMA_TUNED if adapter is not None else GEMMA
        return Llm(model, tok, fmt, name, **kw)
    # Plain W8A8 on the stored weights: the same Transformer and engine path as `load`, without
    # any load-time calibration on general text (this model only ever reads its own task format).
    cfg, weights, tok = read_checkpoint(resolve(ref))
    eng = engine if not isinstance(engine, str) else make_engine(engine)
    try:
        model = Transformer(cfg, weights, eng, progress=False)
    except BaseException:
        if isinstance(engine, str):  # the device opened here is closed here
            close_engine(eng)
        raise
    from zynpu.agent.prompt import TinyPrompt

    return Llm(model, tok, TinyPrompt(tok), Path(ref).name, **kw)
