"""The tools the agent may call, wired to the hardware through small backends.

No tool runs a shell command or reaches a host the policy did not configure: `reply` answers only the
origin of the event that woke the session, `udp_send` only the configured peer host (ports from 1024),
`ble_notify` only the GATT characteristic. Backends: a radio outbox (the real `Radio` or a recorder),
sensors (hwmon or simulated), the NPU's counters, a key-value memory (sqlite) and a clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from zynpu.agent.sensors import UNITS, Sensors, SimSensors
from zynpu.agent.tools import MaxLen, Range, ToolError, ToolRegistry

TEXT = Annotated[str, MaxLen(48)]
KEY = Annotated[str, MaxLen(16)]
VALUE = Annotated[str, MaxLen(32)]
PORT = Annotated[int, Range(1024, 65535)]


@dataclass
class RecordingOutbox:
    """Keeps what would have been sent (training data, evals, `agent run` without a radio)."""

    sent: list[tuple[str, Any, bytes]] = field(default_factory=list)

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append(("udp", addr, data))

    def notify_ble(self, data: bytes) -> None:
        self.sent.append(("ble", None, data))


class HostUdpOutbox:
    """`agent run` without a radio: datagrams really leave through a host UDP socket (so an answer
    such as "sent to 127.0.0.1:9000" reports what happened); there is no BLE here."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent: list[tuple[str, Any, bytes]] = []

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sock.sendto(data, addr)
        self.sent.append(("udp", addr, data))

    def notify_ble(self, data: bytes) -> None:
        raise ToolError("no BLE radio on this host: nothing was notified")

    def close(self) -> None:
        self.sock.close()


class RadioOutbox:
    """Sends through the ESP32 (`zynpu.radio.Radio`, simulated or on the board)."""

    def __init__(self, radio: Any, sock: Any = None) -> None:
        self.radio, self.sock = radio, sock
        self.sent: list[tuple[str, Any, bytes]] = []

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        self.radio.udp.send(data, addr, sock=self.sock)
        self.sent.append(("udp", addr, data))

    def notify_ble(self, data: bytes) -> None:
        self.radio.ble.notify(data)
        self.sent.append(("ble", None, data))


class NpuCounters(Protocol):
    def status(self) -> dict[str, int]: ...


@dataclass
class FixedCounters:
    jobs: int = 0
    cycles: int = 0

    def status(self) -> dict[str, int]:
        return {"jobs": self.jobs, "cycles": self.cycles}


class LiveCounters:
    """The jobs and busy cycles the NPU driver has counted so far (`Npu.total`)."""

    def __init__(self, npu: Any) -> None:
        self.npu = npu

    def status(self) -> dict[str, int]:
        return {"jobs": int(self.npu.total.jobs), "cycles": int(self.npu.total.cycles)}


class Memory(Protocol):
    """A string map: a dict, or the session store's persistent `KeyValue`."""

    def get(self, key: str) -> str | None: ...
    def __setitem__(self, key: str, value: str) -> None: ...


@dataclass
class Backends:
    outbox: Any = field(default_factory=RecordingOutbox)
    sensors: Sensors = field(default_factory=SimSensors)
    npu: NpuCounters = field(default_factory=FixedCounters)
    memory: Memory = field(default_factory=dict)  # type: ignore[assignment]
    clock: Callable[[], str] = field(default_factory=lambda: lambda: time.strftime("%H:%M:%S"))
    peer_host: str = "127.0.0.1"


def build_registry(b: Backends, origin: tuple[str, Any] = ("cli", None)) -> ToolRegistry:
    """The agent's tools bound to backends and to the origin of the event being handled."""
    reg = ToolRegistry()
    kind, addr = origin

    @reg.register(timeout=2.0)
    def reply(text: TEXT) -> dict[str, Any]:
        """Answer whoever sent the event (UDP sender or BLE peer).

        Args:
            text: the reply
        """
        if kind == "udp":
            b.outbox.send_udp(text.encode(), addr)
        elif kind == "ble":
            b.outbox.notify_ble(text.encode())
        else:
            b.outbox.sent.append(("cli", None, text.encode()))
        return {"ok": True}

    @reg.register(timeout=2.0)
    def udp_send(port: PORT, text: TEXT) -> dict[str, Any]:
        """Send a UDP datagram to a port on the configured peer host.

        Args:
            port: destination UDP port (1024-65535)
            text: datagram payload
        """
        b.outbox.send_udp(text.encode(), (b.peer_host, port))
        return {"ok": True}

    @reg.register(timeout=2.0)
    def ble_notify(text: TEXT) -> dict[str, Any]:
        """Notify BLE subscribers (e.g. a phone) with a short text.

        Args:
            text: notification payload
        """
        b.outbox.notify_ble(text.encode())
        return {"ok": True}

    @reg.register(timeout=1.0)
    def read_sensor(name: Literal["temp", "power"]) -> dict[str, Any]:
        """Read a board sensor: temperature in C or power in W.

        Args:
            name: which sensor
        """
        return {"value": b.sensors.read(name), "unit": UNITS[name]}

    @reg.register(timeout=1.0)
    def npu_status() -> dict[str, Any]:
        """The NPU's job and busy-cycle counters."""
        return b.npu.status()

    @reg.register(timeout=1.0)
    def memory_set(key: KEY, value: VALUE) -> dict[str, Any]:
        """Store a value under a key in the agent's memory.

        Args:
            key: memory key
            value: value to store
        """
        b.memory[key] = value
        return {"ok": True}

    @reg.register(timeout=1.0)
    def memory_get(key: KEY) -> dict[str, Any]:
        """Look a key up in the agent's memory (null if absent).

        Args:
            key: memory key
        """
        return {"value": b.memory.get(key)}

    @reg.register(timeout=1.0)
    def time_now() -> dict[str, Any]:
        """The board's local time of day."""
        return {"time": b.clock()}

    return reg


def check_result(result: Any) -> Any:
    """Tool results must be JSON-ready (they go back to the model quoted as data)."""
    import json

    try:
        json.dumps(result)
    except (TypeError, ValueError) as e:
        raise ToolError(f"tool result is not JSON: {e}") from None
    return result


def world_registry(
    world: Any, origin: tuple[str, Any] = ("udp", ("127.0.0.1", 9))
) -> tuple[ToolRegistry, Backends]:
    """Tools bound to a task's simulated world (the same functions the board runs, other backends)."""
    b = Backends(
        outbox=RecordingOutbox(),
        sensors=SimSensors(world.temp, world.power),
        npu=FixedCounters(world.npu_jobs, world.npu_cycles),
        memory=dict(world.memory),
        clock=lambda: world.time,
    )
    return build_registry(b, origin), b
