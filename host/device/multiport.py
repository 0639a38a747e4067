"""A device with P weight ports: P DMA engines on P HP ports, each streaming into its own tile.

What a P-port overlay offers the host, built from P single-port devices: on `ref` P numpy models, on
`sim` P Verilator instances of the tile (each with its own C++ DMA harness and clock). The host splits
one job over the ports by N (`zynpu.npu.plan`) and launches every port before waiting on any.

Timing model on `sim`: the P instances are simulated one after another in this process (waiting on a
port clocks only that port's tile), so wall time adds up over ports while on the board they stream
concurrently; each tile's own CYCLES counter is exact for that tile, and a wave of jobs costs its
slowest port (`JobStats.wave_cycles`). Contention for the shared PS DDR is not simulated: the roofline
bounds the P streams together by the board's sustained DDR bandwidth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Buffer, Device


class MultiPortDevice(Device):
    """P single-port devices behind one name; identity and scratch registers go to port 0."""

    def __init__(self, ports: Sequence[Device]) -> None:
        if not ports:
            raise ValueError("a multi-port device needs at least one port")
        self.ports: tuple[Device, ...] = tuple(ports)
        first = self.ports[0]
        self.name = f"{first.name}x{len(self.ports)}"
        self.manifest = first.manifest
        self.send, self.recv = first.send, first.recv

    def allocate(
        self, shape: int | tuple[int, ...], dtype: np.dtype | type = np.uint8, cacheable: bool = False
    ) -> Buffer:
        return self.ports[0].allocate(shape, dtype, cacheable)

    def read(self, offset: int) -> int:
        return self.ports[0].read(offset)

    def write(self, offset: int, value: int) -> None:
        self.ports[0].write(offset, value)

    @property
    def cycles(self) -> int | None:
        """The furthest any port's clock has run (each port keeps its own simulated clock)."""
        counts = [port.cycles for port in self.ports]
        return None if any(c is None for c in counts) else max(c for c in counts if c is not None)

    @property
    def time_in_simulator(self) -> float:
        """Wall seconds spent inside every port's simulator (they run one after another here)."""
        return sum(getattr(port, "time_in_simulator", 0.0) for port in self.ports)

    def close(self) -> None:
        for port in self.ports:
            port.close()


def open_ports(name: str | None, ports: int = 1, **options: Any) -> Device:
    """`open_device(name)` for one port; P > 1 opens P devices of that kind as one P-port device."""
    from .select import open_device

    if ports < 1:
        raise ValueError(f"ports must be at least 1, not {ports}")
    if ports == 1:
        return open_device(name, **options)
    opened: list[Device] = []
    try:
        for _ in range(ports):
            opened.append(open_device(name, **options))
    except BaseException:
        for device in opened:  # a port that failed to open does not leave the others open
            device.close()
        raise
    return MultiPortDevice(opened)
