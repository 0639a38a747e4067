"""Job packets in the tile's layout (see the manifest's `layout`): header, activations, weights, results.

Weights are packed once (`pack_weights`) and stay in a device buffer; per job only the header and the
activations change, so a job is launched by writing `1 + M*ceil(K/L)` beats in front of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .manifest import TileManifest


@dataclass(frozen=True)
class JobShape:
    """Sizes of one tile job, in beats and bytes; M <= rows."""

    m: int
    k: int
    n: int
    lanes: int

    @property
    def k_beats(self) -> int:
        """Beats per activation row: ceil(K / L)."""
        return -(-self.k // self.lanes)

    @property
    def blocks(self) -> int:
        """Weight blocks: ceil(N / L)."""
        return -(-self.n // self.lanes)

    @property
    def header_beats(self) -> int:
        return 1

    @property
    def activation_beats(self) -> int:
        return self.m * self.k_beats

    @property
    def weight_beats(self) -> int:
        return self.blocks * self.k

    @property
    def input_beats(self) -> int:
        return self.header_beats + self.activation_beats + self.weight_beats

    @property
    def prefix_beats(self) -> int:
        """Header plus activations: what precedes the weights."""
        return self.header_beats + self.activation_beats

    @property
    def output_beats(self) -> int:
        return self.blocks * self.m * 4

    @property
    def input_bytes(self) -> int:
        return self.input_beats * self.lanes

    @property
    def output_bytes(self) -> int:
        return self.output_beats * self.lanes

    @property
    def weight_bytes(self) -> int:
        return self.weight_beats * self.lanes


def check_shape(manifest: TileManifest, m: int, k: int, n: int) -> JobShape:
    """The job's shape, or ValueError naming the bound it breaks (before anything reaches the device)."""
    if not 1 <= m <= manifest.rows:
        raise ValueError(f"M={m} is outside 1..{manifest.rows} (the tile's rows); tile M on the host")
    if not 1 <= k <= manifest.max_k:
        raise ValueError(f"K={k} is outside 1..{manifest.max_k} (the tile's max_k)")
    if not 1 <= n <= manifest.max_n:
        raise ValueError(f"N={n} is outside 1..{manifest.max_n}")
    return JobShape(m, k, n, manifest.lanes)


def pack_header(manifest: TileManifest, m: int, k: int, n: int, *, flags: int = 0) -> np.ndarray:
    """One header beat (uint8, L bytes) as the manifest's header fields lay it out."""
    values = {
        "magic": manifest.header["magic"],
        "format": manifest.header["format"],
        "flags": flags,
        "m": m,
        "reserved": 0,
        "k": k,
        "n": n,
    }
    beat = np.zeros(manifest.stream_bytes, dtype=np.uint8)
    for f in manifest.header["fields"]:
        value = int(values[f["name"]])
        beat[f["offset"] : f["offset"] + f["size"]] = np.frombuffer(
            value.to_bytes(f["size"], "little"), dtype=np.uint8
        )
    return beat


def pack_activations(x: np.ndarray, lanes: int) -> np.ndarray:
    """Activations int8 (M, K) -> uint8 (M * ceil(K/L) * L,): each row zero-padded to whole beats."""
    m, k = x.shape
    kb = -(-k // lanes)
    out = np.zeros((m, kb * lanes), dtype=np.int8)
    out[:, :k] = x
    return out.view(np.uint8).reshape(-1)


_PACK_BLOCKS = 1024  # output blocks packed at once (1024 x 16 lanes x K=640: 10 MB)


def pack_weights(w: np.ndarray, lanes: int, out: np.ndarray | None = None) -> np.ndarray:
    """Weights int8 (N, K) -> uint8 (ceil(N/L) * K * L,): block j, beat k, lane l holds W[j*L + l, k].

    `out`: uint8 memory of that size to pack into (a device buffer), instead of a new array.
    """
    n, k = w.shape
    blocks = -(-n // lanes)
    if out is None:
        out = np.empty(blocks * k * lanes, dtype=np.uint8)
    elif out.dtype != np.uint8 or out.size != blocks * k * lanes:
        raise ValueError(f"out must be {blocks * k * lanes} uint8 bytes, not {out.size} {out.dtype}")
    packed = out.reshape(-1).view(np.int8).reshape(blocks, k, lanes)
    # a group of blocks at a time: a 262,144-row LM head would otherwise need two more copies of itself
    for b0 in range(0, blocks, _PACK_BLOCKS):
        b1 = min(blocks, b0 + _PACK_BLOCKS)
        rows = w[b0 * lanes : b1 * lanes]
        padded = np.zeros(((b1 - b0) * lanes, k), dtype=np.int8)
        padded[: len(rows)] = rows
        packed[b0:b1] = padded.reshape(b1 - b0, lanes, k).transpose(0, 2, 1)
    return out.reshape(-1)


def unpack_weights(packed: np.ndarray, n: int, k: int, lanes: int) -> np.ndarray:
    """Inverse of pack_weights: uint8 packed -> int8 (N, K)."""
    blocks = -(-n // lanes)
    w = packed.view(np.int8).reshape(blocks, k, lanes).transpose(0, 2, 1).reshape(blocks * lanes, k)
    return np.ascontiguousarray(w[:n])


def pack_job(manifest: TileManifest, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A whole input packet (uint8) for Y = X @ W.T with X int8 (M, K) and W int8 (N, K)."""
    m, k = x.shape
    n = w.shape[0]
    check_shape(manifest, m, k, n)
    return np.concatenate(
        [pack_header(manifest, m, k, n), pack_activations(x, manifest.lanes), pack_weights(w, manifest.lanes)]
    )


def unpack_results(out: np.ndarray, shape: JobShape) -> np.ndarray:
    """Output packet bytes -> int32 (M, N)."""
    words = np.frombuffer(np.ascontiguousarray(out[: shape.output_bytes]).tobytes(), dtype="<i4")
    return np.ascontiguousarray(results_view(words, shape)).astype(np.int32)


def results_view(words: np.ndarray, shape: JobShape) -> np.ndarray:
    """The results (M, N) laid over an output packet read as little-endian int32 words, without a copy
    where the layout allows (M = 1: always): block j's row m holds columns j*L.. of row m."""
    blocks = words[: shape.blocks * shape.m * shape.lanes].reshape(shape.blocks, shape.m, shape.lanes)
    return blocks.transpose(1, 0, 2).reshape(shape.m, -1)[:, : shape.n]


def parse_error_beat(manifest: TileManifest, beat: np.ndarray) -> tuple[int, int] | None:
    """(error code, input beat index) if `beat` is an error beat, else None."""
    words = np.frombuffer(np.ascontiguousarray(beat[:12]).tobytes(), dtype="<u4")
    if int(words[0]) != manifest.error_magic:
        return None
    return int(words[1]), int(words[2])
