"""The float32 pieces that are not matmuls: RMSNorm, RoPE, causal (sliding-window) GQA attention, GLU."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float, offset: float = 0.0) -> np.ndarray:
    """Normalize the last axis; Gemma scales by (1 + w), hence `offset`."""
    x = x.astype(np.float32, copy=False)
    # np.mean(x * x) spelled as its two ufuncs (sum, then divide by the count as np.mean does, in
    # float64 cast back): the same bits without np.mean's Python wrapper, called 6x per layer in decode
    ms = np.add.reduce(x * x, axis=-1, keepdims=True)
    np.true_divide(ms, np.intp(x.shape[-1]), out=ms, casting="unsafe")
    ms += np.float32(eps)
    y = x * (1.0 / np.sqrt(ms))
    y *= w + np.float32(offset)
    return y


def rope_tables(
    head_dim: int, max_pos: int, theta: float, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin (max_pos, head_dim/2) for frequency i: pos / scale * theta**(-2i/head_dim)."""
    inv_freq = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    angles = np.arange(max_pos, dtype=np.float64)[:, None] / scale * inv_freq[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, style: str) -> np.ndarray:
    """Rotate x (T, H, D) at the positions whose cos/sin rows (T, D/2) are given.

    "neox" pairs element i with i + D/2 (HF layout); "gptj" pairs 2i with 2i+1 (GGUF's Llama layout).
    """
    c, s = cos[:, None, :], sin[:, None, :]
    if style == "neox":
        half = x.shape[-1] // 2
        a, b = x[..., :half], x[..., half:]
        out = np.empty(np.broadcast_shapes(x.shape, (*c.shape[:-1], x.shape[-1])), dtype=np.result_type(x, c))
        np.subtract(a * c, b * s, out=out[..., :half])  # each half written in place: no concatenate
        np.add(b * c, a * s, out=out[..., half:])
        return out
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = b * c + a * s
    return out


def attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, start: int, scale: float, window: int | None
) -> np.ndarray:
    """q (T, H, D) at positions start.., k/v (S, Hkv, D) at positions 0..S-1 -> (T, H*D).

    Query head h reads kv head h // (H / Hkv) (grouped-query attention). Key s is visible from query
    position p when s <= p and, for sliding-window layers, p - s < window.
    """
    t, h, d = q.shape
    s_len, hkv, _ = k.shape
    g = h // hkv
    qg = q.reshape(t, hkv, g, d).transpose(1, 2, 0, 3)  # (Hkv, G, T, D)
    scores = (qg @ k.transpose(1, 2, 0)[:, None]) * np.float32(scale)  # (Hkv, G, T, S)
    if not all_visible(start, t, s_len, window):  # decode within the window sees every key: no mask
        scores = np.where(visible_keys(start, t, s_len, window), scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=-1, keepdims=True)
    out = p.astype(np.float32) @ v.transpose(1, 0, 2)[:, None]  # (Hkv, G, T, D)
    return out.transpose(2, 0, 1, 3).reshape(t, h * d)


def all_visible(start: int, t: int, s_len: int, window: int | None) -> bool:
    """Whether every key 0..S-1 is visible from every query start..start+T-1 (`visible_keys` all True)."""
    return start >= s_len - 1 and (window is None or start + t - 1 < window)


def visible_keys(start: int, t: int, s_len: int, window: int | None) -> np.ndarray:
    """(T, S) mask: key s is visible from query position p when s <= p (and p - s < window)."""
    pos_q = np.arange(start, start + t)[:, None]
    pos_k = np.arange(s_len)[None, :]
    visible = pos_k <= pos_q
    if window is not None:
        visible &= pos_q - pos_k < window
    return visible


def glu(gate: np.ndarray, up: np.ndarray, activation: str) -> np.ndarray:
    """SwiGLU (silu) or GeGLU (tanh-approximated gelu, as Gemma uses)."""
    if activation == "silu":
        act = gate / (1.0 + np.exp(-gate))
    else:
        act = (
            0.5
            * gate
            * (1.0 + np.tanh(np.float32(0.7978845608028654) * (gate + np.float32(0.044715) * gate**3)))
        )
    return (act * up).astype(np.float32, copy=False)


class Float32Numerics:
    """The reference arithmetic, every op above in float32: the default numerics of `Transformer`.

    Another numerics (zynpu.model.validation.llamacpp_numerics) overrides the ops where an
    implementation rounds differently; `matmul_kernel` (None here: x @ w.T) computes a matmul per weight.
    """

    name = "float32"
    rms_norm = staticmethod(rms_norm)
    rope_tables = staticmethod(rope_tables)
    apply_rope = staticmethod(apply_rope)
    attention = staticmethod(attention)
    glu = staticmethod(glu)

    def matmul_kernel(self, weight_name: str) -> Callable[..., np.ndarray] | None:
        """(x, w) -> y for the weight named `weight_name` (canonical name), or None for x @ w.T."""
        return None

    def kv(self, x: np.ndarray) -> np.ndarray:
        """A K or V row as the cache stores it."""
        return x


FLOAT32 = Float32Numerics()
