"""Bit-exact numpy model of the tile: same packets in, same packets, status and counters out.

It is the `ref` device and the oracle of every RTL test. It models what the RTL does with any input
packet, including malformed ones (which beat raises which error, which results precede the error
beat), and the cycle accounting of a job whose input never starves and whose output never stalls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .manifest import TileManifest
from .packing import JobShape, check_shape


@dataclass
class PacketResult:
    """What the tile does with one input packet."""

    output: np.ndarray  # uint8 output packet bytes (results, then an error beat on failure)
    error: int  # error code, 0 on success
    error_beat: int  # index of the input beat that raised the error (-1 on success)
    weight_beats: int  # weight beats that entered the array (the ACTIVE counter's increment)
    cycles: int  # busy cycles when the stream never starves nor stalls (successful jobs)


def job_cycles(manifest: TileManifest, shape: JobShape) -> int:
    """Busy cycles of a clean job: the tile's documented cycle model (see the manifest's cycle_model)."""
    model = manifest.cycle_model
    gap = max(shape.block_beats, model["drain_gap_per_row"] * shape.m + model["drain_gap_const"])
    weights = shape.block_beats + (shape.blocks - 1) * gap
    tail = model["tail_per_row"] * shape.m + model["tail_const"]
    return model["header_cycles"] + shape.activation_beats + weights + tail


def _header(manifest: TileManifest, beat: np.ndarray) -> tuple[int, int, int, str, bool, bool]:
    """(m, k, n, weight format name, header_ok, shape_ok) of a header beat."""
    values = {}
    for f in manifest.header["fields"]:
        values[f["name"]] = int.from_bytes(beat[f["offset"] : f["offset"] + f["size"]].tobytes(), "little")
    formats = {int(f["code"]): name for name, f in manifest.weight_formats.items()}
    header_ok = (
        values["magic"] == manifest.header["magic"]
        and values["format"] == manifest.header["format"]
        and values["flags"] == 0
        and values["weights"] in formats
        and values["reserved"] == 0
        and not beat[manifest.header["bytes"] :].any()
    )
    m, k, n = values["m"], values["k"], values["n"]
    shape_ok = 1 <= m <= manifest.rows and 1 <= k <= manifest.max_k and 1 <= n <= manifest.max_n
    return m, k, n, formats.get(values["weights"], "int8"), header_ok, shape_ok


def error_beat(manifest: TileManifest, code: int, index: int) -> np.ndarray:
    words = np.zeros(manifest.stream_bytes // 4, dtype="<u4")
    words[:3] = (manifest.error_magic, code, index & 0xFFFFFFFF)
    return words.view(np.uint8)


_BLOCKS_AT_ONCE = 256  # output blocks per int64 product in run_packet (256 x 16 lanes x K=640: 21 MB)


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The tile's int8 arithmetic: int8 x int8 products summed exactly (no build's max_k overflows int32)."""
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    return ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)


def matmul_int4(x: np.ndarray, w: np.ndarray, scales: np.ndarray, group: int) -> np.ndarray:
    """The tile's int4 arithmetic: sum_g scales[n, g] * sum_(k in g) x[m, k] * w[n, k], exact integers.

    `w` holds int4 values (-8..7) in int8 storage, `scales` is uint8 (N, ceil(K/group)). The per-k
    effective weight scale * w is an exact integer, so this equals X @ (W * S).T.
    """
    k = w.shape[1]
    per_k = np.repeat(scales.astype(np.int64), group, axis=1)[:, :k]
    return matmul(x, w.astype(np.int64) * per_k)


