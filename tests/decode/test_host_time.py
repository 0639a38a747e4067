"""Host time per decode token: the rewritten host kernels against their plain definitions (bit for
bit), the same tokens on every engine, and the per-stage profile `zynpu bench decode --profile` reports."""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.model import layers, w8a8

RNG = np.random.default_rng(16)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(_bits(a), _bits(b))


@pytest.mark.parametrize("shape", [(1, 640), (1, 2048), (8, 640), (3, 17), (2, 4, 256)])
def test_rms_norm_is_the_mean_square_definition_bit_for_bit(shape: tuple[int, ...]) -> None:
    for scale in (1e-3, 1.0, 300.0):
        x = (RNG.standard_normal(shape) * scale).astype(np.float32)
        w = RNG.standard_normal(shape[-1]).astype(np.float32)
        plain = x * (1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(1e-6)))
        _same(layers.rms_norm(x, w, 1e-6, 1.0), (plain * (w + np.float32(1.0))).astype(np.float32))


def test_quantize_rows_is_clip_rint_of_the_row_scale() -> None:
    a = (RNG.standard_normal((9, 640)) * 5).astype(np.float32)
    a[3] = 0  # a zero row gets scale 1
    a[5, :4] = [127.0, -127.0, 0.5, -0.5]
    q, scale = w8a8.quantize_rows(a)
    expect_scale = np.where(np.abs(a).max(axis=1) > 0, np.abs(a).max(axis=1) / 127, 1.0).astype(np.float32)
    _same(scale, expect_scale)
    _same(q, np.clip(np.rint(a / expect_scale[:, None]), -127, 127).astype(np.int8))


def test_dequantize_multiplies_activation_then_weight_scale() -> None:
    acc = RNG.integers(-(2**30), 2**30, (2, 300)).astype(np.int32)
    xs, ws = RNG.uniform(0, 1, 2).astype(np.float32), RNG.uniform(0, 1, 300).astype(np.float32)
    _same(w8a8.dequantize_output(acc, xs, ws), acc.astype(np.float32) * xs[:, None] * ws[None, :])


@pytest.mark.parametrize("window", [None, 3, 512])
def test_attention_without_a_mask_only_where_every_key_is_visible(window: int | None) -> None:
    """Decode inside the window skips the mask; the result is the masked one bit for bit."""
    for t, s_len in ((1, 1), (1, 9), (3, 9), (5, 5)):
        start = s_len - t
        q = RNG.standard_normal((t, 4, 32)).astype(np.float32)
        k, v = (RNG.standard_normal((s_len, 2, 32)).astype(np.float32) for _ in range(2))
        visible = layers.visible_keys(start, t, s_len, window)
        assert layers.all_visible(start, t, s_len, window) == bool(visible.all())
        got = layers.attention(q, k, v, start, 0.17, window)
        # the definition: scores masked by visible_keys, softmax, weighted values (grouped heads)
        qg = q.reshape(t, 2, 2, 32).transpose(1, 2, 0, 3)
        scores = np.where(visible, (qg @ k.transpose(1, 2, 0)[:, None]) * np.float32(0.17), -np.inf)
        p = np.exp(scores - scores.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        want = (p.astype(np.float32) @ v.transpose(1, 0, 2)[:, None]).transpose(2, 0, 1, 3).reshape(t, -1)
        _same(got, want)


def test_neox_rope_is_the_rotation_of_the_two_halves() -> None:
    x = RNG.standard_normal((2, 4, 64)).astype(np.float32)
    cos, sin = layers.rope_tables(64, 16, 10000.0)
    c, s = cos[5:7, None, :], sin[5:7, None, :]
    a, b = x[..., :32], x[..., 32:]
    want = np.concatenate([a * c - b * s, b * c + a * s], axis=-1)
    _same(layers.apply_rope(x, cos[5:7], sin[5:7], "neox"), want)


def test_the_sampler_charges_cpu_time_to_the_stage_running() -> None:
    """A step that is nearly all one stage's work comes out as that stage (the profile is statistical,
    the margin wide); the device's own work is kept apart from the host's."""
    from zynpu.bench import host_profile

    big = RNG.standard_normal((64, 20_000)).astype(np.float32)
    w = RNG.standard_normal(20_000).astype(np.float32)
    for stage, work in (
        ("activation quantization", lambda: w8a8.quantize_rows(big)),
        ("norms (RMSNorm)", lambda: layers.rms_norm(big, w, 1e-6)),
    ):
        seconds, samples = host_profile.profile(work, 60)
        assert samples > 10 and max(seconds, key=seconds.__getitem__) == stage
        assert seconds[stage] > 0.8 * sum(seconds.values())


def test_decode_bench_reports_host_time_on_ref_and_numpy_with_the_same_tokens() -> None:
    pytest.importorskip("tokenizers", reason="needs the model extra (pip install .[model])")
    from zynpu.bench import decode, host_profile

    ref = decode.run(device_name="ref", tokens=3, ports=2, repeat=2, profile=True)
    numpy = decode.run(device_name="numpy", tokens=3, repeat=2, profile=True)
    assert ref["generated_token_ids"] == numpy["generated_token_ids"]  # the int8 datapath is exact
    # host costs come from the repeat with the least host CPU time; every repeat is listed
    assert round(ref["host_job_us"], 2) in ref["host_job_us_runs"] and len(ref["host_job_us_runs"]) == 2
    assert round(numpy["host_token_us"], 1) in numpy["host_token_us_runs"]
    assert ref["host_job_us"] > 0 and numpy["host_job_us"] is None
    known = set(host_profile.stage_functions()) - {host_profile.DEVICE}
    for result in (ref, numpy):
        stages = result["host_profile_us_per_token"]
        # a few ms of host work on the tiny model: a handful of samples, so only the shape is checked here
        assert set(stages) <= known and all(v >= 0 for v in stages.values())
        assert result["host_profile_samples"] >= 0
        assert not any(name.startswith("numpy engine") for name in stages)
        assert result["host_us_per_token"] >= result["host_token_us"] > 0
    assert not any(s.startswith("driver") for s in numpy["host_profile_us_per_token"])
    # the 0.90 budget: the most host time per token on the board that still reaches 0.90 of sustained DDR
    assert 0 < ref["kv260_host_us_per_token_for_0_90"] < ref["predicted_kv260_host_us_per_token"]
