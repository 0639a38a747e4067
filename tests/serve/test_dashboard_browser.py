"""The dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by selenium
through the system chromedriver): it loads without console errors, its numbers move while a completion
runs on the NPU (ref device: the tile's counters), a datagram through the simulated ESP32 wakes the
agent inside the server and its session and the radio link show up, and a screenshot lands in results/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")
webdriver = pytest.importorskip("selenium.webdriver")

from zynpu.serve.agent_host import AgentHost, open_radio  # noqa: E402
from zynpu.serve.app import build_app  # noqa: E402
from zynpu.serve.dashboard import Dashboard  # noqa: E402
from zynpu.serve.server import load_service, running  # noqa: E402

RESULTS = Path(__file__).resolve().parents[2] / "results"
ASK = [{"role": "user", "content": "send hello to port 9100"}]


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as DriverService

    binary, driver_path = _chromium()
    opts = Options()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                "--disable-gpu"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(executable_path=driver_path), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def _number(driver: object, element_id: str) -> float:
    text = driver.find_element("id", element_id).text.replace(",", "").split("/")[0].strip()  # type: ignore[attr-defined]
    return float(text) if text not in ("", "–") else float("nan")


@pytest.mark.slow  # a browser start, an agent session and three completions on the ref tile: ~30 s here
def test_dashboard_moves_while_a_completion_runs(browser: object, tmp_path: Path) -> None:
    home = tmp_path / "agent"
    service = load_service("tiny", "ref", max_queue=2)
    agent = AgentHost(service, open_radio("sim"), home)
    driver = browser
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(60)
    with running(build_app(service, dashboard=Dashboard(service, home, radio=agent.radio))) as url:
        driver.get(f"{url}/")  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        while not driver.find_element("id", "status").text.startswith("updated"):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the dashboard never drew the server's stats"
            time.sleep(0.1)
        assert "tiny on ref" in driver.find_element("id", "model").text  # type: ignore[attr-defined]

        # A datagram through the simulated ESP32 wakes the agent; it runs on the server's NPU queue.
        peer.sendto(b"what is the board temperature?", ("127.0.0.1", agent.port))
        reply, _ = peer.recvfrom(2048)
        assert reply.startswith(b"temp")
        deadline = time.monotonic() + 20
        while not driver.find_elements("css selector", "#sessions .bar"):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the agent's session never appeared"
            time.sleep(0.1)
        assert "udp" in driver.find_element("id", "sessions").text  # type: ignore[attr-defined]
        radio_text = driver.find_element("id", "radio-table").text  # type: ignore[attr-defined]
        assert "messages received" in radio_text
        cycles0 = _number(driver, "npu-cycles")

        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        finished = threading.Event()

        def work() -> None:
            for _ in range(3):
                client.chat.completions.create(model="tiny", messages=ASK, temperature=0)
            finished.set()

        worker = threading.Thread(target=work)
        worker.start()
        seen: list[tuple[float, float]] = []  # (npu cycles, tokens/s) read while a completion was running
        while not finished.is_set():
            if service.metrics.active is not None:
                seen.append((_number(driver, "npu-cycles"), _number(driver, "tokens-per-s")))
            time.sleep(0.25)
        worker.join()
        RESULTS.mkdir(exist_ok=True)
        time.sleep(0.8)  # one more refresh, then the picture
        driver.save_screenshot(str(RESULTS / "serve-dashboard.png"))  # type: ignore[attr-defined]
        logs = driver.get_log("browser")  # type: ignore[attr-defined]
        cycles1 = _number(driver, "npu-cycles")
    agent.close()
    peer.close()
    service.worker.close()

    assert not [e for e in logs if e["level"] == "SEVERE"], logs
    assert len({c for c, _ in seen}) >= 2, seen  # the counters moved on screen during a completion
    assert any(tps > 0 for _, tps in seen), seen
    assert cycles1 > cycles0
    assert (RESULTS / "serve-dashboard.png").stat().st_size > 10_000
