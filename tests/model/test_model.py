"""Forward-pass behaviour: KV cache consistency, the families' features, W8A8 vs float32, engine jobs."""

import numpy as np
import pytest

from zynpu.model.engine import NumpyEngine
from zynpu.model.errors import ContextOverflowError
from zynpu.model.layers import apply_rope, rope_tables
from zynpu.model.load import load
from zynpu.model.transformer import Transformer
from zynpu.model.weights import permute_for_gptj, permute_for_neox

IDS = np.array([5, 40, 17, 99, 3, 250, 61, 8, 120, 33, 7, 42])


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama", "gemma3"])
@pytest.mark.parametrize("engine", [None, NumpyEngine()], ids=["float", "w8a8"])
def test_prefill_equals_token_by_token_decode(family: str, engine, loaded) -> None:
    cfg, w, _ = loaded(family)
    model = Transformer(cfg, w, engine, progress=False)
    full = model.forward(IDS, model.new_cache(), all_logits=True)
    cache = model.new_cache(len(IDS))
    steps = np.stack([model.forward(IDS[i : i + 1], cache) for i in range(len(IDS))])
    # same maths; GEMM vs GEMV only changes float32 summation order (W8A8: per-token scales are
    # identical, int32 sums exact), so agreement is to rounding level
    np.testing.assert_allclose(steps, full, rtol=0, atol=1e-4 * np.abs(full).max())


def test_kv_cache_overflow_is_an_error(loaded) -> None:
    cfg, w, _ = loaded("qwen3")
    model = Transformer(cfg, w, None, progress=False)
    cache = model.new_cache(8)
    model.forward(IDS[:6], cache)
    with pytest.raises(ContextOverflowError, match="6 cached \\+ 3 new tokens > max context 8"):
        model.forward(IDS[:3], cache)
    assert cache.length == 6  # the failed call wrote nothing
    model.forward(IDS[:2], cache)
    with pytest.raises(ContextOverflowError):
        model.forward(IDS[:1], cache)


def _logits(cfg, w, ids=IDS):  # type: ignore[no-untyped-def]
    m = Transformer(cfg, w, None, progress=False)
    return m.forward(ids, m.new_cache(), all_logits=True)


@pytest.mark.parametrize(
    ("family", "change"),
    [
        ("qwen3", {"qk_norm": False}),
        ("gemma3", {"qk_norm": False}),
        ("gemma3", {"sliding_window": None}),
        ("gemma3", {"rope_local_theta": None}),
        ("gemma3", {"norm_offset": 0.0}),
        ("gemma3", {"embed_scale": False}),
        ("gemma3", {"sandwich_norm": False}),
        ("gemma3", {"activation": "silu"}),
        ("gemma3", {"query_scale": None}),
        ("qwen2", {"qkv_bias": False}),
        ("llama", {"rope_style": "neox"}),
    ],
)
def test_family_features_matter(family: str, change: dict, loaded) -> None:
    cfg, w, _ = loaded(family)
    base = _logits(cfg, w)
    if not change.get("qk_norm", True):
        w = {k: v for k, v in w.items() if not k.endswith(("q_norm", "k_norm"))}
    if change.get("sandwich_norm") is False:
        w = {k: v for k, v in w.items() if "post_" not in k}
    if change.get("qkv_bias") is False:
        w = {k: v for k, v in w.items() if not k.endswith((".bq", ".bk", ".bv"))}
    if change.get("query_scale", 1) is None:  # tiny Gemma's scalar equals head_dim: try a different one
        change = {"query_scale": cfg.head_dim * 4}
    other = _logits(cfg.replace(**change), w)
    assert np.abs(other - base).max() > 1e-2 * np.abs(base).max()


