"""A step that takes seconds, shown as it runs: what it is, elapsed time, the estimate when known.

On a terminal the line updates in place every 0.2 s; elsewhere (CI logs, notebooks) it is printed once
at the start and once with the time taken, so no long step is ever silent.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def stage(
    text: str, out: TextIO | None = None, estimate_s: float | None = None, enabled: bool = True
) -> Iterator[None]:
    out = out or sys.stderr
    if not enabled:
        yield
        return
    hint = f" (~{estimate_s:.0f} s)" if estimate_s else ""
    start = time.monotonic()
    live = getattr(out, "isatty", lambda: False)()
    stop = threading.Event()
    thread = None
    if live:

        def tick() -> None:
            while not stop.wait(0.2):
                print(f"\r{text}{hint} ... {time.monotonic() - start:5.1f} s", end="", file=out, flush=True)

        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
    else:
        print(f"{text}{hint} ...", end="", file=out, flush=True)
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join()
            print(f"\r{text} ... done in {time.monotonic() - start:.1f} s   ", file=out, flush=True)
        else:
            print(f" {time.monotonic() - start:.1f} s", file=out, flush=True)
