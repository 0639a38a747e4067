"""Linear sites built from a GGUF's own 4-bit codes (precision format `int4-gguf`), never from float.

A site in format `int4-gguf` whose stacked tensors are all Q4_0 or Q4_K in the GGUF is packed by
`gguf_to_tile.to_int4` (codes copied where the tile's groups allow) and runs as one int4 tile job plus,
for Q4_K, the host's zero-point correction (`gguf_to_tile.HostOffsets`). Any other site in that format
is W8A8 from float, unsmoothed (smoothing would rescale the codes' columns). So a GGUF that stores
4 bits where its quantizer chose 4 bits (Q4_K_M) gets int4 exactly there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zynpu.model.gguf_to_tile import HostOffsets, TileWeight, to_int4
from zynpu.model.precision import INT4_GGUF
from zynpu.model.sites import LAYER_SITES
from zynpu.model.w4a8 import int4_group
from zynpu.model.w8a8 import dequantize_output, quantize_activation

FOUR_BIT = frozenset({"Q4_0", "Q4_K"})
# Measurement only (gguf_report --group): the int4 group to pack with instead of the tile manifest's, to
# price a group the tile does not have. The numpy engine runs any group; a tile runs only its own.
GROUP_OVERRIDE: int | None = None


def _wrappers(weights: Mapping[str, Any]) -> list[Any]:
    """`weights` and what it wraps (smooth.SmoothedWeights keeps the mapping it rescales as .weights)."""
    chain: list[Any] = []
    while weights is not None and len(chain) < 8:
        chain.append(weights)
        weights = getattr(weights, "weights", None)  # type: ignore[assignment]
    return chain


def gguf_source(weights: Mapping[str, Any]) -> Any | None:
    """The GGUFWeights under `weights` (looking through wrappers such as smooth.SmoothedWeights), or None."""
    return next((w for w in _wrappers(weights) if hasattr(w, "tensors") and hasattr(w, "file")), None)


def _check_not_smoothed(weights: Mapping[str, Any], names: Sequence[str]) -> None:
    """The codes are the file's: a wrapper that rescales this site's columns would not reach them."""
    base = tuple(n.rsplit(".", 1)[-1] for n in names)
    site = next((s.name for s in LAYER_SITES if s.weights == base), None)
    for w in _wrappers(weights):
        if site is not None and (getattr(w, "alphas", None) or {}).get(site) is not None:
            raise ValueError(
                f"site {site!r} is int4-gguf (read from the GGUF's codes) but smoothed with alpha "
                f"{w.alphas[site]}; give int4 sites no smoothing strength (int4_alpha None)"
            )


class NativeLinear:
    """y = x @ W.T (+ b) for int4 weights packed from GGUF codes: the tile job plus the host offsets.

    Same interface as transformer.Linear in engine mode (`__call__`, `argmax`, `scale`, `handle`).
    """

    def __init__(self, parts: Sequence[TileWeight], engine: Any, bias: np.ndarray | None = None) -> None:
        group = parts[0].group
        if any(p.fmt != "int4" or p.group != group for p in parts):
            raise ValueError("stacked parts of one job must share the int4 format and group")
        self.engine, self.bias = engine, bias
        q = np.concatenate([p.q for p in parts])
        scales = np.concatenate([p.scales for p in parts])  # type: ignore[misc]
        self.scale = np.concatenate([p.row_scale for p in parts])
        self.out_features = q.shape[0]
        self.offsets: list[tuple[int, int, HostOffsets]] = []
        start = 0
        for p in parts:
            if p.offsets is not None:
                self.offsets.append((start, start + p.q.shape[0], p.offsets))
            start += p.q.shape[0]
        self.handle = engine.pack_weights_int4(q, scales, group)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        xq, xs = quantize_activation(x)
        y = dequantize_output(self.engine.matmul(xq, self.handle), xs, self.scale)
        for a, b, off in self.offsets:  # the zero points: exact integer sums, scaled once
            y[:, a:b] += (off.correction(xq) * xs.astype(np.float64)[:, None]).astype(np.float32)
        return y if self.bias is None else y + self.bias

    def argmax(self, x: np.ndarray) -> int:
        """argmax of self(x) for one row; with no offsets and no bias, from the int32 sums as Linear does."""
        if self.offsets or self.bias is not None:
            return int(np.argmax(self(x)[0]))
        xq, _ = quantize_activation(x)
        return int(np.argmax(self.engine.matmul(xq, self.handle)[0] * self.scale))


def streamed_format(weights: Mapping[str, Any], names: Sequence[str], fmt: str) -> str:
    """The tile format the site's tensors are streamed in under policy format `fmt`: int4-gguf is int4
    only where the GGUF stores every one of them as Q4_0/Q4_K, else the int8 fallback."""
    if fmt != INT4_GGUF:
        return "int8" if fmt == "int8" else "int4"
    source = gguf_source(weights)
    if source is None or any(n not in source.tensors for n in names):
        return "int8"
    return "int4" if all(source.tensors[n].qtype.name in FOUR_BIT for n in names) else "int8"


def native_linear(
    weights: Mapping[str, Any],
    names: Sequence[str],
    engine: Any,
    fmt: str,
    bias: np.ndarray | None = None,
) -> NativeLinear | None:
    """The site as int4 from the GGUF's 4-bit codes, or None (the caller builds it as int8 from float)."""
    if engine is None or fmt != INT4_GGUF or streamed_format(weights, names, fmt) != "int4":
        return None
    source = gguf_source(weights)
    tensors = [source.tensors[n] for n in names]
    _check_not_smoothed(weights, names)
    from zynpu.model.gguf_quants import decode  # the gguf package: present wherever a GGUF was read

    group = GROUP_OVERRIDE or int4_group()
    parts = []
    for t in tensors:
        parts.append(to_int4(decode(t.data, t.qtype, t.shape), group))
        source.file.release(t.data)
    return NativeLinear(parts, engine, bias)
