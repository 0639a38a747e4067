"""Bit-exact numpy model of the tile: same packets in, same packets, status and counters out.

It is the `ref` device and the oracle of every RTL test. It models what the RTL does with any input
packet, including malformed ones (which beat raises which error, which results precede the error
beat), and the cycle accounting of a job whose input never starves and whose output never stalls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .manifest import TileManifest
from .packing import JobShape


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
    gap = max(shape.k, model["drain_gap_per_row"] * shape.m + model["drain_gap_const"])
    weights = shape.k + (shape.blocks - 1) * gap
    tail = model["tail_per_row"] * shape.m + model["tail_const"]
    return model["header_cycles"] + shape.activation_beats + weights + tail


def _header(manifest: TileManifest, beat: np.ndarray) -> tuple[int, int, int, bool, bool]:
    """(m, k, n, header_ok, shape_ok) of a header beat."""
    values = {}
    for f in manifest.header["fields"]:
        values[f["name"]] = int.from_bytes(beat[f["offset"] : f["offset"] + f["size"]].tobytes(), "little")
    header_ok = (
        values["magic"] == manifest.header["magic"]
        and values["format"] == manifest.header["format"]
        and values["flags"] == 0
        and values["reserved"] == 0
        and not beat[manifest.header["bytes"] :].any()
    )
    m, k, n = values["m"], values["k"], values["n"]
    shape_ok = 1 <= m <= manifest.rows and 1 <= k <= manifest.max_k and 1 <= n <= manifest.max_n
    return m, k, n, header_ok, shape_ok


def error_beat(manifest: TileManifest, code: int, index: int) -> np.ndarray:
    words = np.zeros(manifest.stream_bytes // 4, dtype="<u4")
    words[:3] = (manifest.error_magic, code, index & 0xFFFFFFFF)
    return words.view(np.uint8)


_BLOCKS_AT_ONCE = 256  # output blocks per int64 product in run_packet (256 x 16 lanes x K=640: 21 MB)


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The tile's arithmetic: int8 x int8 products summed in int32 (wrapping like the RTL's adders)."""
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    return ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)


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
    m, k, n, header_ok, shape_ok = _header(manifest, beats[0])
    if not keep_ok[0]:
        return fail("BAD_KEEP", 0, [])
    if not header_ok:
        return fail("BAD_HEADER", 0, [])
    if not shape_ok:
        return fail("BAD_SHAPE", 0, [])
    shape = JobShape(m, k, n, lanes)
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
    fed_weights = weights.shape[0]
    done_blocks = fed_weights // k
    blocks_out = []
    if done_blocks:
        # Blocks a group at a time (outputs are independent per block), so the model's int64 working
        # set stays small: a 262,144-row LM head would need 1.3 GB as one int64 matrix.
        parts = []
        for b0 in range(0, done_blocks, _BLOCKS_AT_ONCE):
            b1 = min(done_blocks, b0 + _BLOCKS_AT_ONCE)
            w = weights[b0 * k : b1 * k].view(np.int8).reshape(b1 - b0, k, lanes).transpose(0, 2, 1)
            y = matmul(x, w.reshape((b1 - b0) * lanes, k))  # (m, blocks*lanes)
            y = y.reshape(m, b1 - b0, lanes).transpose(1, 0, 2)
            parts.append(np.ascontiguousarray(y).astype("<i4").view(np.uint8).reshape(-1))
        blocks_out = [np.concatenate(parts)]
    if code:
        return fail(code, bad, blocks_out)
    return PacketResult(blocks_out[0], 0, -1, fed_weights, job_cycles(manifest, shape))
