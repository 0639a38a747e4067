"""llama.cpp's CPU arithmetic as an option of the reference forward: `Transformer(numerics=for_gguf(...))`.

The float32 forward is the reference. llama.cpp (ggml-cpu, no flash attention, default fp16 KV cache)
differs from it where it rounds, and because those roundings amplify one-ulp differences into whole
quantization steps (see zynpu.model.llamacpp_kernels), matching its top-1 tokens on a text full of
near-ties takes its arithmetic exactly. Where this module puts each rounding, read from ggml's sources
and checked against llama.cpp's own intermediate tensors:

* Matmuls: activations go to the weight type's vec_dot_type first (Q4_0/Q5_0/Q8_0 -> Q8_0 blocks of
  32, K-quants -> Q8_K blocks of 256, F16 -> fp16, BF16 -> bf16, F32 unchanged); then the verified
  kernel models of llamacpp_kernels where one exists (Q5_0, Q8_0, Q4_K, Q6_K), else dequantized
  weights @ rounded activations in float32 (right rounding, not the kernel's order of additions).
  The LM head: float32 for the whole vocabulary, the kernel model for each position's top 16.
* Attention with an f16 cache: K and V rounded to fp16 when stored; KQ converts Q to fp16 (Gemma 3
  scales Q by query_pre_attn_scalar**-0.5 before, other families in the softmax); softmax in float32
  (ggml_v_expf); KQV converts the probabilities to fp16. With an f32 cache nothing is rounded there.
* GeGLU: ggml_vec_geglu_f32 reads a 65536-entry table indexed by fp16(x) holding fp16(gelu(x))
  (x <= -10 -> 0, x >= 10 -> x). SwiGLU stays float32 (not modelled: ggml's vectorized expf).
* RoPE: angles p * theta_scale**i by repeated float32 multiplication (ggml_rope_cache_init), cosf and
  sinf from the C library, rotation with one FMA per output. RMSNorm: squares summed in double.

Decode (one token per call) runs llama.cpp's GEMV kernels, which round differently; this models prefill.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Mapping
from functools import lru_cache

import numpy as np

from zynpu.model.gguf_file import GGUFTensor
from zynpu.model.layers import Float32Numerics, visible_keys
from zynpu.model.validation import llamacpp_kernels as K

quantize_q8_0 = K.quantize_q8_0
quantize_q8_k = K.quantize_q8_k

# weight (GGML) type -> the type its CPU dot product converts activations to (ggml-cpu type_traits_cpu)
VEC_DOT_TYPE = {
    "F32": "F32",
    "F16": "F16",
    "BF16": "BF16",
    "Q4_0": "Q8_0",
    "Q5_0": "Q8_0",
    "Q8_0": "Q8_0",
    "Q4_1": "Q8_1",
    "Q5_1": "Q8_1",
    "Q2_K": "Q8_K",
    "Q3_K": "Q8_K",
    "Q4_K": "Q8_K",
    "Q5_K": "Q8_K",
    "Q6_K": "Q8_K",
}
TOP_K = 16  # LM-head logits computed with the kernel model per position
_MATMULS = frozenset({"wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"})


def dequantize_blocks(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Block scales and quants (as the quantizers return them) -> (..., K) float32."""
    v = d.astype(np.float32)[..., None] * q.astype(np.float32)
    return v.reshape(*v.shape[:-2], -1)


def round_f16(x: np.ndarray) -> np.ndarray:
    """float32 -> nearest fp16 (ties to even, as F16C) -> float32."""
    return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def round_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> nearest bf16 (ties to even, as GGML_FP32_TO_BF16 for finite values) -> float32."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
    return u.astype(np.uint32).view(np.float32)


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _fake_q8_0(x: np.ndarray) -> np.ndarray:
    return dequantize_blocks(*quantize_q8_0(x))


def _fake_q8_k(x: np.ndarray) -> np.ndarray:
    return dequantize_blocks(*quantize_q8_k(x))


_CASTS = {"F32": _identity, "F16": round_f16, "BF16": round_bf16, "Q8_0": _fake_q8_0, "Q8_K": _fake_q8_k}


def activation_cast(weight_type: str) -> Callable[[np.ndarray], np.ndarray]:
    """What llama.cpp does to a matmul's activations for weights of GGML type `weight_type`."""
    cast = _CASTS.get(VEC_DOT_TYPE.get(weight_type, ""))
    if cast is None:
        raise ValueError(f"no llama.cpp activation rule for weight type {weight_type!r}")
    return cast


@lru_cache(maxsize=1)
def _libm() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else None


