"""The agent loop: one session = event in, model steps (tool call or final answer), tool results back.

Budgets (steps, tokens, wall time, context) end a session cleanly with a recorded reason; every tool
runs under its own timeout in a worker thread and is cancelled past it (`cancel`: no side effect after
that, and the trace says whether the thread stopped); everything is persisted (sqlite) and traced (JSONL).
Resuming a session (`session_id=...`) re-reads its history from the store and re-prefills it.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zynpu.agent.cancel import Cancelled, CancelToken, bind
from zynpu.agent.hwtools import Backends, build_registry, check_result
from zynpu.agent.llm import Llm, LlmSession
from zynpu.agent.policy import REPLY_TOOLS, Policy, ScopedMemory, load_policy
from zynpu.agent.prompt import quote
from zynpu.agent.store import Store
from zynpu.agent.tools import ToolError, ToolRegistry
from zynpu.agent.trace import SYSTEM, Tracer


@dataclass
class Budgets:
    max_steps: int = 6
    max_tokens: int = 1024  # tokens pushed through the model plus tokens written, per session
    max_output_tokens: int = 64  # per step
    wall_time: float = 120.0


@dataclass
class StepRecord:
    output: str
    parsed: dict[str, Any]
    input_tokens: int
    output_tokens: int
    cycles: int
    result: Any = None
    seconds: float = 0.0


@dataclass
class SessionResult:
    session_id: str
    trace_id: str
    end_reason: str  # answer | denied | max_steps | max_tokens | wall_time | context
    answer: str | None
    steps: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def input_tokens(self) -> int:
        return sum(s.input_tokens for s in self.steps)

    @property
    def output_tokens(self) -> int:
        return sum(s.output_tokens for s in self.steps)

    @property
    def cycles(self) -> int:
        return sum(s.cycles for s in self.steps)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [s.parsed for s in self.steps if "tool" in s.parsed]


CANCEL_GRACE_S = 0.25  # how long a cancelled tool gets to notice its token and return


@dataclass
class ToolRun:
    """A tool call's result, and for a call that timed out whether cancelling it stopped its thread."""

    result: Any
    cancel: str | None = None  # None: finished in time; "stopped" | "still running" after a timeout


def execute_tool(
    registry: ToolRegistry, name: str, args: dict[str, Any], grace: float = CANCEL_GRACE_S
) -> ToolRun:
    """Validate (policy) and run a tool in a worker thread under its timeout, with a `CancelToken`
    bound for it; past the timeout the token is cancelled (no side effect can begin after that) and
    the thread gets `grace` seconds to return. Failures become an {"error": ...} result."""
    if name not in registry:
        return ToolRun({"error": f"no tool {name!r}"})
    tool = registry[name]
    try:
        kwargs = tool.validate(args)
    except ToolError as e:
        return ToolRun({"error": str(e)})
    box: dict[str, Any] = {}
    token = CancelToken()

    def target() -> None:
        bind(token)
        try:
            box["result"] = check_result(tool.fn(**kwargs))
        except Cancelled as e:
            box["result"] = {"error": str(e)}
        except ToolError as e:
            box["result"] = {"error": str(e)}
        except Exception as e:  # a tool's failure is data for the model, not a crash of the loop
            box["result"] = {"error": f"{type(e).__name__}: {e}"}

    worker = threading.Thread(target=target, name=f"tool-{name}", daemon=True)
    worker.start()
    worker.join(tool.timeout)
    if not worker.is_alive():
        return ToolRun(box["result"])
    deadline = time.monotonic() + grace
    token.cancel(grace)
    worker.join(max(0.0, deadline - time.monotonic()))
    stopped = "still running" if worker.is_alive() else "stopped"
    return ToolRun({"error": f"timeout after {tool.timeout:g} s"}, stopped)


def run_tool(registry: ToolRegistry, name: str, args: dict[str, Any]) -> Any:
    """`execute_tool`'s result alone (callers that keep no trace)."""
    return execute_tool(registry, name, args).result


