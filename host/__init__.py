"""zynpu: host runtime of the zynpu edge-AI agent chip prototype.

This folder (`host/`) installs as the `zynpu` package; the RTL lives in `zynpu.hw` (folder `hw/`) and
the PYNQ overlay drivers in `zynpu.overlays` (folder `overlays/`).
"""

__version__ = "0.1.0"
