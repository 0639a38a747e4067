"""Job packets in the tile's layout (see the manifest's `layout`): header, activations, weights, results.

Weights are packed once (`pack_weights` for int8, `pack_weights_int4` for int4 with group scales) and
stay in a device buffer; per job only the header and the activations change, so a job is launched by
writing `1 + M*ceil(K/L)` beats in front of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .manifest import TileManifest

WEIGHT_FORMATS = ("int8", "int4")


@dataclass(frozen=True)
class JobShape:
    """Sizes of one tile job, in beats and bytes; M <= rows.

    `check_shape` builds it from the manifest (format group, output beats per row); the defaults are the
    default build's, for callers that only need int8 beat counts.
    """

    m: int
    k: int
    n: int
    lanes: int
    weights: str = "int8"  # weight format name (manifest weight_formats)
    group: int = 64  # int4: k values per scale (manifest weight_formats.int4.group)
    row_beats: int = 4  # output beats per token row per block (manifest output_beats_per_row)

    @property
    def int4(self) -> bool:
        return self.weights == "int4"

    @property
    def groups(self) -> int:
        """int4 scale groups per block (0 for int8)."""
        return -(-self.k // self.group) if self.int4 else 0

    @property
    def block_weight_beats(self) -> int:
        """Beats per block that carry weights (they enter the MAC array: the ACTIVE counter)."""
        return -(-self.k // 2) if self.int4 else self.k

    @property
    def block_beats(self) -> int:
        """Stream beats per weight block: weight beats plus int4 scale beats."""
        return self.block_weight_beats + self.groups

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
        """Beats of the weight section (int4: scale beats included)."""
        return self.blocks * self.block_beats

    @property
    def active_beats(self) -> int:
        """Weight beats that enter the MAC array (scale beats do not)."""
        return self.blocks * self.block_weight_beats

    @property
    def input_beats(self) -> int:
        return self.header_beats + self.activation_beats + self.weight_beats

    @property
    def prefix_beats(self) -> int:
        """Header plus activations: what precedes the weights."""
        return self.header_beats + self.activation_beats

    @property
    def output_beats(self) -> int:
        return self.blocks * self.m * self.row_beats

    @property
    def input_bytes(self) -> int:
        return self.input_beats * self.lanes

    @property
    def output_bytes(self) -> int:
        return self.output_beats * self.lanes

    @property
    def weight_bytes(self) -> int:
        return self.weight_beats * self.lanes


def check_shape(manifest: TileManifest, m: int, k: int, n: int, weights: str = "int8") -> JobShape:
    """The job's shape, or ValueError naming the bound it breaks (before anything reaches the device)."""
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weight format {weights!r} is not one of {', '.join(WEIGHT_FORMATS)}")
    if not 1 <= m <= manifest.rows:
        raise ValueError(f"M={m} is outside 1..{manifest.rows} (the tile's rows); tile M on the host")
    if not 1 <= k <= manifest.max_k:
        raise ValueError(f"K={k} is outside 1..{manifest.max_k} (the tile's max_k)")
    if not 1 <= n <= manifest.max_n:
        raise ValueError(f"N={n} is outside 1..{manifest.max_n}")
    return JobShape(m, k, n, manifest.lanes, weights, manifest.int4_group, manifest.output_beats_per_row)


