"""Bit-exact numpy models of the ggml-cpu kernels llama.cpp runs for a prefill on x86-64 with AVX2.

Why bit-exact: llama.cpp rounds activations to 8-bit blocks before every quantized matmul and K, V, Q
and the attention weights to fp16. A float32 difference of one ulp anywhere moves some value across a
rounding boundary now and then, and that jump (a whole quantization step) grows through the layers:
llama.cpp's own token-by-token decode agrees with its own 256-token prefill on only ~95% of top-1 tokens
of the validation text. Matching its prefill therefore needs its arithmetic exactly, including the
order of every float32 addition; an integer dot product is exact, so only the float32 steps around
it are modelled. Each model below was checked element for element against llama.cpp's own tensors
(cb_eval) on Gemma 3 270M Q4_K_M, and names the kernel it reproduces:

* Q5_0 / Q8_0 weights (llamafile tinyBLAS_Q0_AVX): per 32-block, 8 lanes of 4-element integer dots,
  lane += fp16(d_w) * fp16(d_x) * dot as one FMA, block after block; then the AVX horizontal sum.
* Q4_K (CPU repack q4_K_8x8, AVX2 gemm): per 64 elements (two sub-blocks), one FMA of the integer
  sum with f32(d_w * d_x) into the sums, another of the min correction with f32(dmin_w * d_x); the
  result is their difference.
* Q6_K (CPU repack q6_K_8x8): per 256-block, acc = fma(f32(f32(isum) * d_w), d_x, acc).
* F16 x F16 (KQ and KQV with the default fp16 KV cache, tinyBLAS): 8 lanes, lane += a * b (exact
  products) along k, then the horizontal sum.
* Softmax (ggml_vec_soft_max_f32): ggml_v_expf, 8-wide float sums accumulated in double.

The models are of this build's kernels (llama.cpp CPU backend with llamafile sgemm and weight repacking,
AVX2 without AVX-512); another build or CPU may pick other kernels. Weight types without a verified
model (Q4_0, Q5_K, F16, BF16, F32 weights) get `None` from `exact_kernel`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from zynpu.model.gguf_file import GGUFTensor

QK8_0 = 32
QK_K = 256
F32, F64 = np.float32, np.float64

Kernel = Callable[..., np.ndarray]  # (x (T, K), dequantized w (N, K)) -> (T, N)


def fma(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float) -> np.ndarray:
    """float32 a * b + c with one rounding, as the FMA instruction.

    The product of two float32 is exact in float64; the float64 sum is then rounded to float32. That
    second rounding differs from a single one only when the float64 sum is inexact and lands exactly
    halfway between two float32 values; those sums are nudged toward their exact value first (TwoSum).
    Assumes normal (not subnormal) float32 results.
    """
    p = np.multiply(a, b, dtype=F64)
    s = np.add(p, c, dtype=F64)
    flat = s.reshape(-1)
    halfway = (flat.view(np.uint32)[_LOW_WORD::2] & np.uint32(0x1FFFFFFF)) == np.uint32(0x10000000)
    if halfway.any():  # common for exact sums (then nothing to do), so select cheaply
        si = flat[halfway]
        pi = np.broadcast_to(p, s.shape).reshape(-1)[halfway]
        ci = np.broadcast_to(c, s.shape).reshape(-1)[halfway].astype(F64)
        bp = si - pi
        err = (pi - (si - bp)) + (ci - bp)  # exact error of the float64 sum
        inexact = err != 0
        if inexact.any():
            at = np.flatnonzero(halfway)[inexact]
            flat[at] = np.nextafter(si[inexact], si[inexact] + err[inexact])
    return s.astype(F32)


_LOW_WORD = 0 if sys.byteorder == "little" else 1


class FmaAccumulator:
    """acc <- fma(a, b, acc) in place, element for element as `fma`, with reused float64 scratch
    (the matmul models run this on millions of lanes per block)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.acc = np.zeros(shape, dtype=F32)
        self._s = np.empty(shape, dtype=F64)
        self._lo = np.empty(self._s.size, dtype=np.uint32)
        self._half = np.empty(self._s.size, dtype=bool)

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        s = self._s
        np.multiply(a, b, out=s, dtype=F64)
        np.add(s, self.acc, out=s)
        flat = s.reshape(-1)
        np.bitwise_and(flat.view(np.uint32)[_LOW_WORD::2], np.uint32(0x1FFFFFFF), out=self._lo)
        if np.equal(self._lo, np.uint32(0x10000000), out=self._half).any():
            at = np.flatnonzero(self._half)  # halfway sums (mostly exact ones): few
            i = np.unravel_index(at, s.shape)
            pi = np.broadcast_to(a, s.shape)[i].astype(F64) * np.broadcast_to(b, s.shape)[i]
            ci, si = self.acc.reshape(-1)[at].astype(F64), flat[at]
            bp = si - pi
            err = (pi - (si - bp)) + (ci - bp)
            fix = err != 0
            flat[at[fix]] = np.nextafter(si[fix], si[fix] + err[fix])
        np.copyto(self.acc, s, casting="same_kind")


