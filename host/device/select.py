"""The one registry of device and engine names, and the choice among them.

Every place that names a device (the CLI's `--device` choices, the model's engine factory, the agent,
the test suite's `--target`) reads `NPU_DEVICES`, `HOST_ENGINES` and `ENGINES` from here, so adding a
device is one line in `DEVICES`. The choice is `--device` on the command line, else `ZYNPU_DEVICE`,
else `sim`.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from ..errors import UserError
from ..tile.manifest import TileManifest
from .base import Device

# name -> one line a `--help` shows. NPU devices run the tile; host engines run the same model on the CPU.
DEVICES: dict[str, str] = {
    "sim": "the tile's RTL in Verilator (cycle-exact, slow)",
    "ref": "the tile's bit-exact numpy model behind the device interface",
    "board": "the tile on a PYNQ board (needs pynq and a deployed bitstream)",
}
HOST_ENGINE_HELP: dict[str, str] = {
    "numpy": "the same int8 W8A8 arithmetic on the host CPU (fast, bit-exact with the NPU)",
    "float": "float32 on the host CPU, no quantization (the accuracy reference)",
}
NPU_DEVICES: tuple[str, ...] = tuple(DEVICES)
HOST_ENGINES: tuple[str, ...] = tuple(HOST_ENGINE_HELP)
ENGINES: tuple[str, ...] = (*NPU_DEVICES, *HOST_ENGINES)  # what a model can run on
DEVICE_NAMES = NPU_DEVICES  # kept for callers of the old name
DEFAULT_DEVICE = "sim"


class UnknownDeviceError(UserError, ValueError):
    """A device or engine name that is not in the registry (a ValueError for older callers)."""


def device_name(name: str | None = None, allowed: tuple[str, ...] = NPU_DEVICES) -> str:
    """`name`, else `$ZYNPU_DEVICE`, else `sim`; refuses names outside `allowed`."""
    chosen = name or os.environ.get("ZYNPU_DEVICE") or DEFAULT_DEVICE
    if chosen not in allowed:
        source = "" if name else " (from $ZYNPU_DEVICE)"
        raise UnknownDeviceError(f"unknown device {chosen!r}{source}; choose one of {', '.join(allowed)}")
    return chosen


def auto_device_name() -> str:
    """`$ZYNPU_DEVICE` if set; else `board` where pynq and a deployed bitstream exist; else `sim`.

    What a notebook uses so the same cell runs on a PYNQ board and on a laptop. On a board (pynq
    importable) without a bitstream it still falls back to `sim`, but says so loudly: a notebook that
    silently simulates on the board would report simulator speed as the board's.
    """
    if os.environ.get("ZYNPU_DEVICE"):
        return device_name()
    import importlib.util

    if "pynq" in sys.modules or importlib.util.find_spec("pynq") is not None:
        from .board import default_bitstream

        try:
            default_bitstream()
            return "board"
        except FileNotFoundError as error:
            message = (
                f"pynq is installed (this looks like a board) but {error}. FALLING BACK TO THE RTL "
                "SIMULATOR (device 'sim'): the numbers below are the simulator's, not the board's."
            )
            print(f"zynpu: WARNING: {message}", file=sys.stderr, flush=True)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
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

    try:
        return BoardDevice(manifest=manifest, **options)
    except FileNotFoundError as error:  # no bitstream deployed: a set-up step the user can take
        raise UserError(str(error)) from None


def device_help(names: tuple[str, ...]) -> str:
    """`sim: ..., ref: ...` for a `--device` help text."""
    known = {**DEVICES, **HOST_ENGINE_HELP}
    return "; ".join(f"{n}: {known[n]}" for n in names)
