"""Preallocated per-layer K/V buffers: decode appends in place, never reallocates."""

from __future__ import annotations

import numpy as np

from zynpu.model.errors import ContextOverflowError


class KVCache:
    def __init__(self, n_layers: int, max_ctx: int, n_kv_heads: int, head_dim: int) -> None:
        self.max_ctx = max_ctx
        self.k = np.zeros((n_layers, max_ctx, n_kv_heads, head_dim), dtype=np.float32)
        self.v = np.zeros_like(self.k)
        self.length = 0  # positions filled (committed after the last layer of a forward)

    def check_room(self, n_new: int) -> None:
        if self.length + n_new > self.max_ctx:
            raise ContextOverflowError(
                f"context full: {self.length} cached + {n_new} new tokens > max context {self.max_ctx}"
            )

    def store(self, layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write k/v (T, Hkv, D) at positions length.. and return views of all keys/values so far."""
        end = self.length + k.shape[0]
        self.k[layer, self.length : end] = k
        self.v[layer, self.length : end] = v
        return self.k[layer, :end], self.v[layer, :end]

    def advance(self, n: int) -> None:
        self.length += n

    def reset(self) -> None:
        self.length = 0
