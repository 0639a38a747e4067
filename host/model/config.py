"""One config dataclass for every supported family, built from HF config.json or GGUF metadata.

The forward pass reads only these fields, never the family name, so each family is a set of switches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from zynpu.model.errors import ModelLoadError, UnsupportedModelError

FAMILIES = ("qwen2", "qwen3", "llama", "gemma3")


@dataclass(frozen=True)
class ModelConfig:
    family: str
    vocab_size: int
    hidden_size: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    intermediate_size: int
    rms_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_local_theta: float | None = None  # Gemma 3: sliding-window layers use their own base
    rope_scale: float = 1.0  # linear position scaling of the global rope (Gemma 3 4B+ style)
    rope_style: str = "neox"  # "neox": rotate halves (HF); "gptj": rotate adjacent pairs (GGUF Llama)
    max_position: int = 4096
    tie_embeddings: bool = False
    qkv_bias: bool = False  # Qwen2
    qk_norm: bool = False  # Qwen3, Gemma 3: RMSNorm over head_dim on q and k before RoPE
    norm_offset: float = 0.0  # Gemma: RMSNorm scales by (1 + w)
    embed_scale: bool = False  # Gemma: embeddings multiplied by sqrt(hidden_size)
    sandwich_norm: bool = False  # Gemma 3: extra norms on the attention and MLP outputs
    activation: str = "silu"  # "silu" (SwiGLU) or "gelu_tanh" (GeGLU)
    sliding_window: int | None = None
    sliding_pattern: int = 1  # every n-th layer is global (Gemma 3: 6); others use the sliding window
    query_scale: float | None = None  # Gemma: scores scaled by query_pre_attn_scalar**-0.5
    bos_token_id: int | None = None
    eos_token_ids: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise UnsupportedModelError(f"unsupported model family {self.family!r} (supported: {FAMILIES})")
        if self.n_heads % self.n_kv_heads:
            raise UnsupportedModelError(
                f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}"
            )
        if self.rope_style not in ("neox", "gptj") or self.activation not in ("silu", "gelu_tanh"):
            raise UnsupportedModelError(
                f"unsupported rope_style/activation {self.rope_style}/{self.activation}"
            )

    def is_global(self, layer: int) -> bool:
        """Full-attention layer? Gemma 3 makes every `sliding_pattern`-th layer global, the rest local."""
        return self.sliding_window is None or (layer + 1) % self.sliding_pattern == 0

    def attn_scale(self) -> float:
        return (self.query_scale if self.query_scale else self.head_dim) ** -0.5

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)


def family_switches(family: str) -> dict[str, Any]:
    """The features that distinguish each family (those not written in its config files)."""
    if family == "qwen2":
        return {"qkv_bias": True}
    if family == "qwen3":
        return {"qk_norm": True}
    if family == "llama":
        return {}
    if family == "gemma3":
        return {
            "qk_norm": True,
            "norm_offset": 1.0,
            "embed_scale": True,
            "sandwich_norm": True,
            "activation": "gelu_tanh",
            "sliding_pattern": 6,
            "rope_local_theta": 10000.0,
        }
    raise UnsupportedModelError(f"unsupported model family {family!r} (supported: {FAMILIES})")


_HF_TYPES = {
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "llama": "llama",
    "gemma3_text": "gemma3",
    "gemma3": "gemma3",
}


def _rope_scale(rope_scaling: dict | None, where: str) -> float:
    if not rope_scaling:
        return 1.0
    kind = rope_scaling.get("rope_type", rope_scaling.get("type"))
    if kind == "linear":
        return float(rope_scaling["factor"])
    if kind == "default":
        return 1.0
    raise UnsupportedModelError(f"{where}: rope_scaling type {kind!r} is not supported (only linear)")


def from_hf(cfg: dict[str, Any]) -> ModelConfig:
    """Build from a HF config.json dict (Qwen2/Qwen3/Llama ForCausalLM, Gemma 3 text)."""
    if cfg.get("model_type") == "gemma3" and "text_config" in cfg:
        cfg = {**cfg["text_config"], "model_type": "gemma3_text"}
    model_type = cfg.get("model_type")
    family = _HF_TYPES.get(model_type)  # type: ignore[arg-type]
    if family is None:
        raise UnsupportedModelError(
            f"config.json: unsupported model_type {model_type!r} (supported: {sorted(_HF_TYPES)})"
        )
    sw = family_switches(family)
    for key in ("attn_logit_softcapping", "final_logit_softcapping"):
        if cfg.get(key) is not None:
            raise UnsupportedModelError(f"config.json: {key} is not supported")
    n_heads = cfg["num_attention_heads"]
    eos = cfg.get("eos_token_id")
    kw: dict[str, Any] = dict(
        family=family,
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        n_layers=cfg["num_hidden_layers"],
        n_heads=n_heads,
        n_kv_heads=cfg.get("num_key_value_heads", n_heads),
        head_dim=cfg.get("head_dim") or cfg["hidden_size"] // n_heads,
        intermediate_size=cfg["intermediate_size"],
        rms_eps=cfg.get("rms_norm_eps", 1e-6),
        rope_theta=cfg.get("rope_theta", 10000.0),
        rope_scale=_rope_scale(cfg.get("rope_scaling"), "config.json"),
        max_position=cfg.get("max_position_embeddings", 4096),
        tie_embeddings=cfg.get("tie_word_embeddings", family == "gemma3"),
        bos_token_id=cfg.get("bos_token_id"),
        eos_token_ids=tuple(eos if isinstance(eos, list) else [] if eos is None else [eos]),
        **sw,
    )
    if family == "qwen2" and cfg.get("attention_bias") is False:
        kw["qkv_bias"] = False
    if family == "llama" and cfg.get("attention_bias"):
        raise UnsupportedModelError("config.json: Llama attention_bias is not supported")
    if family == "gemma3":
        kw["sliding_window"] = cfg.get("sliding_window")
        kw["rope_local_theta"] = cfg.get("rope_local_base_freq", 10000.0)
        kw["query_scale"] = cfg.get("query_pre_attn_scalar")
        if cfg.get("layer_types"):
            flags = [kind == "full_attention" for kind in cfg["layer_types"]]
            kw["sliding_pattern"] = _pattern_from_flags(flags, "config.json layer_types")
        else:
            kw["sliding_pattern"] = cfg.get("sliding_window_pattern", 6)
    elif cfg.get("use_sliding_window") and cfg.get("sliding_window"):
        raise UnsupportedModelError("config.json: use_sliding_window is only supported for Gemma 3")
    return ModelConfig(**kw)


def _pattern_from_flags(is_global: list[bool], where: str) -> int:
    """Per-layer global flags -> n such that every n-th layer is global; irregular patterns are refused."""
    n = is_global.index(True) + 1 if True in is_global else len(is_global) + 1
    if is_global != [(i + 1) % n == 0 for i in range(len(is_global))]:
        raise UnsupportedModelError(f"{where}: irregular sliding/global layer pattern")
    return n


_GGUF_ARCHS = {"qwen2": "qwen2", "qwen3": "qwen3", "llama": "llama", "gemma3": "gemma3"}


def from_gguf(meta: dict[str, Any], vocab_size: int, tied: bool) -> ModelConfig:
    """Build from GGUF key/values (already decoded to Python values)."""
    arch = meta.get("general.architecture")
    family = _GGUF_ARCHS.get(arch)  # type: ignore[arg-type]
    if family is None:
        raise UnsupportedModelError(
            f"GGUF: unsupported architecture {arch!r} (supported: {sorted(_GGUF_ARCHS)})"
        )

    def get(key: str, default: Any = None) -> Any:
        value = meta.get(f"{arch}.{key}", default)
        if value is None:
            raise ModelLoadError(f"GGUF: missing metadata key {arch}.{key}")
        return value

    sw = family_switches(family)
    hidden, n_heads = get("embedding_length"), get("attention.head_count")
    n_kv = get("attention.head_count_kv", n_heads)
    eos = meta.get("tokenizer.ggml.eos_token_id")
    extra_eos = [meta[k] for k in ("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id") if k in meta]
    kw: dict[str, Any] = dict(
        family=family,
        vocab_size=vocab_size,
        hidden_size=hidden,
        n_layers=get("block_count"),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=get("attention.key_length", hidden // n_heads),
        intermediate_size=get("feed_forward_length"),
        rms_eps=get("attention.layer_norm_rms_epsilon", 1e-6),
        rope_theta=get("rope.freq_base", 10000.0),
        max_position=get("context_length", 4096),
        tie_embeddings=tied,
        bos_token_id=meta.get("tokenizer.ggml.bos_token_id"),
        eos_token_ids=tuple(dict.fromkeys([e for e in [eos, *extra_eos] if e is not None])),
        **sw,
    )
    if get("attention.value_length", kw["head_dim"]) != kw["head_dim"]:
        raise UnsupportedModelError("GGUF: value_length != key_length is not supported")
    scaling = meta.get(f"{arch}.rope.scaling.type")
    if scaling not in (None, "none"):
        if scaling != "linear":
            raise UnsupportedModelError(f"GGUF: rope scaling {scaling!r} is not supported (only linear)")
        kw["rope_scale"] = float(get("rope.scaling.factor"))
    if family == "llama":
        kw["rope_style"] = "gptj"  # GGUF stores Llama Q/K rows permuted for interleaved-pair rotation
    if family == "gemma3":
        kw["sliding_window"] = get("attention.sliding_window")
        pattern = meta.get(f"{arch}.attention.sliding_window_pattern", 6)
        if isinstance(pattern, list):  # per-layer flags, True = sliding window
            pattern = _pattern_from_flags([not swa for swa in pattern], "GGUF sliding_window_pattern")
        kw["sliding_pattern"] = int(pattern)
        kw["query_scale"] = kw["head_dim"]  # llama.cpp's convention: query_pre_attn_scalar == head_dim
    return ModelConfig(**kw)


__all__ = ["FAMILIES", "ModelConfig", "UnsupportedModelError", "family_switches", "from_gguf", "from_hf"]