def _failed(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result


class Agent:
    """Runs sessions of one model against tools built per event origin from `backends`."""

    def __init__(
        self,
        llm: Llm,
        store: Store,
        tracer: Tracer,
        backends: Backends | None = None,
        budgets: Budgets | None = None,
        instructions: str = "",
        registry_factory: Callable[[tuple[str, Any]], ToolRegistry] | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.llm, self.store, self.tracer = llm, store, tracer
        self.backends = backends or Backends()
        self.budgets = budgets or Budgets()
        self.instructions = instructions
        self.policy = policy or load_policy()
        self.registry_factory = registry_factory or self._registry

    def _registry(self, origin: tuple[str, Any]) -> ToolRegistry:
        """The tools bound to this origin, its memory limited to what the policy lets it reach."""
        memory = ScopedMemory(self.backends.memory, self.policy, origin)
        return build_registry(dataclasses.replace(self.backends, memory=memory), origin)

    def handle(
        self, event: dict[str, Any], origin: tuple[str, Any] = ("cli", None), session_id: str | None = None
    ) -> SessionResult:
        """Start a session for `event`, or resume `session_id` with it as the next event."""
        b, t_start = self.budgets, time.monotonic()
        registry = self.registry_factory(origin)
        constraint = self.llm.constraint(registry)
        row = self.store.session(session_id) if session_id else None
        origin_key = f"{origin[0]}:{origin[1][0]}:{origin[1][1]}" if origin[1] else origin[0]
        if row is None:
            row = self.store.create_session(origin_key, self.instructions, session_id)
        else:
            self.store.reopen(row.id)
        sess = self.llm.session()
        fmt = self.llm.fmt
        history = self.store.history(row.id)
        sess.feed(fmt.start(history[0].content if history else event, row.instructions))
        if history:
            self._replay(sess, history[1:], event)
        self.store.append(row.id, "event", event)
        result = SessionResult(row.id, row.trace_id, "max_steps", None)
        replies, sent_to = 0, []
        attrs = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": SYSTEM,
            "gen_ai.agent.name": "zynpu-agent",
            "gen_ai.conversation.id": row.id,
            "gen_ai.request.model": self.llm.name,
            "zynpu.event.source": str(event.get("src")),
        }
        with self.tracer.span("invoke_agent zynpu-agent", row.trace_id, **attrs) as root:
            for step in range(b.max_steps + 1):
                if step == b.max_steps:
                    result.end_reason = "max_steps"
                    break
                if time.monotonic() - t_start > b.wall_time:
                    result.end_reason = "wall_time"
                    break
                used = result.input_tokens + result.output_tokens
                limit = min(b.max_output_tokens, b.max_tokens - used - len(sess.pending), sess.room)
                if limit < constraint.min_tokens():
                    result.end_reason = "max_tokens" if sess.room >= constraint.min_tokens() else "context"
                    break
                rec = self._chat(sess, constraint, limit, root, row.id, row.trace_id)
                result.steps.append(rec)
                if "answer" in rec.parsed:
                    result.answer = rec.parsed["answer"]
                    result.end_reason = "answer"
                    self.store.append(row.id, "answer", rec.parsed["answer"])
                    break
                self.store.append(row.id, "call", rec.parsed)
                denial = self.policy.check(origin, rec.parsed["tool"], rec.parsed["args"], replies)
                if denial is not None:
                    rec.result = self._deny(registry, rec.parsed, denial, replies, origin, root, row)
                    result.answer, result.end_reason = self.policy.denial_text, "denied"
                    break
                rec.result = self._tool(registry, rec.parsed, root, row.id, row.trace_id)
                replies += rec.parsed["tool"] in REPLY_TOOLS and not _failed(rec.result)
                if rec.parsed["tool"] == "udp_send" and not _failed(rec.result):
                    sent_to.append(f"{self.backends.peer_host}:{rec.parsed['args']['port']}")
                self.store.append(row.id, "result", rec.result)
                sess.feed(fmt.result(rec.result))
            if result.end_reason == "answer" and sent_to:
                # Report what happened (the peer host the datagram really went to), whatever the
                # model wrote or the request named.
                result.answer = "sent to " + ", ".join(sent_to)
            result.seconds = time.monotonic() - t_start
            root.set(
                **{
                    "zynpu.session.end_reason": result.end_reason,
                    "gen_ai.usage.input_tokens": result.input_tokens,
                    "gen_ai.usage.output_tokens": result.output_tokens,
                    "zynpu.npu.cycles": result.cycles,
                }
            )
        self.store.end_session(row.id, result.end_reason, result.answer)
        return result

    def _deny(
        self,
        registry: ToolRegistry,
        call: dict[str, Any],
        reason: str,
        replies: int,
        origin: tuple[str, Any],
        root: Any,
        row: Any,
    ) -> Any:
        """A call the policy refuses: not run, traced, and the sender told so (when a reply is allowed)."""
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call["tool"],
            "gen_ai.conversation.id": row.id,
            "zynpu.tool.args": json.dumps(call["args"], separators=(",", ":")),
            "zynpu.policy.denied": reason,
        }
        with self.tracer.span(f"execute_tool {call['tool']}", row.trace_id, root, **attrs) as span:
            span.status = "ERROR"
        result = {"error": f"denied: {reason}"}
        self.store.append(row.id, "result", result)
        text = self.policy.denial_text
        if self.policy.check(origin, "reply", {"text": text}, replies) is None and "reply" in registry:
            run_tool(registry, "reply", {"text": text})
        self.store.append(row.id, "answer", text)
        return result

    def _replay(self, sess: LlmSession, history: list[Any], event: dict[str, Any]) -> None:
        """Re-prefill a stored session's calls and results, then the new event."""
        fmt = self.llm.fmt
        for m in history:  # stored outputs are quoted like any data before they are re-tokenized
            if m.role == "call":
                sess.feed(fmt.written(quote(m.content)))
            elif m.role == "answer":
                sess.feed(fmt.written(quote({"answer": m.content})))
            elif m.role == "result":
                sess.feed(fmt.result(m.content))
            elif m.role == "event":
                sess.feed(fmt.next_event(m.content))
        sess.feed(fmt.next_event(event))

    def _chat(
        self, sess: LlmSession, constraint: Any, limit: int, root: Any, sid: str, trace_id: str
    ) -> StepRecord:
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": SYSTEM,
            "gen_ai.request.model": self.llm.name,
            "gen_ai.conversation.id": sid,
            "gen_ai.request.max_tokens": limit,
            "gen_ai.request.temperature": self.llm.temperature,
        }
        t0 = time.monotonic()
        with self.tracer.span(f"chat {self.llm.name}", trace_id, root, **attrs) as span:
            out = sess.write(constraint, limit)
            parsed = json.loads(out.text)
            span.set(
                **{
                    "gen_ai.usage.input_tokens": out.input_tokens,
                    "gen_ai.usage.output_tokens": len(out.ids),
                    "gen_ai.response.finish_reasons": ["tool_call" if "tool" in parsed else "stop"],
                    "zynpu.npu.cycles": out.cycles,
                    "zynpu.model.forwards": out.forwards,
                    "zynpu.output": out.text,
                }
            )
        return StepRecord(
            out.text, parsed, out.input_tokens, len(out.ids), out.cycles, seconds=time.monotonic() - t0
        )

    def _tool(self, registry: ToolRegistry, call: dict[str, Any], root: Any, sid: str, trace_id: str) -> Any:
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call["tool"],
            "gen_ai.tool.call.id": f"call_{self.tracer.emitted}",
            "gen_ai.tool.type": "function",
            "gen_ai.conversation.id": sid,
            "zynpu.tool.args": json.dumps(call["args"], separators=(",", ":")),
        }
        with self.tracer.span(f"execute_tool {call['tool']}", trace_id, root, **attrs) as span:
            run = execute_tool(registry, call["tool"], call["args"])
            result = run.result
            span.set(**{"zynpu.tool.result": json.dumps(result, separators=(",", ":"))[:200]})
            if run.cancel is not None:  # timed out: whether cancelling the call stopped its thread
                span.set(**{"zynpu.tool.cancel": run.cancel})
            if isinstance(result, dict) and "error" in result:
                span.status = "ERROR"
        return result
