"""A real server (uvicorn on 127.0.0.1, an OS-picked port) in front of the tiny model, and the official
`openai` client pointed at it. The host int8 engine (numpy) keeps the default suite fast; the dashboard
test uses the ref device so the tile's counters move."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

openai = pytest.importorskip("openai")

from zynpu.serve.app import build_app  # noqa: E402
from zynpu.serve.dashboard import Dashboard  # noqa: E402
from zynpu.serve.server import load_service, running  # noqa: E402
from zynpu.serve.service import Service  # noqa: E402
from zynpu.serve.worker import Job  # noqa: E402


@dataclass
class Live:
    url: str
    service: Service
    client: Any


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    service = load_service("tiny", "numpy", max_queue=2)
    home = tmp_path_factory.mktemp("agent")
    with running(build_app(service, dashboard=Dashboard(service, home))) as url:
        yield Live(url, service, openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0))
    service.worker.close()


class Hold:
    """Occupies the NPU worker with a job that waits for `release()`: requests queue behind it exactly as
    behind a long completion, so queue-bound tests do not depend on timing."""

    def __init__(self, service: Service) -> None:
        self.gate, self.entered = threading.Event(), threading.Event()

        def run(job: Job) -> None:
            self.entered.set()
            self.gate.wait(60)

        service.worker.submit(Job(run, lambda e: None))
        assert self.entered.wait(10)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def hold(live: Live) -> Iterator[Hold]:
    h = Hold(live.service)
    yield h
    h.release()
