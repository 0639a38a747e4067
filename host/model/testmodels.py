"""Small deterministic models of each family, written as GGUF (with quantized tensor types) and as
safetensors + config.json + tokenizer.json, holding exactly the same weights.

The GGUF tensors are quantized first; the safetensors copy holds their dequantized values, so both
formats describe one model and must give the same logits.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from zynpu.model.kquants import quantize_k
from zynpu.model.tokenizer import BYTE, CONTROL, NORMAL, PRE_PATTERNS, USER_DEFINED, byte_level_bpe, spm_bpe
from zynpu.model.weights import permute_for_gptj

FAMILIES = ("qwen2", "qwen3", "llama", "gemma3")
Q = gguf.GGMLQuantizationType

# Small but shaped so every quantized type applies: K = 256 / 512 for the K-quants' 256-value blocks.
BASE = {
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 128,
    "rms_norm_eps": 1e-6,
}
SPECS: dict[str, dict[str, Any]] = {
    "qwen2": {"model_type": "qwen2", "num_hidden_layers": 2, "rope_theta": 1e6, "tie_word_embeddings": True},
    "qwen3": {
        "model_type": "qwen3",
        "num_hidden_layers": 2,
        "rope_theta": 1e6,
        "tie_word_embeddings": False,
        "head_dim": 32,
        "attention_bias": False,
    },
    "llama": {"model_type": "llama", "num_hidden_layers": 2, "rope_theta": 5e5, "tie_word_embeddings": False},
    "gemma3": {
        "model_type": "gemma3_text",
        "num_hidden_layers": 3,
        "rope_theta": 1e6,
        "head_dim": 32,
        "tie_word_embeddings": True,
        "sliding_window": 4,
        "rope_local_base_freq": 1e4,
        "query_pre_attn_scalar": 32,
        "hidden_activation": "gelu_pytorch_tanh",
        "layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
    },
}
# GGUF storage type of each linear (rows must suit the block size); norms and biases stay F32.
QTYPES = {
    "embed": Q.Q8_0,
    "lm_head": Q.Q6_K,
    "wq": Q.Q4_K,
    "wk": Q.Q5_K,
    "wv": Q.Q8_0,
    "wo": Q.Q4_0,
    "w_gate": Q.Q5_0,
    "w_up": Q.Q4_K,
    "w_down": Q.Q6_K,
}
GGUF_NAMES = {
    "attn_norm": "attn_norm",
    "wq": "attn_q",
    "wk": "attn_k",
    "wv": "attn_v",
    "wo": "attn_output",
    "q_norm": "attn_q_norm",
    "k_norm": "attn_k_norm",
    "post_attn_norm": "post_attention_norm",
    "ffn_norm": "ffn_norm",
    "w_gate": "ffn_gate",
    "w_up": "ffn_up",
    "w_down": "ffn_down",
    "post_ffn_norm": "post_ffw_norm",
}
HF_NAMES = {
    "attn_norm": "input_layernorm",
    "wq": "self_attn.q_proj",
    "wk": "self_attn.k_proj",
    "wv": "self_attn.v_proj",
    "wo": "self_attn.o_proj",
    "q_norm": "self_attn.q_norm",
    "k_norm": "self_attn.k_norm",
    "w_gate": "mlp.gate_proj",
    "w_up": "mlp.up_proj",
    "w_down": "mlp.down_proj",
}


def sample_text() -> str:
    """The committed public-domain English text used to train tiny tokenizers and measure perplexity."""
    return files("zynpu.model").joinpath("data/sample.txt").read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def _tokenizer(kind: str) -> tuple[list[str], list[float], list[int], list[str]]:
    """(tokens, scores, types, merges): byte-level BPE ("gpt2") or SentencePiece-style ("spm")."""
    lines = sample_text().splitlines()
    if kind == "gpt2":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = byte_level_bpe([], [], "qwen2").pre_tokenizer
        specials = ["<|endoftext|>", "<|begin_of_text|>"]
        tok.train_from_iterator(
            lines,
            trainers.BpeTrainer(
                vocab_size=384, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
            ),
        )
        model = json.loads(tok.to_str())["model"]
        tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        types = [CONTROL if t in specials else NORMAL for t in tokens]
        return tokens, [0.0] * len(tokens), types, merges
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never")
    tok.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=320))
    learned = [t for t, _ in sorted(json.loads(tok.to_str())["model"]["vocab"].items(), key=lambda kv: kv[1])]
    head = ["<pad>", "<eos>", "<bos>", "<unk>"]
    user = ["\n", "\n\n"]
    tokens = head + user + [f"<0x{b:02X}>" for b in range(256)]
    types = [CONTROL, CONTROL, CONTROL, 2] + [USER_DEFINED] * len(user) + [BYTE] * 256
    learned = [t for t in learned if t not in tokens]
    scores = [0.0] * len(tokens) + [-float(i) for i in range(len(learned))]  # earlier merges score higher
    return tokens + learned, scores, types + [NORMAL] * len(learned), []


def _round_to(a: np.ndarray, step: float) -> np.ndarray:
    return (np.rint(a / step) * step).astype(np.float32)


def _weights(family: str, cfg: dict[str, Any], vocab: int, seed: int) -> dict[str, np.ndarray]:
    """Random float32 weights in HF layout; norms on a 1/64 grid so Gemma's stored (1 + w) is exact."""
    rng = np.random.default_rng(seed)
    d, f, hd = cfg["hidden_size"], cfg["intermediate_size"], cfg.get("head_dim", 64)
    nq, nkv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd

    def lin(n: int, k: int) -> np.ndarray:
        return (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)

    def norm(n: int) -> np.ndarray:
        base = 0.0 if family == "gemma3" else 1.0
        return _round_to(base + 0.2 * rng.standard_normal(n), 1 / 64)

    w = {
        "embed": (rng.standard_normal((vocab, d)) * (0.05 if family == "gemma3" else 1.0)).astype(np.float32),
        "final_norm": norm(d),
    }
    if not cfg["tie_word_embeddings"]:
        w["lm_head"] = lin(vocab, d)
    for i in range(cfg["num_hidden_layers"]):
        p = f"layers.{i}."
        w |= {
            p + "attn_norm": norm(d),
            p + "wq": lin(nq, d),
            p + "wk": lin(nkv, d),
            p + "wv": lin(nkv, d),
            p + "wo": lin(d, nq),
            p + "ffn_norm": norm(d),
            p + "w_gate": lin(f, d),
            p + "w_up": lin(f, d),
            p + "w_down": lin(d, f),
        }
        if family == "qwen2":
            w |= {
                p + "bq": 0.3 * lin(1, nq)[0] * np.sqrt(d),
                p + "bk": 0.3 * lin(1, nkv)[0] * np.sqrt(d),
                p + "bv": 0.3 * lin(1, nkv)[0] * np.sqrt(d),
            }
        if family in ("qwen3", "gemma3"):
            w |= {p + "q_norm": norm(hd), p + "k_norm": norm(hd)}
        if family == "gemma3":
            w |= {p + "post_attn_norm": norm(d), p + "post_ffn_norm": norm(d)}
    return {k: v.astype(np.float32) for k, v in w.items()}


