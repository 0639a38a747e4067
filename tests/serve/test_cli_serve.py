"""`zynpu serve` as a user starts it (a subprocess, uvicorn in the foreground), then the README's curl
command against it; SIGINT stops it without a traceback."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_zynpu_serve_answers_the_readme_curl() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "zynpu.cli", "serve", "--model", "tiny", "--device", "numpy",
               "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                    assert json.load(r)["data"][0]["id"] == "tiny"
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline
                time.sleep(0.2)
        curl = shutil.which("curl")
        if curl is None:
            pytest.skip("curl is not installed")
        body = '{"model":"tiny","messages":[{"role":"user","content":"what is the temperature"}]}'
        out = subprocess.run([curl, "-s", f"http://127.0.0.1:{port}/v1/chat/completions",
                              "-H", "Content-Type: application/json", "-d", body],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        answer = json.loads(out)
        assert answer["object"] == "chat.completion"
        assert json.loads(answer["choices"][0]["message"]["content"])["tool"] in ("read_sensor", "reply")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    # uvicorn shuts down gracefully, then re-raises the SIGINT: the CLI's usual "interrupted", exit 130.
    assert proc.returncode in (0, 130) and "Traceback" not in output, output
    assert f"dashboard http://127.0.0.1:{port}/" in output
