"""GGUF codes -> the tile's weight formats, copying codes where the grids allow and measuring the rest.

The tile holds, per output column n (docs/weights.md, "GGUF codes on the tile's grids"):
  int8: value = r[n] * W[n, k], W int8, r float32;
  int4: value = r[n] * S[n, g] * W[n, k], W in -8..7, S uint8 per group of `group` k values.
Both are symmetric. A GGUF block format (`gguf_quants.BlockCodes`) is
  value = D[n, j] * (c[n, k] + zero) - M[n, j],   D = d * scale, M = dmin * min per sub-block j.

What carries over exactly:
- codes: Q4_0 and Q4_K codes (Q4_K shifted by 8) are int4 codes; every type's codes fit int8. The
  group scale S is unsigned, and Q4_0 stores d = max / -8 (the largest weight gets code -8), so d has
  either sign: a block with d < 0 goes to the tile as the complement ~c = -c - 1 (in -8..7 again) with
  step |d|, and its +|d| per code lands in the host offsets below: exact, no code moves.
- int4 group steps: a tile group spans `group / block` sub-blocks with one S, so the codes are copied
  where those sub-blocks share D; otherwise the group keeps the largest D and the other sub-blocks'
  codes are re-rounded onto it (lossy: the count is reported as `codes_copied`).
- the row: every group step must be r * S with S an integer in 1..255; the row scale r is searched so
  that the steps land on the integer grid with the least weight error (exact where the steps'
  ratios allow it, e.g. a Q4_K row whose super-blocks share d: r = d / 4, S = 4 * scale).
- int8: one scale per row, so the codes are copied only where every D of the row is an integer
  multiple t of the smallest with |c * t| <= 127; otherwise they are re-rounded (the same numbers the
  float path gives, since D * c is exact in float32).
- Q4_K's zero point (zero * D - M per sub-block) has no place on a symmetric grid: it stays on the host
  (`HostOffsets`, with the flipped blocks' +|d|) and is added per token as integer sums of the int8
  activations over each sub-block, times the integer scales and mins, scaled once by d and dmin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from zynpu.model.w4a8 import SMAX, WMAX, WMIN, groups
from zynpu.model.w8a8 import QMAX

if TYPE_CHECKING:  # the gguf package is an extra; this module itself needs only numpy
    from zynpu.model.gguf_quants import BlockCodes

# Row scale candidates: the largest group step is s integer units, s in this range. Every exact grid
# (all steps integer multiples of one r, the largest <= 255) has a multiple of its own s in 128..255.
ROW_UNITS = range(128, SMAX + 1)


@dataclass(frozen=True)
class HostOffsets:
    """The part of a GGUF tensor's values the tile's symmetric grid cannot hold, added on the host.

    Per sub-block j the offset is d * zs[n, j] - dmin * mins[n, j] with integer zs and mins: Q4_K's zero
    point (zs = 8 * scale, mins its mins), and the +1 of a sign-flipped block (zs = -scale; see to_int4).
    For int8 activations xq (M, K): correction[m, n] = sum_j offset[n, j] * sum_(k in j) xq[m, k].
    """

    block: int
    per: int  # sub-blocks per super-block
    zs: np.ndarray  # int16 (N, J)
    mins: np.ndarray  # uint8 (N, J)
    d: np.ndarray  # float32 (N, SB)
    dmin: np.ndarray  # float32 (N, SB)
    compact_bits_per_param: float  # host memory packed as GGUF packs such fields (see _offsets)

    def correction(self, xq: np.ndarray) -> np.ndarray:
        """float64 (M, N): what the offsets add to x @ W.T, in activation integer units.

        Per super-block s, I1 = sum_j zs[n, j] * X[m, j] and I2 = sum_j mins[n, j] * X[m, j] with X the
        activation sums per sub-block: integers, computed by float32 BLAS exactly where every partial
        sum stays below 2**24 (Q4_K: 8 x 32 x 128 x 504 < 2**24; else in float64, exact to 2**53),
        then d * I1 - dmin * I2 summed over super-blocks in float64.
        """
        m, sb = xq.shape[0], self.d.shape[1]
        zs, mins, d, dmin = self._operands
        sums = xq.reshape(m, sb, self.per, self.block).sum(axis=3, dtype=np.int32).astype(zs.dtype)
        sums = sums.transpose(1, 0, 2)  # (SB, M, per)
        i1, i2 = np.matmul(sums, zs), np.matmul(sums, mins)  # (SB, M, N), exact integers
        return (i1 * d - i2 * dmin).sum(axis=0)

    @cached_property
    def _operands(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """zs, mins as (SB, per, N) in the narrowest float keeping the sums exact; d, dmin (SB, 1, N)."""
        n, sb = self.d.shape
        top = max(int(np.abs(self.zs).max(initial=0)), int(self.mins.max(initial=0)))
        exact = np.float64 if self.per * self.block * 128 * top >= 2**24 else np.float32
        zs = np.ascontiguousarray(self.zs.astype(exact).reshape(n, sb, self.per).transpose(1, 2, 0))
        mins = np.ascontiguousarray(self.mins.astype(exact).reshape(n, sb, self.per).transpose(1, 2, 0))
        return zs, mins, self.d.T.astype(np.float64)[:, None, :], self.dmin.T.astype(np.float64)[:, None, :]

    def values(self) -> np.ndarray:
        """float64 (N, J): the offset each sub-block's values carry."""
        d = np.repeat(self.d.astype(np.float64), self.per, axis=1)
        dmin = np.repeat(self.dmin.astype(np.float64), self.per, axis=1)
        return d * self.zs - dmin * self.mins


