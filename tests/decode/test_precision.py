"""int4 weights with group scales (the tile's format), precision policies, and the one table of sites."""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.model.config import ModelConfig
from zynpu.model.engine import MeteredEngine, NumpyEngine
from zynpu.model.precision import POLICIES, policy
from zynpu.model.sites import LAYER_SITES, LM_HEAD, SITE_NAMES, jobs_per_token
from zynpu.model.transformer import Linear
from zynpu.model.w4a8 import matmul_int4, quantize_weight_int4, weight_bytes
from zynpu.model.w8a8 import QMAX, quantize_activation, quantize_weight
from zynpu.roofline import decode_jobs, model_config
from zynpu.tile import reference

GROUP = 64


def _int_reference(x: np.ndarray, q: np.ndarray, s: np.ndarray, group: int) -> np.ndarray:
    """sum_g S[n, g] * sum_(k in g) x[m, k] * q[n, k] in Python integers: the tile's formula literally."""
    m, k = x.shape
    out = np.zeros((m, q.shape[0]), dtype=np.int64)
    for g0 in range(0, k, group):
        part = x[:, g0 : g0 + group].astype(np.int64) @ q[:, g0 : g0 + group].astype(np.int64).T
        out += part * s[:, g0 // group].astype(np.int64)[None, :]
    return out.astype(np.int32)


@pytest.mark.parametrize(("m", "k", "n"), [(1, 640, 300), (8, 2048, 64), (3, 100, 17), (1, 8192, 16)])
def test_int4_engine_is_exact_at_the_extremes(m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(k + n)
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    q = rng.integers(-8, 8, size=(n, k), dtype=np.int8)
    s = rng.integers(0, 256, size=(n, -(-k // GROUP)), dtype=np.uint8)
    x[0, :] = -128  # the largest products: -128 * -8 * 255
    q[0, :], s[0, :] = -8, 255
    expected = _int_reference(x, q, s, GROUP)
    engine = NumpyEngine()
    np.testing.assert_array_equal(engine.matmul(x, engine.pack_weights_int4(q, s, GROUP)), expected)
    np.testing.assert_array_equal(matmul_int4(x, q, s, GROUP), expected)
    # int4 with all scales 1 is the int8 arithmetic on small weights
    np.testing.assert_array_equal(matmul_int4(x, q, np.ones_like(s), GROUP), reference.matmul(x, q))


def test_int4_quantizer_fits_the_format_and_tracks_the_weights() -> None:
    rng = np.random.default_rng(1)
    w = rng.standard_normal((96, 200)).astype(np.float32)
    w[3] *= 1e-3  # a quiet row
    w[5, 64:128] *= 50  # a loud group
    w[7] = 0  # an empty row
    q, s, row = quantize_weight_int4(w, GROUP)
    assert q.dtype == np.int8 and q.min() >= -8 and q.max() <= 7
    assert s.dtype == np.uint8 and s.shape == (96, 4) and s.min() >= 1
    assert row.dtype == np.float32 and (row > 0).all()
    per_k = np.repeat(s.astype(np.float32), GROUP, axis=1)[:, :200]
    back = q * per_k * row[:, None]
    assert np.array_equal(back[7], np.zeros(200))
    # no worse than plain round-to-nearest on each group's max|w|/7 grid (the clipping search only
    # keeps a finer step where it lowers the error), up to the 8-bit rounding of the group scales
    plain = np.zeros_like(w)
    for g0 in range(0, 200, GROUP):
        blk = w[:, g0 : g0 + GROUP]
        step = np.abs(blk).max(axis=1, keepdims=True) / 7
        step[step == 0] = 1
        plain[:, g0 : g0 + GROUP] = np.clip(np.rint(blk / step), -8, 7) * step
    assert ((back - w) ** 2).sum() <= 1.02 * ((plain - w) ** 2).sum()
    loud = slice(5, 6), slice(64, 128)
    assert np.abs(back[loud] - w[loud]).max() < 0.2 * np.abs(w[loud]).max()
    assert np.linalg.norm(back[:3] - w[:3]) < 0.12 * np.linalg.norm(w[:3])
    assert weight_bytes(96, 200, GROUP) == 96 * (100 + 4)


def test_lm_head_argmax_needs_no_dequantized_logits() -> None:
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5000, 64)).astype(np.float32) * rng.uniform(0.1, 3, size=(5000, 1))
    for fmt in ("int8", "int4"):
        head = Linear(w, None, MeteredEngine(NumpyEngine()), fmt=fmt)
        for _ in range(5):
            x = rng.standard_normal((1, 64)).astype(np.float32)
            assert head.argmax(x) == int(np.argmax(head(x)[0]))


def test_weights_and_activations_share_one_quantizer() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((7, 33)).astype(np.float32)
    a[2] = 0
    qw, sw = quantize_weight(a.astype(np.float64))
    qa, sa = quantize_activation(a)
    np.testing.assert_array_equal(qw, qa)
    np.testing.assert_array_equal(sw, sa)
    assert np.abs(qa).max() == QMAX and sa[2] == 1.0


def test_policies_are_complete_and_checked() -> None:
    for name in POLICIES:
        assert set(policy(name)) == set(SITE_NAMES)
    assert policy({"down": "int4"})["qkv"] == "int8"
    with pytest.raises(ValueError, match="unknown precision policy"):
        policy("w3a8")
    with pytest.raises(ValueError, match="bad precision"):
        policy({"down": "int2"})
    with pytest.raises(ValueError, match="bad precision"):
        policy({"attn_v": "int8"})


def test_one_table_of_sites_drives_layers_roofline_and_smoothing(tiny_model_config: ModelConfig) -> None:
    from zynpu.model import smooth
    from zynpu.model.transformer import Layer

    cfg = tiny_model_config
    assert tuple(s.name for s in LAYER_SITES) == smooth.SITES
    jobs = decode_jobs(cfg)
    assert len(jobs) == jobs_per_token(cfg) == len(LAYER_SITES) * cfg.n_layers + 1
    assert [j.name for j in jobs[: len(LAYER_SITES)]] == [s.name for s in LAYER_SITES]
    assert (jobs[-1].k, jobs[-1].n) == (LM_HEAD.k(cfg), LM_HEAD.n(cfg))
    rng = np.random.default_rng(4)
    from zynpu.model.weights import expected_shapes

    weights = {
        name: rng.standard_normal(shape).astype(np.float32) for name, shape in expected_shapes(cfg).items()
    }
    layer = Layer(cfg, weights, "layers.0.", MeteredEngine(NumpyEngine()), precision=POLICIES["w4a8"])
    for site, job in zip(LAYER_SITES, jobs, strict=False):
        linear = getattr(layer, site.name)
        assert (linear.handle.n, linear.handle.k) == (job.n, job.k)


@pytest.fixture
def tiny_model_config() -> ModelConfig:
    return model_config("tiny-qwen3")


def test_smoothing_applies_to_int8_sites_only() -> None:
    from zynpu.model.smooth import DEFAULT_ALPHA, alphas_for

    assert set(alphas_for(POLICIES["w8a8"]).values()) == {DEFAULT_ALPHA}
    assert set(alphas_for(POLICIES["w4a8"]).values()) == {None}
    mixed = alphas_for(POLICIES["w4a8-down8"])
    assert mixed["down"] == DEFAULT_ALPHA and mixed["qkv"] is None and "lm_head" not in mixed
