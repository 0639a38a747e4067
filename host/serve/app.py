"""The HTTP face: OpenAI's chat-completions routes and the dashboard, on Starlette.

Handlers never run the model: they check the request, queue it on the NPU worker and relay what it
writes (server-sent events when `stream` is set). Any failure becomes an OpenAI-shaped error body; an
unexpected one is logged and answered with a 500, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from zynpu.serve import request as chat_request
from zynpu.serve.dashboard import Dashboard
from zynpu.serve.decode import Outcome
from zynpu.serve.errors import ApiError, bad_request
from zynpu.serve.service import Prepared, Service

log = logging.getLogger("zynpu.serve")
STATIC = Path(__file__).parent / "static"
DISCONNECT_POLL_S = 0.2


def check_key(request: Request, api_key: str | None) -> None:
    """Bearer-token check in constant time; the key itself never appears in a message or a log."""
    if api_key is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    ok = hmac.compare_digest(token.strip().encode(), api_key.encode()) and scheme.lower() == "bearer"
    if not ok:
        raise ApiError(401, "missing or wrong API key (send Authorization: Bearer <key>)",
                       "invalid_request_error", code="invalid_api_key")


class Relay:
    """Carries the worker's pieces to the event loop: thread-safe puts into an asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.queue = loop, asyncio.Queue()

    def emit(self, kind: str, value: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))

    def done(self, outcome: Outcome | BaseException) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, ("done", outcome))


def _usage(o: Outcome) -> dict[str, int]:
    return {"prompt_tokens": o.prompt_tokens, "completion_tokens": o.completion_tokens,
            "total_tokens": o.prompt_tokens + o.completion_tokens}


def _failure(e: BaseException, rid: str) -> ApiError:
    if isinstance(e, ApiError):
        return e
    log.error("completion %s failed: %s: %s", rid, type(e).__name__, e)
    return ApiError(500, f"the completion failed on the device ({type(e).__name__})", "server_error")


def _finish(o: Outcome) -> str:
    return "stop" if o.finish_reason == "cancelled" else o.finish_reason


class Api:
    def __init__(self, service: Service, api_key: str | None, dashboard: Dashboard) -> None:
        self.service, self.api_key, self.dashboard = service, api_key, dashboard

    async def models(self, request: Request) -> Response:
        check_key(request, self.api_key)
        s = self.service
        return JSONResponse({"object": "list", "data": [
            {"id": s.model_id, "object": "model", "created": s.created, "owned_by": "zynpu"}]})

    async def chat(self, request: Request) -> Response:
        check_key(request, self.api_key)
        metrics = self.service.metrics
        metrics.count("requests")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            metrics.count("bad_requests")
            raise bad_request("the request body is not valid JSON") from None
        try:
            req = chat_request.parse(body)
            prepared = self.service.prepare(req)
        except ApiError:
            metrics.count("bad_requests")
            raise
        relay = Relay(asyncio.get_running_loop())
        try:
            job = self.service.submit(prepared, relay.emit, relay.done)
        except ApiError as e:
            if e.status == 429:
                metrics.count("rejected")
            raise
        if req.stream:
            return StreamingResponse(self._stream(prepared, relay, job, req.include_usage),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await self._collect(request, prepared, relay, job)

    async def _collect(self, request: Request, p: Prepared, relay: Relay, job: Any) -> Response:
        text: list[str] = []
        name, args = None, []
        while True:
            try:
                kind, value = await asyncio.wait_for(relay.queue.get(), DISCONNECT_POLL_S)
            except asyncio.TimeoutError:
                if await request.is_disconnected():
                    job.cancel.set()
                    return Response(status_code=499)
                continue
            if kind == "text":
                text.append(value)
            elif kind == "tool_start":
                name = value
            elif kind == "tool_args":
                args.append(value)
            elif kind == "done":
                break
        if isinstance(value, BaseException):
            raise _failure(value, p.rid)
        o: Outcome = value
        message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if name is None else None}
        if name is not None:
            message["tool_calls"] = [{"id": "call_" + secrets.token_hex(8), "type": "function",
                                      "function": {"name": name, "arguments": "".join(args)}}]
        return JSONResponse({
            "id": p.rid, "object": "chat.completion", "created": int(time.time()),
            "model": self.service.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(o), "logprobs": None}],
            "usage": _usage(o),
        })

    async def _stream(self, p: Prepared, relay: Relay, job: Any, include_usage: bool) -> AsyncIterator[str]:
        created, model = int(time.time()), self.service.model_id

        def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> str:
            choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish,
                                         "logprobs": None}]
            body = {"id": p.rid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": choices}
            if usage:
                body["usage"] = usage
            return f"data: {json.dumps(body)}\n\n"

        try:
            yield chunk({"role": "assistant", "content": ""})
            while True:
                kind, value = await relay.queue.get()
                if kind == "text":
                    yield chunk({"content": value})
                elif kind == "tool_start":
                    call = {"index": 0, "id": "call_" + secrets.token_hex(8), "type": "function",
                            "function": {"name": value, "arguments": ""}}
                    yield chunk({"tool_calls": [call]})
                elif kind == "tool_args":
                    yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": value}}]})
                elif kind == "done":
                    break
            if isinstance(value, BaseException):
                # Headers are gone: the error travels as an event, as OpenAI's stream does.
                yield f"data: {json.dumps(_failure(value, p.rid).body())}\n\n"
            else:
                yield chunk({}, _finish(value))
                if include_usage:
                    yield chunk({}, usage=_usage(value))
            yield "data: [DONE]\n\n"
        finally:
            job.cancel.set()  # the client went away (or the stream ended): stop spending the NPU on it

    async def stats(self, request: Request) -> Response:
        check_key(request, self.api_key)
        return JSONResponse(await asyncio.to_thread(self.dashboard.snapshot))

    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "dashboard.html", media_type="text/html")

    async def script(self, request: Request) -> Response:
        return FileResponse(STATIC / "dashboard.js", media_type="text/javascript")


async def _api_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, ApiError)
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers)


async def _http_error(request: Request, e: Exception) -> Response:
    assert isinstance(e, HTTPException)
    kind = "not_found" if e.status_code == 404 else "invalid_request_error"
    return JSONResponse(ApiError(e.status_code, str(e.detail), kind).body(), status_code=e.status_code)


async def _crash(request: Request, e: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    return JSONResponse(ApiError(500, f"internal error ({type(e).__name__})", "server_error").body(),
                        status_code=500)


def build_app(service: Service, api_key: str | None = None, dashboard: Dashboard | None = None) -> Starlette:
    api = Api(service, api_key, dashboard or Dashboard(service))
    routes = [
        Route("/", api.page),
        Route("/dashboard.js", api.script),
        Route("/dashboard/stats", api.stats),
        Route("/v1/models", api.models),
        Route("/v1/chat/completions", api.chat, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                                                        Exception: _crash})
