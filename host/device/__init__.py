"""zynpu.device: the one seam between the host runtime and the hardware.

A device offers what the pynq API offers the host: buffers with a physical address, one DMA channel
each way, and the tile's registers. `sim` is the RTL in Verilator, `ref` the numpy reference model,
`board` pynq on a real board. Everything above this package is device-independent.
"""

from .base import Buffer, Device, DmaChannel, DmaError
from .select import DEVICE_NAMES, open_device

__all__ = ["DEVICE_NAMES", "Buffer", "Device", "DmaChannel", "DmaError", "open_device"]
