"""Chat templates: OpenAI messages as token ids in each model's own format, ending where the model writes.

* tiny (the agent's shipped model): its role markers. A system message is `<|sys|>` + quoted text, a
  user turn is the event a datagram would be, `<|event|>{"src":"udp","text":...}<|call|>` (the sources
  it was trained on), an assistant turn is one JSON output (`{"tool":...}` or `{"answer":...}`) and ends
  when that object closes, a tool result is `<|result|>...<|call|>`.
* Gemma 3: `<start_of_turn>user ... <end_of_turn>` / `<start_of_turn>model`; the system text opens the
  first user turn (Gemma has no system role), tool results come back as user turns, as in the agent's
  few-shot prompt.

Message text is data: it is tokenized apart from the markers and a text that would tokenize into a
control token (a forged turn marker) is refused with a 400, never passed to the model.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from zynpu.agent.prompt import CALL, EVENT, RESULT, SYS, PromptError, quote
from zynpu.serve.errors import bad_request
from zynpu.serve.request import Message

TOOLS_HEAD = (
    "You can call these tools (JSON schemas):\n{schemas}\n"
    'To call one, reply with {{"tool":NAME,"args":{{...}}}}; to answer in text, reply with {{"answer":TEXT}}.'
)


class Template(Protocol):
    stop_ids: frozenset[int]

    def render(self, messages: list[Message], tool_schemas: list[dict[str, Any]]) -> list[int]: ...

    def turn_complete(self, text: str) -> bool:
        """Whether the text written so far is a whole turn even without a stop token."""
        ...


def one_json_object(text: str) -> bool:
    """True when `text` is exactly one complete JSON object (braces balanced outside strings)."""
    if not text.startswith("{"):
        return False
    depth, in_str, esc = 0, False, False
    for i, c in enumerate(text):
        if in_str:
            esc, in_str = (False, in_str) if esc else (c == "\\", c != '"')
        elif c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def written(call_or_text: Message) -> str:
    """An earlier assistant turn as the JSON output the grammar makes the model write."""
    if call_or_text.tool_calls:
        c = call_or_text.tool_calls[0]
        return _compact({"tool": c.name, "args": c.arguments})
    return _compact({"answer": call_or_text.content})


def _result_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _data(fmt: Any, text: str, i: int) -> list[int]:
    try:
        return list(fmt.data(text))
    except PromptError:
        raise bad_request("message text would spell one of the model's control tokens",
                          f"messages[{i}].content") from None


class TinyTemplate:
    """The shipped tiny model's role-marker format (`zynpu.agent.prompt.TinyPrompt`'s markers)."""

    def __init__(self, fmt: Any) -> None:
        self.fmt = fmt
        self.ids: dict[str, int] = fmt.ids
        self.stop_ids = frozenset(fmt.special)

    def render(self, messages: list[Message], tool_schemas: list[dict[str, Any]]) -> list[int]:
        # The tiny model learned its tools from training, not from schemas: the grammar constrains it.
        ids = [self.ids["<|bos|>"]]
        system = "\n".join(m.content for m in messages if m.role == "system")
        if system:
            ids += [self.ids[SYS], *_data(self.fmt, quote(system), 0)]
        for i, m in enumerate(messages):
            if m.role == "user":
                ids += [self.ids[EVENT], *_data(self.fmt, quote({"src": "udp", "text": m.content}), i),
                        self.ids[CALL]]
            elif m.role == "assistant":
                ids += _data(self.fmt, written(m), i)
            elif m.role == "tool":
                ids += [self.ids[RESULT], *_data(self.fmt, quote(_result_value(m.content)), i),
                        self.ids[CALL]]
        return ids

    def turn_complete(self, text: str) -> bool:
        return one_json_object(text)


class GemmaTemplate:
    """Gemma 3's turn markers (the same strings as the agent's few-shot prompt)."""

    def __init__(self, fmt: Any) -> None:
        self.fmt = fmt
        tok = fmt.tok
        end = tok.tok.token_to_id("<end_of_turn>")
        self.stop_ids = frozenset({*tok.eos_ids, *([end] if end is not None else [])})

    def _marker(self, text: str) -> list[int]:
        return list(self.fmt.tok.encode(text, add_bos=False))

    def render(self, messages: list[Message], tool_schemas: list[dict[str, Any]]) -> list[int]:
        tok = self.fmt.tok
        ids = [tok.bos_id] if tok.bos_id is not None else []
        head = "\n".join(m.content for m in messages if m.role == "system")
        if tool_schemas:
            tools = TOOLS_HEAD.format(schemas="\n".join(_compact(s) for s in tool_schemas))
            head = f"{head}\n\n{tools}" if head else tools
        turn: str | None = None
        for i, m in enumerate(messages):
            if m.role == "system":
                continue
            role = "model" if m.role == "assistant" else "user"
            if role != turn:
                if turn is not None:
                    ids += self._marker("<end_of_turn>\n")
                ids += self._marker(f"<start_of_turn>{role}\n")
                turn = role
            else:
                ids += self._marker("\n")
            text = m.content
            if m.role == "assistant":
                text = written(m) if tool_schemas or m.tool_calls else m.content
            elif m.role == "tool":
                text = f"Result: {quote(_result_value(m.content))}"
            if head and role == "user":
                text, head = f"{head}\n\n{text}", ""
            ids += _data(self.fmt, text, i)
        return [*ids, *self._marker("<end_of_turn>\n<start_of_turn>model\n")]

    def turn_complete(self, text: str) -> bool:
        return False  # Gemma ends its turn with <end_of_turn>, a stop token
