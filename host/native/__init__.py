"""The native host: one decode token in one C call, tile jobs behind a C port interface.

The decode step's host work in Python (norms, quantization, RoPE, attention, the driver) costs tens of
milliseconds a token on a Cortex-A53, far more than the tiles' DDR-bound streaming. Here it is C99,
compiled at first use with the system C compiler (`build`), loaded with ctypes (`lib`), fed the very
weights and scales the Python model quantized (`engine.NativeEngine` is the model's matmul engine; the
decoder reads the packed tensors back from it) and checked against the Python engine token for token.
"""

from __future__ import annotations

from .decoder import NativeDecoder
from .engine import NativeEngine

__all__ = ["NativeDecoder", "NativeEngine"]