def _gguf_store(
    name: str, a: np.ndarray, n_heads: int, n_kv: int, llama: bool
) -> tuple[np.ndarray, Q, np.ndarray]:
    """One tensor -> (stored array, GGUF type, its dequantized values back in HF layout)."""
    base = name.split(".")[-1]
    qtype = QTYPES.get(base, Q.F32)
    if llama and base in ("wq", "wk"):  # GGUF Llama: rows reordered for interleaved-pair RoPE
        a = permute_for_gptj(a, n_heads if base == "wq" else n_kv)
    if base == "w_gate" and name.startswith("layers.1."):
        qtype = Q.F16  # one F16 tensor, to cover the type
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        stored = quantize_k(a, qtype.name)
    elif qtype == Q.F32:
        stored = a
    else:
        stored = gguf.quants.quantize(a, qtype)
    back = gguf.quants.dequantize(stored, qtype).reshape(a.shape).astype(np.float32)
    if llama and base in ("wq", "wk"):
        from zynpu.model.weights import permute_for_neox

        back = permute_for_neox(back, n_heads if base == "wq" else n_kv)
    return stored, qtype, back


def hf_config(family: str, vocab: int, bos: int | None, eos: int) -> dict[str, Any]:
    return {**BASE, **SPECS[family], "vocab_size": vocab, "bos_token_id": bos, "eos_token_id": eos}


def make(family: str, fmt: str, path: str | os.PathLike, seed: int = 0) -> Path:
    """Write the tiny `family` model in `fmt` ("gguf" or "hf") under folder `path`; return the model path
    (the .gguf file, or the folder for "hf"). Deterministic in `seed`; an existing complete copy is reused."""
    if family not in FAMILIES or fmt not in ("gguf", "hf"):
        raise ValueError(f"family must be one of {FAMILIES} and fmt gguf|hf, got {family!r}, {fmt!r}")
    out = Path(path)
    target = out / "model.gguf" if fmt == "gguf" else out
    stamp = out / f".complete-{fmt}-{seed}"
    if stamp.exists():
        return target
    out.mkdir(parents=True, exist_ok=True)
    spm = family == "gemma3"
    tokens, scores, types, merges = _tokenizer("spm" if spm else "gpt2")
    bos = 2 if spm else (tokens.index("<|begin_of_text|>") if family == "llama" else None)
    eos = 1 if spm else tokens.index("<|endoftext|>")
    cfg = hf_config(family, len(tokens), bos, eos)
    w = _weights(family, cfg, len(tokens), seed)
    n_heads, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    stored = {k: _gguf_store(k, v, n_heads, n_kv, family == "llama") for k, v in w.items()}
    if fmt == "gguf":
        _write_gguf(target, family, cfg, stored, tokens, scores, types, merges, bos, eos)
    else:
        _write_hf(out, family, cfg, {k: s[2] for k, s in stored.items()}, tokens, scores, types, merges)
    stamp.touch()
    return target


