"""`zynpu bench serve`: the server as its clients see it, at 1, 2 and 4 concurrent clients.

A real server on 127.0.0.1 and plain HTTP clients (stdlib, streaming): time to first token (request
sent -> first content chunk), tokens/s per client (tokens written / that request's wall time), the
aggregate tokens/s, and queue rejections (429s; the client waits Retry-After and tries again, as the
openai SDK does). The queue bound is small on purpose (2 waiting) so that 4 clients meet it.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from typing import Any
from urllib.parse import urlparse

LEVELS = (1, 2, 4)
PROMPTS = {
    "tiny": "send hello to port 9100",
    "gemma3-270m": "Name three things a small FPGA board can do.",
}


def _one(url: str, body: dict[str, Any]) -> dict[str, float]:
    """One streamed completion, retried after each 429; returns ttft, tokens, seconds, rejections."""
    u = urlparse(url)
    rejections = 0
    while True:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=900)
        t0 = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status == 429:
            rejections += 1
            wait = float(resp.getheader("Retry-After") or 1)
            resp.read()
            conn.close()
            time.sleep(wait)
            continue
        if resp.status != 200:
            raise RuntimeError(f"server answered {resp.status}: {resp.read()[:200]!r}")
        ttft, tokens = None, 0
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            elif ttft is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                ttft = time.perf_counter() - t0
        seconds = time.perf_counter() - t0
        conn.close()
        return {"ttft_s": ttft if ttft is not None else seconds, "tokens": tokens, "seconds": seconds,
                "rejections": rejections}


def _level(url: str, body: dict[str, Any], clients: int, requests: int) -> dict[str, float]:
    results: list[dict[str, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client() -> None:
        start.wait()
        for _ in range(requests):
            r = _one(url, body)
            with lock:
                results.append(r)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "ttft_s": statistics.median(r["ttft_s"] for r in results),
        "tokens_per_s_per_client": statistics.mean(r["tokens"] / r["seconds"] for r in results),
        "aggregate_tokens_per_s": sum(r["tokens"] for r in results) / wall,
        "rejections": sum(r["rejections"] for r in results),
        "completions": len(results),
    }


def run(model: str = "tiny", device: str = "sim", requests: int = 2, max_tokens: int = 16,
        max_queue: int = 2) -> dict[str, Any]:
    from zynpu.serve.app import build_app
    from zynpu.serve.server import load_service, running

    t_load = time.perf_counter()
    service = load_service(model, device, max_queue)
    load_s = time.perf_counter() - t_load
    body = {"model": model, "messages": [{"role": "user", "content": PROMPTS[model]}], "temperature": 0,
            "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True}}
    out: dict[str, Any] = {"model": model, "device": device, "max_queue": max_queue, "max_tokens": max_tokens,
                           "requests_per_client": requests, "load_s": load_s}
    try:
        with running(build_app(service)) as url:
            _one(url, body)  # warm-up: first-call costs (caches, the grammar's masks) stay out of the figures
            for n in LEVELS:
                for key, value in _level(url, body, n, requests).items():
                    out[f"c{n}_{key}"] = value
    finally:
        service.worker.close()
        service.llm.close()
    out["queue_rejections"] = sum(out[f"c{n}_rejections"] for n in LEVELS)
    return out
