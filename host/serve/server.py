"""Load the model onto its device, build the app and run uvicorn: in the foreground for `zynpu serve`,
or on a background thread (`running`) for the tests and `zynpu bench serve`, on a port the OS picks.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zynpu.errors import UserError
from zynpu.serve.service import MODELS, Service

KEY_ENV = "ZYNPU_API_KEY"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_key(host: str, key_file: str | None) -> str | None:
    """The key from --api-key-file or $ZYNPU_API_KEY; required unless bound to loopback."""
    key = None
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except OSError as e:
            raise UserError(f"cannot read the API key file {key_file}: {e.strerror}") from None
    key = key or os.environ.get(KEY_ENV) or None
    if key is not None and len(key) < 16:
        raise UserError("the API key is too short; use at least 16 characters (e.g. `openssl rand -hex 16`)")
    if key is None and not is_loopback(host):
        raise UserError(f"binding to {host} exposes the NPU to the network: set {KEY_ENV} or --api-key-file "
                        "(clients send it as Authorization: Bearer ...), or bind to 127.0.0.1")
    return key


def load_service(model: str = "tiny", device: str = "sim", max_queue: int = 8) -> Service:
    from zynpu.agent.llm import load_llm
    from zynpu.device.select import ENGINES
    from zynpu.model.errors import ModelLoadError

    if model not in MODELS:
        raise UserError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if device not in ENGINES:
        raise UserError(f"unknown device {device!r}; choose from {', '.join(ENGINES)}")
    if max_queue < 0:
        raise UserError(f"--max-queue must be 0 or more (requests that may wait), got {max_queue}")
    try:
        llm = load_llm(None if model == "tiny" else model, engine=device)
    except ModelLoadError as e:
        raise UserError(f"{e}") from None
    return Service(llm, model, device, max_queue)


def make_server(app: Any, host: str, port: int, log_level: str = "info") -> Any:
    import uvicorn

    # Access logs hold the method, path and status only; headers (and so the API key) are never logged.
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


@contextmanager
def running(app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> Iterator[str]:
    """Serve `app` on a background thread; yields its base URL (http://host:port)."""
    server = make_server(app, host, port, log_level)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    sock = server.servers[0].sockets[0]
    bound_host, bound_port = sock.getsockname()[:2]
    try:
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