def hsum8(lanes: np.ndarray) -> np.ndarray:
    """The AVX 8-lane horizontal sum over axis 0: ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7))."""
    h = lanes[4:8] + lanes[0:4]
    return (h[0] + h[2]) + (h[1] + h[3])


def _chunk_rows(n: int, t: int, budget: int = 1 << 22) -> int:
    """Output rows per pass so that an (8, t, rows) scratch stays near `budget` elements."""
    return max(1, min(n, budget // max(1, 8 * t)))


# --- raw GGUF blocks -> fields ---------------------------------------------------------------------


def _rows(t: GGUFTensor, block_bytes: int) -> np.ndarray:
    return np.asarray(t.data).reshape(t.shape[0], -1, block_bytes)


def _f16(b: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(b).view(np.float16)[..., 0].astype(F32)


def unpack_q8_0(t: GGUFTensor) -> tuple[np.ndarray, np.ndarray]:
    """-> d (N, nb) float32 (fp16 values), q (N, nb, 32) int8."""
    b = _rows(t, 34)
    return _f16(b[..., 0:2]), np.ascontiguousarray(b[..., 2:]).view(np.int8)


def unpack_q5_0(t: GGUFTensor) -> tuple[np.ndarray, np.ndarray]:
    """-> d (N, nb), q (N, nb, 32) int8 in -16..15: low nibbles are elements 0-15, high 16-31."""
    b = _rows(t, 22)
    qh = np.ascontiguousarray(b[..., 2:6]).view(np.uint32)
    qs = b[..., 6:].astype(np.int16)
    bit = np.arange(32, dtype=np.uint32)
    high = ((qh >> bit) & 1).astype(np.int16) << 4
    q = np.concatenate([qs & 15, qs >> 4], axis=-1) + high - 16
    return _f16(b[..., 0:2]), q.astype(np.int8)


def unpack_q4_k(t: GGUFTensor) -> dict[str, np.ndarray]:
    """-> d, dmin (N, nb) float32; sc, m (N, nb, 8) int32 sub-block scales/mins; q (N, nb, 8, 32) uint8."""
    b = _rows(t, 144)
    s = b[..., 4:16].astype(np.int32)
    sc = np.concatenate([s[..., 0:4] & 63, (s[..., 8:12] & 15) | ((s[..., 0:4] >> 6) << 4)], axis=-1)
    m = np.concatenate([s[..., 4:8] & 63, (s[..., 8:12] >> 4) | ((s[..., 4:8] >> 6) << 4)], axis=-1)
    qs = b[..., 16:].reshape(*b.shape[:2], 4, 32)  # 4 chunks of 64 values: low nibbles, then high
    q = np.stack([qs & 15, qs >> 4], axis=3).reshape(*b.shape[:2], 8, 32)
    return {"d": _f16(b[..., 0:2]), "dmin": _f16(b[..., 2:4]), "sc": sc, "m": m, "q": q}


def unpack_q6_k(t: GGUFTensor) -> tuple[np.ndarray, np.ndarray]:
    """-> d (N, nb) float32, w (N, nb, 256) int32 = sub-block scale * (q - 32)."""
    b = _rows(t, 210)
    ql = b[..., :128].reshape(*b.shape[:2], 2, 64).astype(np.int32)
    qh = b[..., 128:192].reshape(*b.shape[:2], 2, 32).astype(np.int32)
    lo = np.stack([ql[..., :32] & 15, ql[..., 32:] & 15, ql[..., :32] >> 4, ql[..., 32:] >> 4], axis=3)
    hi = np.stack([(qh >> s) & 3 for s in (0, 2, 4, 6)], axis=3)
    q = (lo | (hi << 4)).reshape(*b.shape[:2], 256) - 32  # value 128h + 32k + l
    sc = np.ascontiguousarray(b[..., 192:208]).view(np.int8).astype(np.int32)
    return _f16(b[..., 208:210]), q * np.repeat(sc, 16, axis=-1)


# --- activations ------------------------------------------------------------------------------------


def quantize_q8_0(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., K) -> d (..., K/32) float16, q (..., K/32, 32) int8: d = amax/127, q = rint(x * 127/amax)."""
    b = np.asarray(x, dtype=F32).reshape(*np.shape(x)[:-1], -1, QK8_0)
    amax = np.abs(b).max(axis=-1)
    with np.errstate(divide="ignore"):
        inv = np.where(amax != 0, F32(127) / amax, F32(0)).astype(F32)
    return (amax / F32(127)).astype(np.float16), np.rint(b * inv[..., None]).astype(np.int8)


def quantize_q8_k(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., K) -> d (..., K/256) float32, q (..., K/256, 256) int8 (quantize_row_q8_K_ref).

    iscale = -127 / m for m the first element of largest magnitude; q = min(127, rint(iscale * x));
    d = 1 / iscale.
    """
    b = np.asarray(x, dtype=F32).reshape(*np.shape(x)[:-1], -1, QK_K)
    m = np.take_along_axis(b, np.abs(b).argmax(axis=-1)[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore"):
        iscale = np.where(m != 0, F32(-127) / m, F32(0)).astype(F32)
        d = np.where(iscale != 0, F32(1) / iscale, F32(0)).astype(F32)
    return d, np.minimum(np.rint(b * iscale[..., None]), 127).astype(np.int8)


# --- matmuls ----------------------------------------------------------------------------------------


def gemm_q0(x: np.ndarray, wd: np.ndarray, wq: np.ndarray) -> np.ndarray:
    """tinyBLAS_Q0_AVX for Q5_0/Q8_0 weights (d (N, nb), q (N, nb, 32)) and Q8_0 activations."""
    xd, xq = quantize_q8_0(x)
    xd = xd.astype(F32)
    t, nb = xd.shape
    xl = np.ascontiguousarray(xq.reshape(t, nb, 8, 4).transpose(1, 2, 0, 3), dtype=F32)  # (nb, 8, T, 4)
    out = np.empty((t, wd.shape[0]), dtype=F32)
    step = _chunk_rows(wd.shape[0], t)
    for a in range(0, wd.shape[0], step):
        n = min(step, wd.shape[0] - a)
        wl = np.ascontiguousarray(wq[a : a + n].reshape(n, nb, 8, 4).transpose(1, 2, 3, 0), dtype=F32)
        acc = FmaAccumulator((8, t, n))
        lanes = np.empty((8, t, n), dtype=F32)
        for blk in range(nb):
            np.einsum("jtr,jrn->jtn", xl[blk], wl[blk], out=lanes)  # 4-value integer dots: exact
            acc.add(xd[:, blk, None] * wd[None, a : a + n, blk], lanes)  # fp16 * fp16: exact in f32
        out[:, a : a + n] = hsum8(acc.acc)
    return out


def gemm_q4_k(x: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    """CPU-repack q4_K_8x8 gemm with Q8_K activations: per 64 values, sums and mins each one FMA."""
    xd, xq = quantize_q8_k(x)
    t, nb = xd.shape
    xs = xq.reshape(t, nb, 8, 32)
    bsums = xs.sum(axis=-1, dtype=np.int32).astype(F32)  # (T, nb, 8)
    xs = np.ascontiguousarray(xs.transpose(1, 2, 0, 3), dtype=F32)  # (nb, 8, T, 32)
    sc, m = f["sc"].astype(F32), f["m"].astype(F32)
    acc, acc_min = FmaAccumulator((t, sc.shape[0])), FmaAccumulator((t, sc.shape[0]))
    for blk in range(nb):
        wq = np.ascontiguousarray(f["q"][:, blk].transpose(1, 2, 0), dtype=F32)  # (8, 32, N)
        dots = np.einsum("jtk,jkn->jtn", xs[blk], wq)  # (8, T, N), exact
        s_d = (f["d"][None, :, blk] * xd[:, blk, None]).astype(F32)
        s_m = (f["dmin"][None, :, blk] * xd[:, blk, None]).astype(F32)
        for j in (0, 2, 4, 6):
            isum = dots[j] * sc[None, :, blk, j] + dots[j + 1] * sc[None, :, blk, j + 1]
            imin = bsums[:, blk, j, None] * m[None, :, blk, j]
            imin = imin + bsums[:, blk, j + 1, None] * m[None, :, blk, j + 1]
            acc.add(s_d, isum)
            acc_min.add(s_m, imin)
    return acc.acc - acc_min.acc


def gemm_q6_k(x: np.ndarray, wd: np.ndarray, w: np.ndarray) -> np.ndarray:
    """CPU-repack q6_K_8x8 gemm with Q8_K activations: per 256-block, fma(f32(isum) * d_w, d_x, acc)."""
    xd, xq = quantize_q8_k(x)
    t, nb = xd.shape
    acc = np.zeros((t, wd.shape[0]), dtype=F32)
    for blk in range(nb):
        isum = (xq[:, blk].astype(F64) @ w[:, blk].T.astype(F64)).astype(F32)  # cvtepi32_ps
        acc = fma((isum * wd[None, :, blk]).astype(F32), xd[:, blk, None], acc)
    return acc


def dot_f16_lanes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tinyBLAS F16 dot products along the last axis (a multiple of 8) of broadcast a, b (fp16 values).

    Lane j sums a[8c + j] * b[8c + j] over c in order (the products are exact), then hsum8.
    """
    k = a.shape[-1]
    shape = np.broadcast_shapes(a.shape, b.shape)[:-1]
    acc = np.zeros((8, *shape), dtype=F32)
    for c in range(0, k, 8):
        acc += np.moveaxis(a[..., c : c + 8] * b[..., c : c + 8], -1, 0)
    return hsum8(acc)


def _hexf(s: str) -> F32:
    return F32(float.fromhex(s))


_EXP_C = [_hexf(s) for s in ("0x1.0e4020p-7", "0x1.573e2ep-5", "0x1.555e66p-3", "0x1.fffdb6p-2")]


def v_expf(x: np.ndarray) -> np.ndarray:
    """ggml_v_expf (AVX2/FMA): exp(x) for float32 x <= 0 as ggml's vectorized polynomial computes it."""
    x = np.asarray(x, dtype=F32)
    r = _hexf("0x1.8p23")
    z = fma(x, _hexf("0x1.715476p+0"), r)
    n = z - r
    b = fma(-n, _hexf("0x1.7f7d1cp-20"), fma(-n, _hexf("0x1.62e4p-1"), x))
    e = z.view(np.uint32) << np.uint32(23)
    k = (e + F32(1).view(np.uint32)).view(F32)
    u = b * b
    j = fma(fma(fma(_EXP_C[0], b, _EXP_C[1]), u, fma(_EXP_C[2], b, _EXP_C[3])), u, _hexf("0x1.ffffecp-1") * b)
    out = fma(j, k, k)
    big = np.abs(n) > 126
    if np.any(big):  # far below exp's range (x < -87): the kernel's underflow branch
        g = np.where(n <= 0, np.uint32(0x82000000), np.uint32(0))
        s1 = (g + np.uint32(0x7F000000)).view(F32)
        s2 = (e - g).view(F32)
        alt = np.where(np.abs(n) > 192, s1 * s1, fma(s2, j, s2) * s1)
        out = np.where(big, alt, out)
    return out


def softmax_rows(scores: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """ggml_soft_max (f32) of masked rows: v_expf(x - max), 8-wide sums added in double, one multiply."""
    k = scores.shape[-1]
    pad = -k % 8
    w = np.where(visible, scores, -np.inf).astype(F32)
    if pad:
        w = np.concatenate([w, np.full((*w.shape[:-1], pad), -np.inf, F32)], axis=-1)
    live = np.isfinite(w)
    with np.errstate(invalid="ignore"):
        e = np.where(live, v_expf(np.where(live, w - w.max(axis=-1, keepdims=True), 0)), F32(0))
    part = hsum8(np.moveaxis(e.reshape(*e.shape[:-1], -1, 8), -1, 0))  # (..., chunks)
    total = np.zeros(part.shape[:-1], dtype=F64)
    for c in range(part.shape[-1]):
        total += part[..., c]
    return (e * (1.0 / total).astype(F32)[..., None])[..., :k]


EXACT_TYPES = frozenset({"Q8_0", "Q5_0", "Q4_K", "Q6_K"})


def exact_kernel_type(kind: str) -> bool:
    """Is there a verified kernel model for weights of GGML type `kind`?"""
    return kind in EXACT_TYPES


def exact_kernel(t: GGUFTensor) -> Kernel | None:
    """A bit-exact model of llama.cpp's prefill matmul for weight tensor `t`, or None if not modelled.

    The kernel takes (x, w, rows=None): w (the dequantized rows, unused) keeps the float32 signature;
    `rows` restricts the output to those weight rows.
    """
    kind = t.qtype.name
    if kind in ("Q8_0", "Q5_0"):
        wd, wq = (unpack_q8_0 if kind == "Q8_0" else unpack_q5_0)(t)
        return lambda x, w, rows=None: gemm_q0(x, *((wd, wq) if rows is None else (wd[rows], wq[rows])))
    if kind == "Q4_K":
        f = unpack_q4_k(t)
        return lambda x, w, rows=None: gemm_q4_k(x, f if rows is None else {k: v[rows] for k, v in f.items()})
    if kind == "Q6_K":
        wd, wi = unpack_q6_k(t)
        return lambda x, w, rows=None: gemm_q6_k(x, *((wd, wi) if rows is None else (wd[rows], wi[rows])))
    return None
