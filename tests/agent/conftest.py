"""Fixtures: the shipped model (through the exact host int8 engine unless a test says otherwise) and a
random-weights model with the same tokenizer, for the "any logits still give valid calls" tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from zynpu.agent.llm import SHIPPED_MODEL, Llm, load_llm


@pytest.fixture(scope="session")
def tiny() -> Llm:
    pytest.importorskip("tokenizers", reason="the agent's model needs the model extra (pip install .[model])")
    return load_llm(SHIPPED_MODEL, engine="numpy")


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped config and tokenizer with random weights (a model that has learned nothing)."""
    pytest.importorskip("tokenizers", reason="the agent's model needs the model extra (pip install .[model])")
    from safetensors.numpy import load_file, save_file

    out = tmp_path_factory.mktemp("random-agent-model")
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(SHIPPED_MODEL / name, out / name)
    rng = np.random.default_rng(123)
    shapes = {k: v.shape for k, v in load_file(str(SHIPPED_MODEL / "model.safetensors")).items()}
    weights = {
        k: (rng.standard_normal(s) * (1.0 if len(s) == 1 else 0.5)).astype(np.float32)
        for k, s in shapes.items()
    }
    save_file(weights, str(out / "model.safetensors"))
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"
    return out


@pytest.fixture(scope="session")
def random_llm(random_model_dir: Path) -> Llm:
    return load_llm(random_model_dir, engine="numpy", temperature=1.0, seed=7)
