"""The LoRA trainer end to end on a tiny Gemma-shaped model (CPU, seconds): it scores the validation
split while it trains and ships the checkpoint the validation split chose, with the record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # the `train` extra


def test_training_scores_the_validation_split_and_ships_its_choice(tmp_path: Path) -> None:
    from zynpu.agent.adapter import merge
    from zynpu.agent.training import gemma_lora
    from zynpu.model.load import read_checkpoint, resolve

    out = tmp_path / "adapter"
    gemma_lora.main(
        [
            "--base",
            "tiny-gemma3",
            "--tasks",
            "48",
            "--val-tasks",
            "8",
            "--steps",
            "6",
            "--batch",
            "4",
            "--rank",
            "2",
            "--alpha",
            "4",
            "--val-every",
            "2",
            "--log-every",
            "1",
            "--cpu",
            "--out",
            str(out),
            "--examples",
            str(tmp_path / "ex.npz"),
            "--val-examples",
            str(tmp_path / "val.npz"),
        ]
    )
    rec = json.loads((out / "adapter.json").read_text())
    val = rec["training"]["validation"]
    assert [v["step"] for v in val["log"]] == [2, 4, 6]
    assert all(0.0 <= v["exact"] <= 1.0 and v["loss"] > 0 for v in val["log"])
    best = max(val["log"], key=lambda v: (v["exact"], -v["loss"]))
    assert val["chosen_step"] == best["step"] and val["chosen"] == best
    assert rec["training"]["steps"] == 6 and len(rec["training"]["loss_log"]) == 6
    # the shipped factors fit the base model and change it
    _, w, _ = read_checkpoint(resolve("tiny-gemma3"))
    mats = dict(np.load(out / "adapter.npz"))
    merged = merge(w, rec, mats)
    assert any(not np.array_equal(merged[k], w[k]) for k in w if k.endswith("wq"))
    # the caches hold the data of these arguments and are reused
    assert (tmp_path / "ex.npz").exists() and (tmp_path / "val.npz").exists()
