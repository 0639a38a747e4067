"""SmoothQuant scaling: function-preserving in float32, better W8A8 under activation outliers, same jobs."""

import numpy as np
import pytest

from zynpu.model import smooth as S
from zynpu.model.engine import NumpyEngine
from zynpu.model.load import load, read_checkpoint
from zynpu.model.transformer import Transformer

IDS = np.array([5, 40, 17, 99, 3, 250, 61, 8, 120, 33, 7, 42, 11, 200, 64, 9])
CALIB = np.array([2, 77, 130, 14, 255, 31, 90, 6, 180, 45, 12, 222, 60, 101, 3, 150])  # != IDS


def _logits(cfg, w, engine=None):  # type: ignore[no-untyped-def]
    m = Transformer(cfg, w, engine, progress=False)
    return m.forward(IDS, m.new_cache(len(IDS)), all_logits=True)


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama", "gemma3"])
def test_smoothing_preserves_the_float_function(family: str, loaded) -> None:
    cfg, w, _ = loaded(family)
    ws = S.smooth(cfg, w, CALIB, alpha=0.5)
    changed = [k for k in w if not np.array_equal(w[k], ws[k])]
    # every site was rescaled: both pre-norms, Q/K/V/O, gate/up/down of every layer
    for i in range(cfg.n_layers):
        for k in ("attn_norm", "ffn_norm", "wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"):
            assert f"layers.{i}.{k}" in changed, (family, i, k)
    assert not any(k.endswith(("post_attn_norm", "post_ffn_norm", "q_norm", "k_norm")) for k in changed)
    ref, got = _logits(cfg, w), _logits(cfg, ws)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-4 * np.abs(ref).max())


@pytest.mark.parametrize("family", ["qwen3", "gemma3"])
def test_smoothing_absorbs_an_activation_outlier_channel(family: str, loaded) -> None:
    """Make channel 3 of every attention and MLP input 40x larger (and its weight columns 40x smaller:
    same float function). Per-token int8 then loses the other channels; smoothing gets them back."""
    cfg, w, _ = loaded(family)
    w = dict(w)
    off = np.float32(cfg.norm_offset)
    for i in range(cfg.n_layers):
        p = f"layers.{i}."
        for norm, mats in (("attn_norm", ("wq", "wk", "wv")), ("ffn_norm", ("w_gate", "w_up"))):
            n = (w[p + norm] + off).copy()
            n[3] *= 40
            w[p + norm] = n - off
            for m in mats:
                a = w[p + m].copy()
                a[:, 3] /= 40
                w[p + m] = a
    ref = _logits(cfg, w)
    err = lambda ws: float(np.abs(_logits(cfg, ws, NumpyEngine()) - ref).mean())  # noqa: E731
    plain, smoothed = err(w), err(S.smooth(cfg, w, CALIB, alpha=0.5))
    assert smoothed < 0.5 * plain, (plain, smoothed)


def test_load_smooths_only_the_w8a8_model_and_keeps_jobs(tiny_paths) -> None:
    path = tiny_paths("gemma3")[0]
    cfg, w, _ = read_checkpoint(path)
    model, _ = load(path, engine=NumpyEngine(), progress=False)
    raw, _ = load(path, engine=NumpyEngine(), progress=False, smoothing=False)
    flt, _ = load(path, engine=None, progress=False)
    assert not np.array_equal(model.layers[0].norms["attn_norm"], raw.layers[0].norms["attn_norm"])
    np.testing.assert_array_equal(flt.layers[0].norms["attn_norm"], w["layers.0.attn_norm"])
    model.engine_stats(reset=True)
    model.forward(IDS[:1], model.new_cache(4))
    st = model.engine_stats()
    assert st.jobs == model.jobs_per_token == 4 * cfg.n_layers + 1
    assert model.engine.packed_bytes == raw.engine.packed_bytes  # same int8 weight shapes
