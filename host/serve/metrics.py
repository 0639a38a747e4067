"""What the dashboard shows about the server and the NPU, read from the real counters.

NPU figures come from the driver's running totals (`Npu.total`: tile jobs, cycles, busy/starved/
stalled cycles from the tile's own counters, DMA bytes each way); a completion's share is the
difference across it. With the host engine (`--device numpy`) there is no tile: the engine's metered
jobs and bytes are shown instead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict
from typing import Any

TOKEN_WINDOW_S = 5.0
NPU_FIELDS = ("jobs", "cycles", "active", "starved", "stalled", "bytes_in", "bytes_out")


class Metrics:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.lock = threading.Lock()
        self.started = time.time()
        self.counts = {"requests": 0, "completed": 0, "rejected": 0, "cancelled": 0, "bad_requests": 0,
                       "errors": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self.token_times: deque[float] = deque()
        self.recent: deque[dict[str, Any]] = deque(maxlen=20)
        self.active: dict[str, Any] | None = None

    # NPU / engine --------------------------------------------------------------------------------
    def npu(self) -> Any:
        eng = getattr(self.model, "engine", None)
        inner = getattr(eng, "inner", None)
        return inner if inner is not None and hasattr(inner, "total") else None

    def npu_totals(self) -> dict[str, int] | None:
        npu = self.npu()
        return {k: int(getattr(npu.total, k)) for k in NPU_FIELDS} if npu is not None else None

    def engine_totals(self) -> dict[str, int] | None:
        eng = getattr(self.model, "engine", None)
        stats = getattr(eng, "stats", None)
        return {k: int(v) for k, v in asdict(stats).items()} if stats is not None else None

    # Events from the handlers and the worker ------------------------------------------------------
    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def begin(self, rid: str, prompt_tokens: int) -> dict[str, Any]:
        rec = {"id": rid, "start": time.time(), "prompt_tokens": prompt_tokens, "completion_tokens": 0,
               "ttft_s": None, "npu_before": self.npu_totals(), "engine_before": self.engine_totals()}
        with self.lock:
            self.active = rec
        return rec

    def token(self, rec: dict[str, Any]) -> None:
        now = time.time()
        with self.lock:
            rec["completion_tokens"] += 1
            if rec["ttft_s"] is None:
                rec["ttft_s"] = now - rec["start"]
            self.token_times.append(now)
            self.counts["completion_tokens"] += 1

    def end(self, rec: dict[str, Any], finish: str) -> None:
        now = time.time()
        after, before = self.npu_totals(), rec.pop("npu_before")
        eng_after, eng_before = self.engine_totals(), rec.pop("engine_before")
        rec["seconds"] = now - rec["start"]
        rec["finish_reason"] = finish
        if after is not None and before is not None:
            d = {k: after[k] - before[k] for k in NPU_FIELDS}
            jobs = max(d["jobs"], 1)
            rec["npu"] = d | {f"{k}_per_job": d[k] / jobs for k in ("cycles", "active", "starved", "stalled")}
        if eng_after is not None and eng_before is not None:
            rec["engine"] = {k: eng_after[k] - eng_before[k] for k in eng_after}
        with self.lock:
            self.counts["completed" if finish != "cancelled" else "cancelled"] += 1
            self.counts["prompt_tokens"] += rec["prompt_tokens"]
            self.recent.appendleft(rec)
            if self.active is rec:
                self.active = None

    def tokens_per_s(self) -> float:
        now = time.time()
        with self.lock:
            while self.token_times and self.token_times[0] < now - TOKEN_WINDOW_S:
                self.token_times.popleft()
            n = len(self.token_times)
        return n / TOKEN_WINDOW_S

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            active = dict(self.active) if self.active else None
            counts = dict(self.counts)
            recent = [dict(r) for r in self.recent]
        if active:
            active.pop("npu_before", None)
            active.pop("engine_before", None)
        return {
            "time": time.time(),
            "uptime_s": time.time() - self.started,
            "tokens_per_s": self.tokens_per_s(),
            "counts": counts,
            "active": active,
            "recent": recent,
            "npu": self.npu_totals(),
            "engine": self.engine_totals(),
        }
