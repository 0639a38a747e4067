"""Load-time LoRA: W' = W + (alpha / r) B A merged into the float weights before W8A8 quantization.

The merged model is an ordinary set of weights, so every linear layer (adapted ones included) still
runs on the NPU through the same quantize-and-pack path; the board needs numpy only (the adapter is
an .npz of float16 matrices plus adapter.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

SHIPPED_ADAPTER = Path(__file__).parent / "adapter"


def read_adapter(path: Path = SHIPPED_ADAPTER) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    meta = json.loads((path / "adapter.json").read_text())
    with np.load(path / "adapter.npz") as z:
        mats = {k: z[k] for k in z.files}
    return meta, mats


def merge(
    weights: dict[str, np.ndarray], meta: dict[str, Any], mats: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """A copy of `weights` with every adapted matrix replaced by W + scale * B @ A (float32)."""
    scale = float(meta["alpha"]) / int(meta["rank"])
    out = dict(weights)
    for name in sorted({k.rsplit(".", 1)[0] for k in mats}):
        a = mats[f"{name}.lora_a"].astype(np.float32)
        b = mats[f"{name}.lora_b"].astype(np.float32)
        w = weights[name]
        if b.shape[0] != w.shape[0] or a.shape[1] != w.shape[1]:
            raise ValueError(f"adapter {name}: B{b.shape} A{a.shape} do not fit weight {w.shape}")
        out[name] = (w.astype(np.float32) + scale * (b @ a)).astype(np.float32)
    return out