def unpack_int4_block(beats: np.ndarray, k: int, lanes: int, group: int) -> np.ndarray:
    """One int4 weight block (its beats, uint8 (beats, L)) -> effective int64 weights (L, K) = W * S."""
    w = np.zeros((lanes, k), dtype=np.int64)
    row = 0
    for g0 in range(0, k, group):
        g1 = min(k, g0 + group)
        scale = beats[row].astype(np.int64)
        pairs = beats[row + 1 : row + 1 + -(-(g1 - g0) // 2)].astype(np.int64)  # (beats, L)
        row += 1 + pairs.shape[0]
        nib = np.stack([pairs & 0xF, pairs >> 4], axis=1).reshape(-1, lanes)[: g1 - g0]  # (k_g, L)
        nib = np.where(nib >= 8, nib - 16, nib)
        w[:, g0:g1] = (nib * scale).T
    return w


def run_packet(
    manifest: TileManifest,
    data: np.ndarray,
    *,
    last: np.ndarray | None = None,
    keep_ok: np.ndarray | None = None,
) -> PacketResult:
    """Feed one packet (uint8 bytes, whole beats) through the model.

    `last` marks TLAST per beat (default: only on the final beat); `keep_ok` says per beat whether
    TKEEP was all ones (default: all). A packet the DMA sends from a buffer has the defaults.
    """
    lanes = manifest.stream_bytes
    if data.size % lanes:
        raise ValueError(f"packet of {data.size} bytes is not whole {lanes}-byte beats")
    beats = data.reshape(-1, lanes)
    count = beats.shape[0]
    if last is None:
        last = np.zeros(count, dtype=bool)
        last[-1] = True
    if keep_ok is None:
        keep_ok = np.ones(count, dtype=bool)
    errors = manifest.errors

    def fail(code: str, index: int, results: list[np.ndarray]) -> PacketResult:
        out = [*results, error_beat(manifest, errors[code], index)]
        return PacketResult(np.concatenate(out), errors[code], index, fed_weights, 0)

    fed_weights = 0
    m, k, n, weights_format, header_ok, shape_ok = _header(manifest, beats[0])
    if not keep_ok[0]:
        return fail("BAD_KEEP", 0, [])
    if not header_ok:
        return fail("BAD_HEADER", 0, [])
    if not shape_ok:
        return fail("BAD_SHAPE", 0, [])
    shape = check_shape(manifest, m, k, n, weights_format)
    total = shape.input_beats
    # The first beat that breaks the framing: a bad TKEEP, an early TLAST, or a missing TLAST.
    bad = count
    code = ""
    for index in range(count):
        if not keep_ok[index]:
            bad, code = index, "BAD_KEEP"
            break
        if last[index] and index < total - 1:
            bad, code = index, "EARLY_LAST"
            break
        if index == total - 1 and not last[index]:
            bad, code = index, "MISSING_LAST"
            break
        if index == total - 1:
            break
    # Beats before `bad` are consumed; weight blocks whose last beat came before it complete.
    x = np.zeros((m, shape.k_beats * lanes), dtype=np.int8)
    act_end = shape.prefix_beats
    acts = beats[1 : min(act_end, bad)].reshape(-1).view(np.int8)
    x.reshape(-1)[: acts.size] = acts
    x = x[:, :k]
    weights = beats[act_end : min(total, bad)]
    per_block = shape.block_beats
    done_blocks = weights.shape[0] // per_block
    fed_weights = done_blocks * shape.block_weight_beats + _weight_beats_in(
        shape, weights.shape[0] % per_block
    )
    blocks_out = []
    if done_blocks:
        # Blocks a group at a time (outputs are independent per block), so the model's int64 working
        # set stays small: a 262,144-row LM head would need 1.3 GB as one int64 matrix.
        parts = []
        for b0 in range(0, done_blocks, _BLOCKS_AT_ONCE):
            b1 = min(done_blocks, b0 + _BLOCKS_AT_ONCE)
            blocks = weights[b0 * per_block : b1 * per_block].reshape(b1 - b0, per_block, lanes)
            if shape.int4:
                w = np.concatenate([unpack_int4_block(b, k, lanes, shape.group) for b in blocks])
            else:
                w = blocks.view(np.int8).transpose(0, 2, 1).reshape((b1 - b0) * lanes, k)
            y = matmul(x, w)  # (m, blocks*lanes)
            y = y.reshape(m, b1 - b0, lanes).transpose(1, 0, 2)
            parts.append(np.ascontiguousarray(y).astype("<i4").view(np.uint8).reshape(-1))
        blocks_out = [np.concatenate(parts)]
    if code:
        return fail(code, bad, blocks_out)
    return PacketResult(blocks_out[0], 0, -1, fed_weights, job_cycles(manifest, shape))


def _weight_beats_in(shape: JobShape, beats: int) -> int:
    """Weight (not scale) beats among the first `beats` beats of a block."""
    if not shape.int4:
        return beats
    per_group = shape.group // 2 + 1
    full, rest = divmod(beats, per_group)
    return full * (per_group - 1) + max(0, rest - 1)
