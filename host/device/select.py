"""Choose a device by name: `--device` on the command line, else `ZYNPU_DEVICE`, else `sim`."""

from __future__ import annotations

import os
from typing import Any

from ..tile.manifest import TileManifest
from .base import Device

DEVICE_NAMES = ("sim", "ref", "board")
DEFAULT_DEVICE = "sim"


def device_name(name: str | None = None) -> str:
    chosen = name or os.environ.get("ZYNPU_DEVICE") or DEFAULT_DEVICE
    if chosen not in DEVICE_NAMES:
        raise ValueError(f"unknown device {chosen!r}: choose one of {', '.join(DEVICE_NAMES)}")
    return chosen


def auto_device_name() -> str:
    """`$ZYNPU_DEVICE` if set; else `board` where pynq and a deployed bitstream exist; else `sim`.

    What a notebook uses so the same cell runs on a PYNQ board and on a laptop.
    """
    if os.environ.get("ZYNPU_DEVICE"):
        return device_name()
    import importlib.util
    import sys

    if "pynq" in sys.modules or importlib.util.find_spec("pynq") is not None:
        from .board import default_bitstream

        try:
            default_bitstream()
            return "board"
        except FileNotFoundError:
            pass
    return DEFAULT_DEVICE


def open_device(name: str | None = None, manifest: TileManifest | None = None, **options: Any) -> Device:
    """Open the named device; heavy imports (Verilator build, pynq) happen only for the one chosen."""
    chosen = device_name(name)
    if chosen == "sim":
        from .sim.device import SimDevice

        return SimDevice(manifest, **options)
    if chosen == "ref":
        from .ref import RefDevice

        return RefDevice(manifest, **options)
    from .board import BoardDevice

    return BoardDevice(manifest=manifest, **options)