@dataclass(frozen=True)
class TileWeight:
    """A GGUF tensor on the tile's grid: `fmt` "int8" (scales None) or "int4" (uint8 group scales)."""

    fmt: str
    q: np.ndarray  # int8 (N, K)
    row_scale: np.ndarray  # float32 (N,)
    scales: np.ndarray | None  # uint8 (N, G) for int4
    group: int  # int4 group size (K for int8)
    offsets: HostOffsets | None
    codes_copied: float  # fraction of weights whose code went over unchanged (int4: or complemented where
    # the block's d is negative; int8: times an integer t)
    steps_exact: float  # fraction of sub-blocks whose step the tile holds exactly

    def values(self) -> np.ndarray:
        """float64 (N, K): the weight the tile and host together compute with."""
        k = self.q.shape[1]
        step = self.row_scale.astype(np.float64)[:, None]
        if self.scales is not None:
            step = step * np.repeat(self.scales.astype(np.float64), self.group, axis=1)[:, :k]
        w = step * self.q
        if self.offsets is not None:
            w = w + np.repeat(self.offsets.values(), self.offsets.block, axis=1)
        return w


def _offsets(bc: BlockCodes, flipped: np.ndarray | None = None) -> HostOffsets | None:
    """The host's share of `bc` on a symmetric grid: zero points, mins, and +1 per flipped sub-block."""
    has_mins = bc.mins is not None and bc.dmin is not None
    zs = bc.zero * bc.scales.astype(np.int16)
    if flipped is not None:
        zs = zs - np.where(flipped, bc.scales, 0).astype(np.int16)
    if not has_mins and not zs.any():
        return None  # symmetric and nothing flipped: the tile holds it all
    n, j = bc.scales.shape
    mins = bc.mins if has_mins else np.zeros((n, j), dtype=np.uint8)
    dmin = bc.dmin if has_mins else np.zeros_like(bc.d)
    # packed: 6-bit scale (or 1 flip bit where the type has no sub-scales) and 6-bit min per sub-block,
    # fp16 d (and dmin) per super-block; Q4_K 0.5 bits per weight, Q4_0 with flips 0.53
    sub_bits = (6 if bc.zero else 1) + (6 if has_mins else 0)
    compact = sub_bits / bc.block + 16 * (1 + has_mins) / bc.superblock
    return HostOffsets(bc.block, bc.superblock // bc.block, zs, mins, bc.d, dmin, compact)  # type: ignore[arg-type]


def to_int4(bc: BlockCodes, group: int) -> TileWeight:
    """A 4-bit GGUF tensor (Q4_0, Q4_K) on the tile's int4 grid with `group` k values per scale."""
    codes = bc.codes
    if codes.min() < WMIN or codes.max() > WMAX:
        raise ValueError(f"{bc.qtype.name} codes do not fit int4; map it to int8")
    if group % bc.block:
        raise ValueError(f"int4 group {group} is not whole {bc.qtype.name} sub-blocks of {bc.block} values")
    n, k = bc.shape
    per, g, j = group // bc.block, groups(k, group), k // bc.block
    signed = bc.steps().astype(np.float64)
    sign = np.where(signed < 0, -1, 1).astype(np.int8)  # S is unsigned: a negative d flips its codes
    step = np.zeros((n, g * per), dtype=np.float64)
    step[:, :j] = np.abs(signed)
    gstep = step.reshape(n, g, per).max(axis=2)  # (N, G): the step each tile group keeps
    keep = np.repeat(gstep, per, axis=1)[:, :j]
    ratio = np.divide(step[:, :j], keep, out=np.zeros_like(keep), where=keep > 0)
    same = ratio == 1.0
    # a negative step: d * c = |d| * (-c) = |d| * (~c + 1), and ~c = -c - 1 is in -8..7 again: the tile
    # takes the complemented codes and the host adds |d| * sum(x) over the block (`_offsets`)
    flip = np.repeat(sign < 0, bc.block, axis=1)
    codes = np.where(flip, -bc.codes.astype(np.int16) - 1, bc.codes)
    per_k = np.repeat(ratio, bc.block, axis=1)
    rounded = np.rint(codes * per_k)
    q = np.clip(np.where(np.repeat(same, bc.block, axis=1), codes, rounded), WMIN, WMAX).astype(np.int8)
    row, s = _row_grid(gstep, _code_energy(q, group, g))
    held = np.repeat(row.astype(np.float64)[:, None] * s, per, axis=1)[:, :j] == step[:, :j]
    return TileWeight(
        "int4",
        np.ascontiguousarray(q),
        row,
        s,
        group,
        _offsets(bc, sign < 0),
        float(np.mean(q == codes)),
        float(np.mean(same & held)),
    )


def _code_energy(q: np.ndarray, group: int, g: int) -> np.ndarray:
    """float64 (N, G): sum of squared codes per group (weights a step error by what it multiplies)."""
    n, k = q.shape
    sq = np.zeros((n, g * group), dtype=np.float64)
    sq[:, :k] = q.astype(np.float64) ** 2
    return sq.reshape(n, g, group).sum(axis=2)


def _row_grid(gstep: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row scale r (float32) and integer steps S (uint8) with r * S ~= gstep, least code-weighted error."""
    top = gstep.max(axis=1)
    best_err = np.full(top.shape, np.inf)
    best_r = np.ones(top.shape, dtype=np.float32)
    best_s = np.zeros(gstep.shape, dtype=np.uint8)
    for units in ROW_UNITS:
        r = np.where(top > 0, top / units, 1.0).astype(np.float32)
        r64 = r.astype(np.float64)[:, None]
        s = np.clip(np.rint(gstep / r64), 0, SMAX)
        s = np.where((gstep > 0) & (s == 0), 1, s)
        err = (((gstep - r64 * s) ** 2) * energy).sum(axis=1)
        better = err < best_err
        best_err[better], best_r[better], best_s[better] = err[better], r[better], s[better]
    return best_r, best_s


def to_int8(bc: BlockCodes) -> TileWeight:
    """Any decodable GGUF tensor on the tile's int8 grid (one float scale per row).

    Rows whose steps are integer multiples t of their smallest step with |code * t| <= 127 keep their
    codes (times t) exactly; the others are re-rounded to max|D * c| / 127 steps, which is the same
    arithmetic (and result) as quantizing the dequantized float row with w8a8.quantize_rows.
    """
    k = bc.shape[1]
    step = bc.steps()  # float32, exact
    per_k = np.repeat(step, bc.block, axis=1)
    sym = per_k * bc.codes.astype(np.float32)  # exact: a <= 18-bit step times a <= 8-bit code
    amax = np.abs(sym).max(axis=1)
    scale = np.where(amax > 0, amax / QMAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(sym / scale[:, None]), -QMAX, QMAX).astype(np.int8)
    small = np.where(step != 0, np.abs(step), np.inf).min(axis=1)
    small = np.where(np.isfinite(small), small, 1.0).astype(np.float32)
    t = step / small[:, None]
    whole = (t == np.rint(t)).all(axis=1)
    tq = bc.codes.astype(np.int64) * np.repeat(np.rint(t).astype(np.int64), bc.block, axis=1)
    fits = whole & (np.abs(tq).max(axis=1) <= QMAX)
    q = np.where(fits[:, None], tq, q).astype(np.int8)
    scale = np.where(fits, small, scale).astype(np.float32)
    return TileWeight(
        "int8", q, scale, None, k, _offsets(bc), float(fits.mean()), float(fits.mean())
    )


@dataclass(frozen=True)
class MappingError:
    """How far the tile's weights are from the GGUF's own dequantized values (gguf.quants)."""

    max_abs: float
    mean_abs: float
    rel_rms: float  # rms error / rms weight
    exact: bool
    codes_copied: float
    steps_exact: float
    stream_bits_per_param: float  # what the tile streams
    host_bits_per_param: float  # what the host keeps per weight for the offsets (compact packing)


def mapping_error(bc: BlockCodes, tw: TileWeight) -> MappingError:
    ref32 = bc.dequantize()
    ref, mine = ref32.astype(np.float64), tw.values()
    err = np.abs(mine - ref)
    k = bc.shape[1]
    stream = 8.0 if tw.fmt == "int8" else 8 * (-(-k // 2) + groups(k, tw.group)) / k
    return MappingError(
        float(err.max()),
        float(err.mean()),
        float(np.sqrt((err**2).mean() / max((ref**2).mean(), 1e-30))),
        bool(np.array_equal(mine.astype(np.float32), ref32)),  # equal once rounded as gguf rounds
        tw.codes_copied,
        tw.steps_exact,
        stream,
        tw.offsets.compact_bits_per_param if tw.offsets is not None else 0.0,
    )
