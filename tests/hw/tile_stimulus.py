"""Input packets for the tile tests: good jobs of any shape and every kind of malformed packet.

Pure numpy (no cocotb), so the packet generators are usable and testable outside a simulator. Every
packet carries its per-beat TLAST and TKEEP-ok flags, exactly what `reference.run_packet` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zynpu.tile import packing
from zynpu.tile.manifest import TileManifest

ERROR_KINDS: tuple[str, ...] = (
    "bad_magic",
    "bad_magic_single_beat",
    "bad_format",
    "bad_flags",
    "bad_reserved",
    "m_zero",
    "m_too_big",
    "k_zero",
    "k_too_big",
    "n_zero",
    "n_too_big",
    "early_last_header",
    "early_last_activations",
    "early_last_first_block",
    "early_last_block_end",
    "early_last_after_blocks",
    "missing_last",
    "missing_last_single_block",
    "bad_keep_header",
    "bad_keep_activations",
    "bad_keep_weights",
    "bad_weights_format",
    "int4_early_last_scale",
    "int4_early_last_block_end",
    "int4_missing_last",
    "int4_bad_keep_scale",
    "int4_bad_keep_weights",
)


@dataclass
class Packet:
    """One input packet: bytes (whole beats), TLAST per beat, TKEEP-all-ones per beat."""

    data: np.ndarray
    last: np.ndarray
    keep_ok: np.ndarray
    label: str

    @property
    def beats(self) -> int:
        return int(self.last.size)


def random_matrix(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """int8 values, biased towards the extremes (-128, 127) where sign and width bugs show."""
    x = rng.integers(-128, 128, size=(rows, cols), dtype=np.int16)
    extremes = rng.random((rows, cols)) < 0.1
    x[extremes] = rng.choice(np.array([-128, 127, -1], dtype=np.int16), size=int(extremes.sum()))
    return x.astype(np.int8)


def random_int4(rng: np.random.Generator, rows: int, cols: int, group: int) -> tuple[np.ndarray, np.ndarray]:
    """int4 weights (-8..7) and uint8 group scales, biased towards -8, 7, -1 and scales 0, 1, 255."""
    w = rng.integers(-8, 8, size=(rows, cols), dtype=np.int8)
    extremes = rng.random((rows, cols)) < 0.1
    w[extremes] = rng.choice(np.array([-8, 7, -1], dtype=np.int8), size=int(extremes.sum()))
    s = rng.integers(0, 256, size=(rows, -(-cols // group)), dtype=np.int16)
    picks = rng.random(s.shape) < 0.15
    s[picks] = rng.choice(np.array([0, 1, 255], dtype=np.int16), size=int(picks.sum()))
    return w, s.astype(np.uint8)


def job_packet(
    manifest: TileManifest, rng: np.random.Generator, m: int, k: int, n: int, weights: str = "int8"
) -> Packet:
    x = random_matrix(rng, m, k)
    if weights == "int4":
        w, scales = random_int4(rng, n, k, manifest.int4_group)
        data = packing.pack_job(manifest, x, w, scales)
    else:
        data = packing.pack_job(manifest, x, random_matrix(rng, n, k))
    beats = data.size // manifest.stream_bytes
    last = np.zeros(beats, dtype=bool)
    last[-1] = True
    return Packet(data, last, np.ones(beats, dtype=bool), f"{weights} job M={m} K={k} N={n}")


def random_shape(manifest: TileManifest, rng: np.random.Generator, k_cap: int = 0) -> tuple[int, int, int]:
    """M in 1..R; K and N drawn to hit 1, L-1, L, L+1, the int4 group +-1 and values off every multiple."""
    lanes = manifest.lanes
    group = manifest.int4_group
    k_cap = min(k_cap or 3 * group, manifest.max_k)
    m = int(rng.integers(1, manifest.rows + 1))
    k_pick = [1, 2, lanes - 1, lanes, lanes + 1, group, group + 1, int(rng.integers(1, k_cap + 1))]
    n_pick = [1, lanes - 1, lanes, lanes + 1, int(rng.integers(1, 3 * lanes + 1))]
    k = min(int(rng.choice(k_pick)), manifest.max_k)
    n = int(rng.choice(n_pick))
    return m, k, n


def _set_field(manifest: TileManifest, data: np.ndarray, name: str, value: int) -> None:
    for f in manifest.header["fields"]:
        if f["name"] == name:
            raw = (value % (1 << (8 * f["size"]))).to_bytes(f["size"], "little")
            data[f["offset"] : f["offset"] + f["size"]] = np.frombuffer(raw, dtype=np.uint8)
            return
    raise KeyError(name)


def _truncate(packet: Packet, beat: int, lanes: int) -> None:
    """End the packet early: TLAST on `beat`, nothing after it (a DMA that sent too few bytes)."""
    packet.data = packet.data[: (beat + 1) * lanes].copy()
    packet.last = np.zeros(beat + 1, dtype=bool)
    packet.last[beat] = True
    packet.keep_ok = np.ones(beat + 1, dtype=bool)


def error_packet(manifest: TileManifest, rng: np.random.Generator, kind: str) -> Packet:
    """A malformed packet of the given kind (see ERROR_KINDS); the reference says what it must raise."""
    lanes = manifest.lanes
    weights = "int4" if kind.startswith("int4_") else "int8"
    m = int(rng.integers(1, manifest.rows + 1))
    k = int(rng.integers(1, 3 * lanes))
    if weights == "int4":
        k = int(rng.integers(manifest.int4_group + 1, 3 * manifest.int4_group))  # two groups or more
    n = int(rng.integers(2 * lanes + 1, 4 * lanes))  # at least three weight blocks
    if kind == "missing_last_single_block":
        n = int(rng.integers(1, lanes + 1))
    p = job_packet(manifest, rng, m, k, n, weights)
    p.label = f"{kind} (M={m} K={k} N={n})"
    shape = packing.check_shape(manifest, m, k, n, weights)
    prefix, total = shape.prefix_beats, shape.input_beats
    block = shape.block_beats
    group_beats = manifest.int4_group // 2 + 1  # scale beat + weight beats of a whole int4 group
    header = p.data[:lanes]
    if kind == "bad_magic":
        header[0] ^= 0x01
    elif kind == "bad_magic_single_beat":
        header[1] ^= 0x80
        _truncate(p, 0, lanes)
    elif kind == "bad_format":
        _set_field(manifest, header, "format", manifest.header["format"] + 1)
    elif kind == "bad_flags":
        _set_field(manifest, header, "flags", 1 << int(rng.integers(0, 8)))
    elif kind == "bad_reserved":
        _set_field(manifest, header, "reserved", 1 << int(rng.integers(0, 8)))
    elif kind == "m_zero":
        _set_field(manifest, header, "m", 0)
    elif kind == "m_too_big":
        _set_field(manifest, header, "m", manifest.rows + 1)
    elif kind == "k_zero":
        _set_field(manifest, header, "k", 0)
    elif kind == "k_too_big":
        _set_field(manifest, header, "k", manifest.max_k + 1)
    elif kind == "n_zero":
        _set_field(manifest, header, "n", 0)
    elif kind == "n_too_big":
        _set_field(manifest, header, "n", manifest.max_n + 1)
    elif kind == "early_last_header":
        _truncate(p, 0, lanes)
    elif kind == "early_last_activations":
        _truncate(p, int(rng.integers(1, prefix)), lanes)
    elif kind == "early_last_first_block":
        _truncate(p, int(rng.integers(prefix, prefix + block)), lanes)
    elif kind in ("early_last_block_end", "int4_early_last_block_end"):
        # TLAST on the last beat of block 1: that block never commits, block 0's results precede the error.
        _truncate(p, prefix + 2 * block - 1, lanes)
    elif kind == "int4_early_last_scale":
        # TLAST on the second group's scale beat of a random block.
        _truncate(p, prefix + int(rng.integers(0, shape.blocks)) * block + group_beats, lanes)
    elif kind == "int4_bad_keep_scale":
        p.keep_ok[prefix + int(rng.integers(0, shape.blocks)) * block + group_beats] = False
    elif kind == "int4_bad_keep_weights":
        start = prefix + int(rng.integers(0, shape.blocks)) * block
        p.keep_ok[start + int(rng.integers(1, group_beats))] = False
    elif kind == "bad_weights_format":
        _set_field(manifest, header, "weights", int(rng.integers(2, 256)))
    elif kind == "early_last_after_blocks":
        _truncate(p, int(rng.integers(prefix + block, total - 1)), lanes)
    elif kind in ("missing_last", "missing_last_single_block", "int4_missing_last"):
        extra = int(rng.integers(1, 4))
        p.data = np.concatenate([p.data, rng.integers(0, 256, extra * lanes, dtype=np.uint8)])
        p.last = np.zeros(total + extra, dtype=bool)
        p.last[-1] = True
        p.keep_ok = np.ones(total + extra, dtype=bool)
    elif kind == "bad_keep_header":
        p.keep_ok[0] = False
    elif kind == "bad_keep_activations":
        p.keep_ok[int(rng.integers(1, prefix))] = False
    elif kind == "bad_keep_weights":
        p.keep_ok[int(rng.integers(prefix, total))] = False
    else:
        raise ValueError(f"unknown error kind {kind!r}")
    return p
