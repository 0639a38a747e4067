"""The served model: a checked request becomes token ids and a job for the NPU worker.

Everything that can be refused (unknown model, bad tools, context overflow, a token budget too small
for any tool call) is refused here, on the event loop, before the request takes a place in the queue.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zynpu.agent.constrain import TokenConstraint
from zynpu.agent.grammar import Grammar
from zynpu.model.generate import Sampler
from zynpu.serve import decode
from zynpu.serve.errors import ApiError, bad_request
from zynpu.serve.metrics import Metrics
from zynpu.serve.request import ChatRequest
from zynpu.serve.templates import GemmaTemplate, Template, TinyTemplate
from zynpu.serve.tools import chosen, registry_from_openai
from zynpu.serve.worker import Job, NpuWorker

MODELS = ("tiny", "gemma3-270m")
MAX_CONTEXT = 2048  # KV cache positions per completion (Gemma's 32k would not fit the board's DDR budget)
ANSWER_CHARS = 256  # the longest text answer under tool_choice=auto (max_tokens still bounds it)
CONSTRAINTS_KEPT = 16  # tool sets whose token masks stay cached (least recently used go first)


@dataclass
class Prepared:
    rid: str
    prompt: list[int]
    max_tokens: int
    sampler: Sampler
    constraint: TokenConstraint | None
    stops: tuple[str, ...]


class Service:
    def __init__(self, llm: Any, model_id: str, device: str, max_queue: int = 8) -> None:
        self.llm, self.model_id, self.device = llm, model_id, device
        gemma = model_id == "gemma3-270m"
        self.template: Template = GemmaTemplate(llm.fmt) if gemma else TinyTemplate(llm.fmt)
        self.ctx = min(llm.model.cfg.max_position, MAX_CONTEXT)
        self.worker = NpuWorker(max_queue)
        self.metrics = Metrics(llm.model)
        self.created = int(time.time())
        self._constraints: OrderedDict[str, TokenConstraint] = OrderedDict()

    def constraint(self, registry: Any, allow_answer: bool) -> TokenConstraint:
        """Cached per tool set: a grammar's per-state token masks are worth keeping across requests,
        but only for a few tool sets, so clients cannot grow the cache without bound."""
        key = json.dumps([registry.schemas(), allow_answer], sort_keys=True)
        if key in self._constraints:
            self._constraints.move_to_end(key)
        else:
            grammar = Grammar(registry, ANSWER_CHARS, allow_answer=allow_answer)
            self._constraints[key] = TokenConstraint(grammar, self.llm.texts)
            while len(self._constraints) > CONSTRAINTS_KEPT:
                self._constraints.popitem(last=False)
        return self._constraints[key]

    def prepare(self, req: ChatRequest) -> Prepared:
        if req.model != self.model_id:
            raise ApiError(404, f"the model {req.model!r} is not served here (this server runs "
                           f"{self.model_id!r})", param="model", code="model_not_found")
        constraint = None
        schemas: list[dict[str, Any]] = []
        if req.tools and req.tool_choice != "none":
            registry, allow_answer = chosen(registry_from_openai(req.tools), req.tool_choice)
            schemas = registry.schemas()
        prompt = self.template.render(req.messages, schemas)
        room = self.ctx - len(prompt)
        if room < 1 or (req.max_tokens is not None and req.max_tokens > room):
            raise bad_request(
                f"this model's context is {self.ctx} tokens; the messages take {len(prompt)} and "
                f"max_tokens asks for {req.max_tokens or 1} more", "messages", "context_length_exceeded")
        max_tokens = req.max_tokens or room
        if schemas:
            constraint = self.constraint(registry, allow_answer)
            if max_tokens < constraint.min_tokens():
                raise bad_request(f"max_tokens={max_tokens} cannot hold the shortest valid tool call or "
                                  f"answer ({constraint.min_tokens()} tokens)", "max_tokens")
        sampler = Sampler(temperature=req.temperature, top_p=req.top_p, seed=req.seed)
        rid = "chatcmpl-" + secrets.token_hex(12)
        return Prepared(rid, prompt, max_tokens, sampler, constraint, req.stop)

    def submit(self, p: Prepared, emit: decode.Emit, done: Callable[[decode.Outcome | BaseException], None]
               ) -> Job:
        """Queue the completion; `emit` gets its pieces and `done` its outcome (both on the worker)."""

        def run(job: Job) -> None:
            if job.cancelled():  # the client left while the request waited: the NPU never sees it
                self.metrics.count("cancelled")
                done(decode.Outcome("cancelled", len(p.prompt), 0))
                return
            rec = self.metrics.begin(p.rid, len(p.prompt))

            def counted(kind: str, value: Any) -> None:
                if kind == "token":
                    self.metrics.token(rec)
                else:
                    emit(kind, value)

            try:
                out = self._generate(p, counted, job.cancelled)
            except BaseException:
                self.metrics.end(rec, "error")
                raise
            self.metrics.end(rec, out.finish_reason)
            done(out)

        def failed(e: BaseException) -> None:
            self.metrics.count("errors")
            done(e)

        return self.worker.submit(Job(run, failed))

    def _generate(self, p: Prepared, emit: decode.Emit, cancelled: Callable[[], bool]) -> decode.Outcome:
        model = self.llm.model
        if p.constraint is not None:
            return decode.generate_call(model, p.prompt, p.max_tokens, p.sampler, p.constraint,
                                        decode.CallStream(emit), cancelled, self.ctx)
        text = decode.StopText(self.llm.tokenizer, p.stops)
        return decode.generate_text(model, p.prompt, p.max_tokens, p.sampler, self.template.stop_ids, text,
                                    emit, cancelled, self.ctx, self.template.turn_complete)
