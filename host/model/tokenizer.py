"""Tokenizers from GGUF metadata (gpt2-style byte-level BPE, or SentencePiece-style vocab with scores) or
from tokenizer.json, all as `tokenizers` objects behind one small wrapper.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from zynpu.model.errors import ModelLoadError, UnsupportedModelError

# Pre-tokenizer split patterns named by GGUF's tokenizer.ggml.pre (facts about each model family).
_GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LLAMA3_RE = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_RE = _LLAMA3_RE.replace(r"\p{N}{1,3}", r"\p{N}")
PRE_PATTERNS = {
    "gpt2": _GPT2_RE,
    "default": _GPT2_RE,
    "llama-bpe": _LLAMA3_RE,
    "llama3": _LLAMA3_RE,
    "qwen2": _QWEN2_RE,
    "smaug-bpe": _LLAMA3_RE,
}

# GGUF token types (llama.cpp's enum): 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


@dataclass
class TextTokenizer:
    tok: Tokenizer
    bos_id: int | None
    eos_ids: tuple[int, ...]
    add_bos: bool

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        ids = self.tok.encode(text, add_special_tokens=False).ids
        bos = self.add_bos if add_bos is None else add_bos
        return [self.bos_id, *ids] if bos and self.bos_id is not None else ids

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)


def byte_level_bpe(tokens: list[str], merges: list[str], pre: str) -> Tokenizer:
    """gpt2-style: byte-level vocab + ranked merges, split by the family's regex first."""
    if pre not in PRE_PATTERNS:
        raise UnsupportedModelError(
            f"unsupported gpt2 pre-tokenizer {pre!r} (supported: {sorted(PRE_PATTERNS)})"
        )
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab, pairs, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRE_PATTERNS[pre]), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def spm_bpe(tokens: list[str], scores: list[float], types: list[int], add_space_prefix: bool) -> Tokenizer:
    """SentencePiece-BPE (Gemma, Llama 2): merge the adjacent pair whose union has the highest score.

    Expressed as a `tokenizers` BPE whose merge ranks are the merged pieces' scores, with byte fallback,
    spaces as U+2581, and user-defined pieces matched verbatim before the merges (as SentencePiece does).
    """
    vocab = {t: i for i, t in enumerate(tokens)}
    normal = [i for i, ty in enumerate(types) if ty == NORMAL]
    merges: list[tuple[float, int, str, str]] = []
    for i in normal:
        piece = tokens[i]
        for cut in range(1, len(piece)):
            a, b = piece[:cut], piece[cut:]
            ia, ib = vocab.get(a), vocab.get(b)
            if (
                ia is not None
                and ib is not None
                and types[ia] in (NORMAL, USER_DEFINED)
                and types[ib] in (NORMAL, USER_DEFINED)
            ):
                merges.append((-scores[i], i, a, b))
    merges.sort()
    unk = next((t for t, ty in zip(tokens, types, strict=False) if ty == UNKNOWN), None)
    tok = Tokenizer(
        models.BPE(vocab, [(a, b) for _, _, a, b in merges], unk_token=unk, fuse_unk=True, byte_fallback=True)
    )
    norm = [normalizers.Replace(" ", "\u2581")]
    if add_space_prefix:
        norm.insert(0, normalizers.Prepend("\u2581"))
    tok.normalizer = normalizers.Sequence(norm)
    steps = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_space_prefix:
        steps.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(steps)
    tok.add_tokens(_added(tokens, types, USER_DEFINED, special=False))
    tok.add_special_tokens(_added(tokens, types, CONTROL, special=True))
    return tok


def _added(tokens: list[str], types: list[int], kind: int, special: bool) -> list[AddedToken]:
    """Pieces matched verbatim in the raw text before the model runs (control or user-defined)."""
    pairs = zip(tokens, types, strict=False)
    return [AddedToken(t, normalized=False, special=special) for t, ty in pairs if ty == kind]


def from_gguf_fields(f: dict[str, Any], cache: Path | None = None) -> TextTokenizer:
    """Build the tokenizer stored in a GGUF file's tokenizer.ggml.* metadata.

    Deriving SentencePiece merges for a 262k vocabulary takes tens of seconds, so the result can be
    kept as tokenizer JSON at `cache` (the caller keys it by the model file's identity).
    """

    def get(key: str, default: Any = None) -> Any:
        return f.get(key, default)

    kind = get("tokenizer.ggml.model")
    tokens = get("tokenizer.ggml.tokens")
    if tokens is None:
        raise ModelLoadError("GGUF has no tokenizer.ggml.tokens")
    if kind == "gpt2":
        merges = get("tokenizer.ggml.merges")
        if merges is None:
            raise ModelLoadError("GGUF gpt2 tokenizer without tokenizer.ggml.merges")
        tok = byte_level_bpe(tokens, merges, get("tokenizer.ggml.pre", "default"))
        types = get("tokenizer.ggml.token_type") or [NORMAL] * len(tokens)
        tok.add_special_tokens(_added(tokens, types, CONTROL, special=True))
        add_bos_default = False
    elif kind == "llama":
        scores = get("tokenizer.ggml.scores")
        types = get("tokenizer.ggml.token_type")
        if scores is None or types is None:
            raise ModelLoadError("GGUF SentencePiece tokenizer needs tokenizer.ggml.scores and token_type")
        if cache is not None and cache.exists():
            tok = Tokenizer.from_file(str(cache))
        else:
            tok = spm_bpe(tokens, scores, types, bool(get("tokenizer.ggml.add_space_prefix", True)))
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_suffix(".tmp")
                tok.save(str(tmp))
                tmp.replace(cache)
        add_bos_default = True
    else:
        raise UnsupportedModelError(f"unsupported GGUF tokenizer model {kind!r} (supported: gpt2, llama)")
    eos = [get(k) for k in ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id") if k in f]
    return TextTokenizer(
        tok,
        get("tokenizer.ggml.bos_token_id"),
        tuple(dict.fromkeys(eos)),
        bool(get("tokenizer.ggml.add_bos_token", add_bos_default)),
    )


def from_json(
    path: str | os.PathLike, bos_id: int | None, eos_ids: tuple[int, ...], add_bos: bool
) -> TextTokenizer:
    p = Path(path)
    try:
        tok = Tokenizer.from_file(str(p))
    except Exception as e:
        raise ModelLoadError(f"{p}: cannot read tokenizer ({e})") from None
    return TextTokenizer(tok, bos_id, eos_ids, add_bos)
