"""Small helpers shared by the device tests."""

from __future__ import annotations

import numpy as np


def random_int8(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def stream_patterns(device):  # type: ignore[no-untyped-def]
    """The simulator's gap/back-pressure hook behind `device`, or None where there is no clock."""
    return getattr(getattr(device, "backing", device), "set_stream_patterns", None)