def _write_gguf(
    target: Path,
    family: str,
    cfg: dict[str, Any],
    stored: dict[str, tuple[np.ndarray, Q, np.ndarray]],
    tokens: list[str],
    scores: list[float],
    types: list[int],
    merges: list[str],
    bos: int | None,
    eos: int,
) -> None:
    wr = gguf.GGUFWriter(str(target), family)
    hd = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    wr.add_name(f"zynpu tiny {family}")
    wr.add_context_length(cfg["max_position_embeddings"])
    wr.add_embedding_length(cfg["hidden_size"])
    wr.add_block_count(cfg["num_hidden_layers"])
    wr.add_feed_forward_length(cfg["intermediate_size"])
    wr.add_head_count(cfg["num_attention_heads"])
    wr.add_head_count_kv(cfg["num_key_value_heads"])
    wr.add_key_length(hd)
    wr.add_value_length(hd)
    wr.add_rope_freq_base(cfg["rope_theta"])
    wr.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    if family == "gemma3":
        wr.add_sliding_window(cfg["sliding_window"])
        wr.add_sliding_window_pattern([t == "sliding_attention" for t in cfg["layer_types"]])
        wr.add_tokenizer_model("llama")
        wr.add_token_scores(scores)
        wr.add_add_space_prefix(False)
    else:
        wr.add_tokenizer_model("gpt2")
        wr.add_tokenizer_pre("llama-bpe" if family == "llama" else "qwen2")
        wr.add_token_merges(merges)
    wr.add_token_list(tokens)
    wr.add_token_types(types)
    if bos is not None:
        wr.add_bos_token_id(bos)
    wr.add_eos_token_id(eos)
    wr.add_add_bos_token(family in ("llama", "gemma3"))
    for name, (arr, qtype, _) in stored.items():
        if family == "gemma3" and name.endswith("norm"):
            arr = arr + np.float32(1.0)  # GGUF Gemma stores the effective (1 + w)
        wr.add_tensor(_gguf_name(name), arr, raw_dtype=None if qtype == Q.F32 else qtype)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()


def _gguf_name(name: str) -> str:
    top = {"embed": "token_embd.weight", "final_norm": "output_norm.weight", "lm_head": "output.weight"}
    if name in top:
        return top[name]
    _, i, base = name.split(".")
    if base in ("bq", "bk", "bv"):
        return f"blk.{i}.{GGUF_NAMES['w' + base[1]]}.bias"
    return f"blk.{i}.{GGUF_NAMES[base]}.weight"


def _hf_name(name: str, family: str) -> str:
    top = {
        "embed": "model.embed_tokens.weight",
        "final_norm": "model.norm.weight",
        "lm_head": "lm_head.weight",
    }
    if name in top:
        return top[name]
    _, i, base = name.split(".")
    if base in ("bq", "bk", "bv"):
        return f"model.layers.{i}.{HF_NAMES['w' + base[1]]}.bias"
    gemma = family == "gemma3"
    special = {
        "ffn_norm": "pre_feedforward_layernorm" if gemma else "post_attention_layernorm",
        "post_attn_norm": "post_attention_layernorm",
        "post_ffn_norm": "post_feedforward_layernorm",
    }
    return f"model.layers.{i}.{special.get(base) or HF_NAMES[base]}.weight"


def _write_hf(
    out: Path,
    family: str,
    cfg: dict[str, Any],
    weights: dict[str, np.ndarray],
    tokens: list[str],
    scores: list[float],
    types: list[int],
    merges: list[str],
) -> None:
    from safetensors.numpy import save_file

    save_file(
        {_hf_name(k, family): np.ascontiguousarray(v) for k, v in weights.items()},
        str(out / "model.safetensors"),
        metadata={"format": "pt"},
    )
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    if family == "gemma3":
        tok = spm_bpe(tokens, scores, types, add_space_prefix=False)
    else:
        tok = byte_level_bpe(tokens, merges, "llama-bpe" if family == "llama" else "qwen2")
        tok.add_special_tokens([t for t, ty in zip(tokens, types, strict=False) if ty == CONTROL])
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": family in ("llama", "gemma3")}))


__all__ = ["FAMILIES", "PRE_PATTERNS", "make", "sample_text"]