def pack_header(
    manifest: TileManifest, m: int, k: int, n: int, *, flags: int = 0, weights: str = "int8"
) -> np.ndarray:
    """One header beat (uint8, L bytes) as the manifest's header fields lay it out."""
    values = {
        "magic": manifest.header["magic"],
        "format": manifest.header["format"],
        "flags": flags,
        "m": m,
        "weights": manifest.weight_format(weights)["code"],
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


def check_int4(w: np.ndarray, scales: np.ndarray, group: int) -> None:
    """ValueError unless W is int8 (N, K) within -8..7 and scales uint8 (N, ceil(K/group))."""
    if w.dtype != np.int8 or w.ndim != 2:
        raise ValueError(f"int4 weights must be a 2-D int8 array of values -8..7, not {w.dtype} {w.shape}")
    if w.size and (int(w.min()) < -8 or int(w.max()) > 7):
        raise ValueError(f"int4 weights must lie in -8..7, found {int(w.min())}..{int(w.max())}")
    n, k = w.shape
    want = (n, -(-k // group))
    if scales.dtype != np.uint8 or scales.shape != want:
        raise ValueError(
            f"int4 scales must be uint8 of shape {want} (N, ceil(K/{group})), "
            f"not {scales.dtype} {scales.shape}"
        )


def pack_weights_int4(
    w: np.ndarray, scales: np.ndarray, lanes: int, group: int, out: np.ndarray | None = None
) -> np.ndarray:
    """int4 W (N, K) in int8 storage + uint8 scales (N, ceil(K/group)) -> the int4 block layout (uint8).

    Block j, group g: one scale beat (byte l = scales[j*L + l, g]), then ceil(k_g/2) beats whose byte l
    holds W[j*L + l, k] in the low nibble and W[j*L + l, k + 1] in the high one (k = g*group + 2t).
    `out`: uint8 memory of that size to pack into (a device buffer), instead of a new array.
    """
    check_int4(w, scales, group)
    if group % 2:
        raise ValueError(f"the int4 group ({group}) must be even: a beat holds two k values")
    n, k = w.shape
    blocks = -(-n // lanes)
    groups = -(-k // group)
    per_group = group // 2
    block_beats = -(-k // 2) + groups
    size = blocks * block_beats * lanes
    if out is None:
        out = np.empty(size, dtype=np.uint8)
    elif out.dtype != np.uint8 or out.size != size:
        raise ValueError(f"out must be {size} uint8 bytes, not {out.size} {out.dtype}")
    dest = out.reshape(blocks, block_beats, lanes)
    # A group of blocks at a time, laid out as (block, group, scale beat + weight beats, lane); the last
    # group's padding beats sit at the end of each block and are cut off.
    for b0 in range(0, blocks, _PACK_BLOCKS):
        b1 = min(blocks, b0 + _PACK_BLOCKS)
        rows = (b1 - b0) * lanes
        nib = np.zeros((rows, groups * group), dtype=np.uint8)
        nib[: min(n, b1 * lanes) - b0 * lanes, :k] = w[b0 * lanes : b1 * lanes].view(np.uint8) & 0x0F
        sc = np.zeros((rows, groups), dtype=np.uint8)
        sc[: min(n, b1 * lanes) - b0 * lanes] = scales[b0 * lanes : b1 * lanes]
        pairs = (nib[:, 0::2] | (nib[:, 1::2] << 4)).reshape(b1 - b0, lanes, groups, per_group)
        full = np.empty((b1 - b0, groups, 1 + per_group, lanes), dtype=np.uint8)
        full[:, :, 0, :] = sc.reshape(b1 - b0, lanes, groups).transpose(0, 2, 1)
        full[:, :, 1:, :] = pairs.transpose(0, 2, 3, 1)
        dest[b0:b1] = full.reshape(b1 - b0, groups * (1 + per_group), lanes)[:, :block_beats]
    return out.reshape(-1)


def pack_job(
    manifest: TileManifest, x: np.ndarray, w: np.ndarray, scales: np.ndarray | None = None
) -> np.ndarray:
    """A whole input packet (uint8) for Y = X @ W.T with X int8 (M, K) and W (N, K).

    Without `scales` W is int8; with them W holds int4 values (-8..7) and the job is an int4 job whose
    result is sum_g scales[:, g] * (X @ W.T over group g).
    """
    m, k = x.shape
    n = w.shape[0]
    lanes = manifest.lanes
    if scales is None:
        check_shape(manifest, m, k, n)
        header = pack_header(manifest, m, k, n)
        weights = pack_weights(w, lanes)
    else:
        shape = check_shape(manifest, m, k, n, "int4")
        header = pack_header(manifest, m, k, n, weights="int4")
        weights = pack_weights_int4(w, scales, lanes, shape.group)
    return np.concatenate([header, pack_activations(x, lanes), weights])


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