def test_sliding_window_only_affects_positions_beyond_it(loaded) -> None:
    cfg, w, _ = loaded("gemma3")
    assert cfg.sliding_window == 4 and [cfg.is_global(i) for i in range(3)] == [False, False, True]
    a = _logits(cfg, w)
    b = _logits(cfg.replace(sliding_window=100), w)  # still local layers (local RoPE), window covers all
    np.testing.assert_allclose(a[:4], b[:4], rtol=1e-5, atol=1e-5)  # positions 0-3 see their whole past
    assert np.abs(a[4:] - b[4:]).max() > 1e-2


def test_rope_layouts_are_the_same_rotation() -> None:
    rng = np.random.default_rng(0)
    heads, d = 3, 16
    w = rng.standard_normal((heads * d, 8)).astype(np.float32)
    assert np.array_equal(permute_for_neox(permute_for_gptj(w, heads), heads), w)
    cos, sin = rope_tables(d, 32, 10000.0)
    x = rng.standard_normal((8,)).astype(np.float32)
    q_neox = (w @ x).reshape(1, heads, d)
    q_gptj = (permute_for_gptj(w, heads) @ x).reshape(1, heads, d)
    r_neox = apply_rope(q_neox, cos[5:6], sin[5:6], "neox")
    r_gptj = apply_rope(q_gptj, cos[5:6], sin[5:6], "gptj")
    np.testing.assert_allclose(
        permute_for_neox(r_gptj.reshape(-1, 1), heads).reshape(r_neox.shape), r_neox, rtol=1e-6, atol=1e-6
    )
    # a rotation: norms kept, and q.k depends only on the position difference
    np.testing.assert_allclose(np.linalg.norm(r_neox), np.linalg.norm(q_neox), rtol=1e-6)
    k = rng.standard_normal((1, heads, d)).astype(np.float32)

    def dot(p: int, s: int) -> float:
        return float(
            (
                apply_rope(q_neox, cos[p : p + 1], sin[p : p + 1], "neox")
                * apply_rope(k, cos[s : s + 1], sin[s : s + 1], "neox")
            ).sum()
        )

    assert dot(7, 3) == pytest.approx(dot(20, 16), rel=1e-5)


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama", "gemma3"])
def test_w8a8_tracks_float32(family: str, loaded) -> None:
    cfg, w, _ = loaded(family)
    ref = _logits(cfg, w)
    m = Transformer(cfg, w, NumpyEngine(), progress=False)
    q = m.forward(IDS, m.new_cache(), all_logits=True)
    # int8 weights and activations: a few percent of the logit range on random tiny models
    assert np.abs(q - ref).max() < 0.08 * np.abs(ref).max()
    assert (q.argmax(-1) == ref.argmax(-1)).mean() >= 0.8


def test_four_engine_jobs_per_layer_per_token(loaded) -> None:
    cfg, w, _ = loaded("gemma3")
    m = Transformer(cfg, w, NumpyEngine(), progress=False)
    assert m.engine is not None
    packed = m.engine.packed_bytes
    d, f, hd = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    per_layer = (cfg.n_heads + 2 * cfg.n_kv_heads) * hd * d + d * cfg.n_heads * hd + 2 * f * d + d * f
    assert packed == cfg.n_layers * per_layer + cfg.vocab_size * d  # every weight packed once (tied head)
    cache = m.new_cache()
    m.forward(IDS[:5], cache)
    s = m.engine_stats(reset=True)
    assert s.jobs == m.jobs_per_token == 4 * cfg.n_layers + 1  # prefill is one GEMM job per linear
    m.forward(IDS[5:6], cache)
    s = m.engine_stats(reset=True)
    assert s.jobs == 4 * cfg.n_layers + 1
    assert s.weight_bytes == packed  # decode streams every weight once per token
    assert s.act_in_bytes == cfg.n_layers * (d + cfg.n_heads * hd + d + f) + d


def test_load_overrides_and_untied_head(tiny_paths) -> None:
    model, _ = load(tiny_paths("llama")[0], progress=False, max_position=16)
    assert model.new_cache().max_ctx == 16
    assert not model.cfg.tie_embeddings
