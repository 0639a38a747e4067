"""Which event runs next when more arrive than the agent can handle: per-origin rate limits, bounded
per-origin queues served round-robin, and every drop counted and traced.

A flooding sender can then cost at most its burst of sessions, and it never stands in front of
another sender: the queues are served one origin at a time in turn.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def origin_key(origin: tuple[str, Any]) -> str:
    """Rate limits apply per sending host (a flooder changing its source port is still one origin)."""
    kind, addr = origin
    return f"{kind}:{addr[0]}" if kind == "udp" and addr else kind


@dataclass
class Bucket:
    tokens: float
    t: float


@dataclass
class Admission:
    rate: float = 0.5  # sessions per second per origin, sustained
    burst: int = 3  # sessions an origin may start back to back
    per_origin: int = 4  # queued events per origin
    total: int = 64  # queued events in all
    clock: Callable[[], float] = time.monotonic
    tracer: Any = None
    exempt: tuple[str, ...] = ("timer", "sensor", "cli")  # the board's own events are never rate limited
    queues: dict[str, collections.deque] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    dropped: collections.Counter = field(default_factory=collections.Counter)
    admitted: int = 0
    _turn: collections.deque = field(default_factory=collections.deque)

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def _take_token(self, key: str) -> bool:
        now = self.clock()
        b = self.buckets.setdefault(key, Bucket(float(self.burst), now))
        b.tokens = min(float(self.burst), b.tokens + (now - b.t) * self.rate)
        b.t = now
        if b.tokens < 1.0:
            return False
        b.tokens -= 1.0
        return True

    def _drop(self, key: str, reason: str) -> bool:
        self.dropped[(key, reason)] += 1
        if self.tracer is not None:
            with self.tracer.span(
                "drop_event", "0" * 32, **{"zynpu.origin": key, "zynpu.drop.reason": reason}
            ) as s:
                s.status = "ERROR"
        return False

    def offer(self, wake: Any) -> bool:
        """Queue an event (anything with `.origin`), or drop it (counted, traced) and say so."""
        key = origin_key(wake.origin)
        q = self.queues.setdefault(key, collections.deque())
        if len(q) >= self.per_origin or len(self) >= self.total:
            return self._drop(key, "queue_full")
        if wake.origin[0] not in self.exempt and not self._take_token(key):
            return self._drop(key, "rate")
        if not q and key not in self._turn:
            self._turn.append(key)
        q.append(wake)
        self.admitted += 1
        return True

    def next(self) -> Any:
        """The oldest event of the next origin in turn, or None."""
        while self._turn:
            key = self._turn.popleft()
            q = self.queues.get(key)
            if q:
                wake = q.popleft()
                if q:
                    self._turn.append(key)
                return wake
        return None

    def drop_counts(self) -> dict[str, int]:
        return {f"{k}/{r}": n for (k, r), n in sorted(self.dropped.items())}