def libm_f32(fn: str, x: np.ndarray) -> np.ndarray:
    """The C library's float32 `fn` (cosf, sinf) elementwise: ggml calls these, and they are not
    always correctly rounded. Without a C math library: float64 rounded to float32."""
    x = np.asarray(x, dtype=np.float32)
    lib = _libm()
    if lib is None:
        return getattr(np, fn[:-1])(x.astype(np.float64)).astype(np.float32)
    f = getattr(lib, fn)
    f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float]
    return np.fromiter((f(v) for v in x.ravel().tolist()), np.float32, x.size).reshape(x.shape)


def gelu_tanh_f32(x: np.ndarray) -> np.ndarray:
    """ggml_gelu_f32 as compiled for x86-64: 1 + a*x*x as one FMA, tanhf correctly rounded."""
    x = np.asarray(x, dtype=np.float32)
    f = np.float32
    inner = f(0.7978845608028654) * x * K.fma(f(0.044715) * x, x, f(1))
    return f(0.5) * x * (f(1) + np.tanh(inner.astype(np.float64)).astype(np.float32))


@lru_cache(maxsize=1)
def gelu_table() -> np.ndarray:
    """ggml_table_gelu_f16: for every fp16 bit pattern i, fp16(gelu(fp16 value i)), as uint16."""
    v = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        return gelu_tanh_f32(v).astype(np.float16).view(np.uint16)


def gelu_lookup(x: np.ndarray) -> np.ndarray:
    """ggml_vec_gelu_f32 with GGML_GELU_FP16: table lookup at fp16(x), exact outside (-10, 10)."""
    x = np.asarray(x, dtype=np.float32)
    t = gelu_table().view(np.float16)[x.astype(np.float16).view(np.uint16)].astype(np.float32)
    return np.where(x <= -10, np.float32(0), np.where(x >= 10, x, t))


