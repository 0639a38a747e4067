"""One NPU, many clients: a single worker thread runs jobs in arrival order behind a bounded queue.

The tile has one DMA pair and one set of counters, so completions never interleave on it. Admission is
decided at submit time: past `max_queue` waiting jobs the request is refused at once (429 with a
Retry-After from the recent job times) instead of waiting unboundedly.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zynpu.serve.errors import ApiError


@dataclass
class Job:
    run: Callable[[Job], None]
    on_error: Callable[[BaseException], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float | None = None

    def cancelled(self) -> bool:
        return self.cancel.is_set()


class NpuWorker:
    def __init__(self, max_queue: int = 8) -> None:
        if max_queue < 0:
            raise ValueError("max_queue must be >= 0")
        self.max_queue = max_queue
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.lock = threading.Lock()
        self.waiting = 0
        self.busy = False
        self.mean_seconds = 1.0  # running mean of job times, for Retry-After
        self.thread = threading.Thread(target=self._loop, name="zynpu-npu", daemon=True)
        self.thread.start()

    def retry_after(self) -> int:
        return max(1, math.ceil(self.mean_seconds * (self.waiting + 1)))

    def submit(self, job: Job) -> Job:
        with self.lock:
            if self.waiting >= self.max_queue:
                wait = self.retry_after()
                raise ApiError(
                    429,
                    f"the NPU queue is full ({self.max_queue} waiting); retry in {wait} s",
                    "rate_limit_error",
                    code="queue_full",
                    headers={"Retry-After": str(wait)},
                )
            self.waiting += 1
        self.jobs.put(job)
        return job

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            with self.lock:
                self.waiting -= 1
                self.busy = True
            try:
                job.started = time.monotonic()
                job.run(job)  # a job cancelled while it waited returns at once (its run checks)
                dt = time.monotonic() - job.started
                self.mean_seconds = 0.7 * self.mean_seconds + 0.3 * dt
            except BaseException as e:  # a failing job must not take the worker (and the server) down
                job.on_error(e)
            finally:
                with self.lock:
                    self.busy = False

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=30)
