"""Every command that opens a device closes it, on success and on failure (issue 12).

The real ref and sim devices run; their classes are only wrapped to count which instances were opened
and are still open, so a bench or CLI path that forgets `close()` leaves a live device and fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from zynpu.cli import main as zynpu_main
from zynpu.device.ref import RefDevice


@dataclass
class Ledger:
    opened: int = 0
    live: set[int] = field(default_factory=set)


def _count(monkeypatch: pytest.MonkeyPatch, cls: type, ledger: Ledger) -> None:
    init, close = cls.__init__, cls.close

    def counted_init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        ledger.opened += 1
        ledger.live.add(id(self))

    def counted_close(self) -> None:  # type: ignore[no-untyped-def]
        close(self)
        ledger.live.discard(id(self))

    monkeypatch.setattr(cls, "__init__", counted_init)
    monkeypatch.setattr(cls, "close", counted_close)


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    ledger = Ledger()
    _count(monkeypatch, RefDevice, ledger)
    try:
        from zynpu.device.sim.device import SimDevice
    except ImportError:  # no sim extra: only ref devices are counted
        pass
    else:
        _count(monkeypatch, SimDevice, ledger)
    yield ledger


def test_bench_tile_closes_every_port_it_opens(devices: Ledger) -> None:
    from zynpu.bench import tile

    result = tile.run("ref", k=128, n=64, ports=(2, 4))
    assert result["device"] == "ref" and set(result["decode_stream_efficiency_by_ports"]) == {"1", "2", "4"}
    assert (devices.opened, devices.live) == (1 + 2 + 4, set())


def test_bench_tile_closes_its_device_when_a_job_fails(
    devices: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zynpu.bench import tile
    from zynpu.npu import Npu

    def failing(self: Npu, x: np.ndarray, weights: object) -> np.ndarray:
        raise RuntimeError("the tile stopped answering")

    monkeypatch.setattr(Npu, "matmul", failing)
    with pytest.raises(RuntimeError, match="stopped answering"):
        tile.run("ref", k=64, n=32)
    assert (devices.opened, devices.live) == (1, set())


def test_bench_decode_closes_its_ports(devices: Ledger) -> None:
    from zynpu.bench import decode

    result = decode.run(device_name="ref", tokens=2, ports=2)
    assert result["ports"] == 2 and result["tokens"] == 2
    assert (devices.opened, devices.live) == (2, set())


def test_bench_device_closes_the_simulator(devices: Ledger) -> None:
    pytest.importorskip("amaranth", reason="bench device runs the RTL on the sim device (pip install .[sim])")
    from zynpu.bench import device

    result = device.run(k=64, n=32, repeats=1, cocotb=False)
    assert result["k"] == 64
    assert (devices.opened, devices.live) == (1, set())


def test_open_ports_closes_the_opened_ports_when_one_fails(
    devices: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zynpu.device import select
    from zynpu.device.multiport import open_ports

    real, calls = select.open_device, []

    def third_fails(name: str | None = None, **options: object) -> object:
        calls.append(name)
        if len(calls) == 3:
            raise OSError("no third DMA in this overlay")
        return real(name, **options)

    monkeypatch.setattr(select, "open_device", third_fails)
    with pytest.raises(OSError, match="third DMA"):
        open_ports("ref", 4)
    assert (devices.opened, devices.live) == (2, set())


def test_generate_closes_its_device(devices: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("gguf", reason="the model extra (pip install .[model])")
    args = ["generate", "--model", "tiny-qwen3", "--device", "ref", "--prompt", "hello", "--tokens", "2"]
    assert zynpu_main([*args, "--json"]) == 0
    assert '"tokens": 2' in capsys.readouterr().out
    assert (devices.opened, devices.live) == (1, set())


def test_agent_run_closes_its_device(
    devices: Ledger, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tokenizers", reason="the agent's model needs the model extra (pip install .[model])")
    assert zynpu_main(["agent", "run", "what time is it", "--device", "ref", "--home", str(tmp_path)]) == 0
    assert '-> {"tool":"time_now","args":{}}' in capsys.readouterr().out
    assert (devices.opened, devices.live) == (1, set())