def rope_tables_f32(
    head_dim: int, max_pos: int, theta: float, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin (max_pos, head_dim/2) as ggml_rope_cache_init computes them."""
    f = np.float32
    theta_scale = np.power(f(theta), f(-2.0) / f(head_dim), dtype=np.float32)
    angles = np.empty((max_pos, head_dim // 2), dtype=np.float32)
    angles[:, 0] = np.arange(max_pos, dtype=np.float32)
    for i in range(1, head_dim // 2):
        angles[:, i] = angles[:, i - 1] * theta_scale
    angles *= f(1.0 / scale)
    return libm_f32("cosf", angles), libm_f32("sinf", angles)


def apply_rope_ggml(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, style: str) -> np.ndarray:
    """ggml_rope as compiled for x86-64: x0*cos - x1*sin and x0*sin + x1*cos, each one FMA."""
    c, s = cos[:, None, :], sin[:, None, :]
    if style == "neox":
        half = x.shape[-1] // 2
        a, b = x[..., :half], x[..., half:]
        return np.concatenate([K.fma(a, c, -(b * s)), K.fma(a, s, b * c)], axis=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = K.fma(a, c, -(b * s))
    out[..., 1::2] = K.fma(a, s, b * c)
    return out


def rms_norm_ggml(x: np.ndarray, w: np.ndarray, eps: float, offset: float = 0.0) -> np.ndarray:
    """ggml_rms_norm then ggml_mul: mean of float32 squares summed in double, 1/sqrtf in float32."""
    x = np.asarray(x, dtype=np.float32)
    mean = np.mean((x * x).astype(np.float64), axis=-1, keepdims=True).astype(np.float32)
    scale = np.float32(1) / np.sqrt(mean + np.float32(eps))
    return (x * scale) * (w + np.float32(offset))


class LlamaCppNumerics(Float32Numerics):
    """Round where llama.cpp's CPU backend rounds, in its order; the rest is the float32 forward.

    `tensors`: canonical weight name -> raw GGUF tensor (for the kernels and their types);
    `prescale_q` (Gemma 3): the attention scale multiplies Q before KQ, as llama.cpp does for Gemma;
    `kv_type`: "f16" (llama.cpp's default) or "f32"; `exact`: use the kernel models where they exist
    (False: round in the same places, add in numpy's order; no better than float32 against llama.cpp).
    """

    name = "llamacpp"

    def __init__(
        self,
        tensors: Mapping[str, GGUFTensor],
        prescale_q: bool,
        kv_type: str = "f16",
        exact: bool = True,
    ) -> None:
        if kv_type not in ("f16", "f32"):
            raise ValueError(f"kv_type must be f16 or f32, got {kv_type!r}")
        self.tensors, self.prescale_q, self.kv_type, self.exact = dict(tensors), prescale_q, kv_type, exact
        self._kv = round_f16 if kv_type == "f16" else _identity

    def modelled(self) -> dict[str, bool]:
        """Per matmul weight: is its matmul the verified kernel model (True; the LM head's: for each
        position's top TOP_K logits) or only rounded in the right places (False)?"""
        return {
            k: self.exact and K.exact_kernel_type(t.qtype.name)
            for k, t in self.tensors.items()
            if k == "lm_head" or k.rsplit(".", 1)[-1] in _MATMULS
        }

    def matmul_kernel(self, weight_name: str) -> K.Kernel:
        t = self.tensors.get(weight_name)
        if t is None:
            raise KeyError(f"no GGUF tensor for weight {weight_name!r}")
        cast = activation_cast(t.qtype.name)
        exact = K.exact_kernel(t) if self.exact else None
        if exact is None:
            return lambda x, w: cast(x) @ w.T
        if weight_name == "lm_head" and t.shape[0] > TOP_K:
            return _top_k_refined(cast, exact)
        return exact

    def rms_norm(self, x: np.ndarray, w: np.ndarray, eps: float, offset: float = 0.0) -> np.ndarray:
        return rms_norm_ggml(x, w, eps, offset)

    def rope_tables(
        self, head_dim: int, max_pos: int, theta: float, scale: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        return rope_tables_f32(head_dim, max_pos, theta, scale)

    apply_rope = staticmethod(apply_rope_ggml)

    def kv(self, x: np.ndarray) -> np.ndarray:
        """A K or V row as the cache stores it."""
        return self._kv(x)

    def attention(
        self, q: np.ndarray, k: np.ndarray, v: np.ndarray, start: int, scale: float, window: int | None
    ) -> np.ndarray:
        """The non-flash path: KQ = K . fp16(Q), softmax, KQV = V . fp16(P) with an f16 cache (tinyBLAS
        lane order); with an f32 cache nothing is rounded and the products are plain float32 matmuls."""
        t, h, d = q.shape
        s_len, hkv, _ = k.shape
        if self.prescale_q:
            q = q * np.float32(scale)
        q = self._kv(q)  # vec_dot_type of an F16 cache is F16; of an F32 cache, F32
        f16 = self.kv_type == "f16" and self.exact and d % 8 == 0
        visible = visible_keys(start, t, s_len, window)
        out = np.empty((t, h, d), dtype=np.float32)
        pad = -s_len % 8
        for i in range(h):
            kh, vh = k[:, i * hkv // h], v[:, i * hkv // h]
            scores = K.dot_f16_lanes(q[:, None, i], kh[None]) if f16 else q[:, i] @ kh.T
            if not self.prescale_q:
                scores = scores * np.float32(scale)
            p = self._kv(K.softmax_rows(scores, visible) if self.exact else _softmax(scores, visible))
            if f16:
                p_pad = np.pad(p, ((0, 0), (0, pad)))
                v_pad = np.pad(vh, ((0, pad), (0, 0)))
                out[:, i] = K.dot_f16_lanes(p_pad[:, None, :], v_pad.T[None])
            else:
                out[:, i] = p @ vh
        return out.reshape(t, h * d)

    def glu(self, gate: np.ndarray, up: np.ndarray, activation: str) -> np.ndarray:
        if activation == "silu":
            return (gate / (np.float32(1) + np.exp(-gate)) * up).astype(np.float32, copy=False)
        return gelu_lookup(gate) * up


def _softmax(scores: np.ndarray, visible: np.ndarray) -> np.ndarray:
    s = np.where(visible, scores, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return p * (1.0 / p.sum(axis=-1, keepdims=True, dtype=np.float64)).astype(np.float32)


def _top_k_refined(cast: Callable[[np.ndarray], np.ndarray], exact: K.Kernel) -> K.Kernel:
    """LM head: float32 logits over the vocabulary, then the kernel model for each row's top TOP_K."""

    def kernel(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        y = cast(x) @ w.T
        top = np.argpartition(y, -TOP_K, axis=1)[:, -TOP_K:]
        for r in range(len(x)):
            y[r, top[r]] = exact(x[r : r + 1], w[top[r]], rows=top[r])[0]
        return y

    return kernel


def gguf_tensors(path: str) -> dict[str, GGUFTensor]:
    """Canonical weight name -> raw tensor of a GGUF file (the LM head is token_embd when tied)."""
    from zynpu.model.gguf_file import read_gguf
    from zynpu.model.gguf_load import canonical_name

    tensors = {}
    for t in read_gguf(path).tensors:
        name = canonical_name(t.name)
        if name is not None:
            tensors[name] = t
    if "lm_head" not in tensors and "embed" in tensors:
        tensors["lm_head"] = tensors["embed"]
    return tensors


def for_gguf(path: str, family: str, kv_type: str = "f16", exact: bool = True) -> LlamaCppNumerics:
    """llama.cpp's numerics for the model in a GGUF file (as its CPU backend runs a prefill)."""
    return LlamaCppNumerics(gguf_tensors(path), prescale_q=family == "gemma3", kv_type=kv_type, exact=exact)
