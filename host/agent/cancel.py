"""Cancellation of a tool call that ran past its timeout.

Python threads cannot be killed, so a tool is stopped cooperatively: the runtime hands every tool
invocation a `CancelToken` (through the `current()` context variable, set in the tool's worker thread,
so tool signatures and their schemas stay as they are). Tools and their backends block only in bounded
steps that watch the token (`sleep`, `wait_for`) and perform each side effect (a datagram, a BLE
notification, a memory write) inside `token.effect()`, which checks the token under a lock that
`cancel()` then waits for: once `cancel()` has returned no side effect can begin, and none is half
done. A reply is never sent after the session gave up on the call, even by a tool that ignores the
token while it waits.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.02  # the longest a watching wait goes without looking at the token


class Cancelled(Exception):
    """The tool call was cancelled (it ran past its timeout); nothing further may happen."""


class CancelToken:
    """Set once by the runtime; watched by the tool and by the backends it calls."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._effects = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, wait: float = 1.0) -> bool:
        """Mark the call cancelled: no side effect begins after this. Then wait up to `wait` seconds
        for one already in progress to finish; False if it was still going on."""
        self._event.set()
        if not self._effects.acquire(timeout=wait):
            return False
        self._effects.release()
        return True

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled: the tool call timed out")

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, or raise Cancelled as soon as the call is cancelled."""
        if self._event.wait(seconds):
            self.check()

    @contextmanager
    def effect(self) -> Iterator[None]:
        """Run one side effect only if the call is still live; `cancel()` waits until it is done."""
        with self._effects:
            self.check()
            yield


_current: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("zynpu_cancel", default=None)


def current() -> CancelToken:
    """The token of the tool call running in this thread (a fresh, never-cancelled one outside a call)."""
    token = _current.get()
    return token if token is not None else CancelToken()


def bind(token: CancelToken) -> None:
    """Make `token` the current one for this thread (the runtime calls it in the tool's worker thread)."""
    _current.set(token)


def sleep(seconds: float) -> None:
    """`time.sleep` for tools: ends early with Cancelled when the call is cancelled."""
    current().sleep(seconds)


def wait_for(done: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `done()` in steps of at most POLL_S until it holds; Cancelled or TimeoutError otherwise."""
    token, deadline = current(), time.monotonic() + timeout
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{what}: no answer within {timeout:g} s")
        token.sleep(min(POLL_S, left))
