"""A weight table kept in its stored (quantized) form, rows dequantized only when read.

Gemma 3's vocabulary makes the token embedding the largest tensor (262,144 x 640: 671 MB as float32,
178 MB as the GGUF's Q8_0 blocks). A decode step reads one row of it, and the tied LM head is packed
as int8 for the engine once; neither needs the whole table as float32. Row-block formats dequantize
each row on its own, so a row read here is bit for bit the row of the whole table's dequantization.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Dequantize = Callable[[np.ndarray], np.ndarray]  # stored rows (R, row_bytes) -> float32 (R, cols)

QUANTIZE_ROWS = 8192  # rows quantized at once: 8192 x 640 float32 is 21 MB of temporaries


class StoredRows:
    """(rows, cols) float32 values held as stored bytes (e.g. a memory-mapped GGUF tensor).

    `table[ids]` gives float32 rows; `block(a, b)` reads a range for a one-pass consumer and lets
    the pages go afterwards (`release`); `np.asarray(table)` dequantizes everything (the float32
    reference forward needs the whole matrix).
    """

    def __init__(
        self,
        data: np.ndarray,
        shape: tuple[int, int],
        dequantize: Dequantize,
        release: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        self.data, self.shape, self._dequantize, self._release = data, shape, dequantize, release
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = np.asarray(self.data[index])
        flat = rows.reshape(-1, rows.shape[-1])
        out = self._dequantize(flat).astype(np.float32, copy=False)
        return out.reshape(*rows.shape[:-1], self.shape[1])

    def block(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop as float32, then drop the stored pages from this process (they were read
        once; the page cache keeps them for a later lookup)."""
        out = self[start:stop]
        if self._release is not None:
            self._release(self.data[start:stop])
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        full = np.empty(self.shape, dtype=np.float32)
        for a in range(0, self.shape[0], QUANTIZE_ROWS):
            full[a : a + QUANTIZE_ROWS] = self.block(a, a + QUANTIZE_ROWS)
        return full if dtype is None else full.astype(dtype, copy=False)


def quantize_by_rows(
    w: np.ndarray | StoredRows, quantize_rows: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a per-row quantizer ((R, K) float32 -> int8 (R, K), scale (R,)) block by block.

    Bit-identical to quantizing the whole matrix at once (each row's scale and values depend on that
    row only); only one block of float32 exists at a time, so a table kept stored stays stored.
    """
    n, k = w.shape
    q = np.empty((n, k), dtype=np.int8)
    scale = np.empty(n, dtype=np.float32)
    for a in range(0, n, QUANTIZE_ROWS):
        b = min(n, a + QUANTIZE_ROWS)
        rows = w.block(a, b) if isinstance(w, StoredRows) else w[a:b]
        q[a:b], scale[a:b] = quantize_rows(rows)
    return q, scale
