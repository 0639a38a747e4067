"""How a session becomes tokens, with everything from outside quoted as data.

Event text (a UDP datagram, a BLE write, a CLI task) and tool results are JSON-encoded with ASCII
escapes, and `<|` is escaped too, so no byte sequence from the radio can spell a role marker or a
special token; segments are tokenized separately and a data segment that still produced a special id
is refused. The model only ever *writes* inside a call segment, whose grammar is fixed by the registry.
"""

from __future__ import annotations

import json
from typing import Any

# Role markers of the shipped tiny model (special tokens of its tokenizer).
BOS, EOS, SYS, EVENT, CALL, RESULT = "<|bos|>", "<|eos|>", "<|sys|>", "<|event|>", "<|call|>", "<|result|>"
SPECIALS = (BOS, EOS, SYS, EVENT, CALL, RESULT, "<|pad|>")
MAX_EVENT_TEXT = 160


def quote(value: Any) -> str:
    """Compact ASCII JSON with every `<` escaped: data that can never close its segment or spell any
    model's special token (`<|eos|>`, Gemma's `<eos>`, `<start_of_turn>`, ...)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("|>", "\\u007c>")


def event_json(event: dict[str, Any]) -> str:
    """The event as the model sees it: source first, text bounded in length."""
    e = dict(event)
    if isinstance(e.get("text"), str) and len(e["text"]) > MAX_EVENT_TEXT:
        e["text"] = e["text"][:MAX_EVENT_TEXT]
    return quote(e)


class PromptError(ValueError):
    """A data segment tokenized into a special token (it must not be able to)."""


class TinyPrompt:
    """Segment-wise tokenization for the shipped model's role-marker format."""

    def __init__(self, tokenizer) -> None:  # type: ignore[no-untyped-def]
        self.tok = tokenizer
        vocab = tokenizer.tok.get_vocab()
        self.ids = {name: vocab[name] for name in SPECIALS}
        self.special = set(self.ids.values())

    def data(self, text: str) -> list[int]:
        ids = self.tok.encode(text, add_bos=False)
        if self.special.intersection(ids):
            raise PromptError("data segment produced a special token")
        return ids

    def start(self, event: dict[str, Any], instructions: str = "") -> list[int]:
        ids = [self.ids[BOS]]
        if instructions:
            ids += [self.ids[SYS], *self.data(quote(instructions))]
        return [*ids, self.ids[EVENT], *self.data(event_json(event)), self.ids[CALL]]

    def result(self, result: Any) -> list[int]:
        return [self.ids[RESULT], *self.data(quote(result)), self.ids[CALL]]

    def written(self, text: str) -> list[int]:
        """A stored model output, replayed when a session resumes."""
        return self.data(text)

    def next_event(self, event: dict[str, Any]) -> list[int]:
        return [self.ids[EVENT], *self.data(event_json(event)), self.ids[CALL]]
