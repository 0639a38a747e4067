"""The tools the agent may call, wired to the hardware through small backends.

No tool runs a shell command or reaches a host the policy did not configure: `reply` answers only the
origin of the event that woke the session, `udp_send` only the configured peer host (ports from 1024),
`ble_notify` only the GATT characteristic. Backends: a radio outbox (the real `Radio` or a recorder),
sensors (hwmon or simulated), the NPU's counters, a key-value memory (sqlite) and a clock.

Every tool honours its call's cancel token (`zynpu.agent.cancel`): each side effect (datagram, BLE
notification, memory write) happens inside `token.effect()`, and waits (the radio's answer) are
bounded and watch the token, so a call that timed out stops and causes nothing afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from zynpu.agent.cancel import Cancelled, current, wait_for
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
        with current().effect():
            self.sent.append(("udp", addr, data))

    def notify_ble(self, data: bytes) -> None:
        with current().effect():
            self.sent.append(("ble", None, data))

    def record(self, data: bytes) -> None:
        """An answer to the command line (no radio): kept, like a datagram would be sent."""
        with current().effect():
            self.sent.append(("cli", None, data))


class HostUdpOutbox:
    """`agent run` without a radio: datagrams really leave through a host UDP socket (so an answer
    such as "sent to 127.0.0.1:9000" reports what happened); there is no BLE here."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(1.0)  # a full send buffer blocks at most this long
        self.sent: list[tuple[str, Any, bytes]] = []

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        with current().effect():
            self.sock.sendto(data, addr)
            self.sent.append(("udp", addr, data))

    def record(self, data: bytes) -> None:
        with current().effect():
            self.sent.append(("cli", None, data))

    def notify_ble(self, data: bytes) -> None:
        raise ToolError("no BLE radio on this host: nothing was notified")

    def close(self) -> None:
        self.sock.close()


class RadioOutbox:
    """Sends through the ESP32 (`zynpu.radio.Radio`, simulated or on the board).

    A request is queued on the link inside the call's `effect()`, then its answer is awaited in
    bounded steps that watch the cancel token; a cancelled call withdraws a request that has not left
    the host yet, so a reply stuck behind a saturated link is never sent once the session gave up."""

    def __init__(self, radio: Any, sock: Any = None) -> None:
        self.radio, self.sock = radio, sock
        self.sent: list[tuple[str, Any, bytes]] = []

    def _await(self, submit: Callable[[], Any]) -> None:
        with current().effect():
            pending = submit()
        try:
            wait_for(pending.done, self.radio.timeout, pending.what)
        except Cancelled:
            if self.radio.withdraw(pending):
                raise Cancelled(f"cancelled: {pending.what} withdrawn before it was sent") from None
            raise
        except TimeoutError:
            self.radio.withdraw(pending)
            limit = self.radio.timeout
            raise ToolError(f"{pending.what}: the radio did not answer within {limit:g} s") from None
        pending.result(0)  # the ESP32's status: raises on an error it reported

    def send_udp(self, data: bytes, addr: tuple[str, int]) -> None:
        self._await(lambda: self.radio.udp.send_async(data, addr, sock=self.sock))
        self.sent.append(("udp", addr, data))

    def notify_ble(self, data: bytes) -> None:
        self._await(lambda: self.radio.ble.notify_async(data))
        self.sent.append(("ble", None, data))

    def record(self, data: bytes) -> None:
        with current().effect():
            self.sent.append(("cli", None, data))


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
            b.outbox.record(text.encode())
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
        current().check()
        value = b.sensors.read(name)  # sysfs or simulated: a bounded read
        current().check()
        return {"value": value, "unit": UNITS[name]}

    @reg.register(timeout=1.0)
    def npu_status() -> dict[str, Any]:
        """The NPU's job and busy-cycle counters."""
        current().check()
        return b.npu.status()

    @reg.register(timeout=1.0)
    def memory_set(key: KEY, value: VALUE) -> dict[str, Any]:
        """Store a value under a key in the agent's memory.

        Args:
            key: memory key
            value: value to store
        """
        with current().effect():
            b.memory[key] = value
        return {"ok": True}

    @reg.register(timeout=1.0)
    def memory_get(key: KEY) -> dict[str, Any]:
        """Look a key up in the agent's memory (null if absent).

        Args:
            key: memory key
        """
        current().check()
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
