"""An exact int8 x int8 -> int32 matmul engine on a CUDA GPU, for running the eval of big models fast.

float64 products of int8 values and their sums up to K * 2**14 are exact, so the results equal
`zynpu.model.engine.NumpyEngine` (and the NPU) bit for bit; only where the arithmetic runs differs.
Development only (torch): used to score Gemma on the honest eval on the training machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class CudaEngine:
    def __init__(self, device: str = "cuda") -> None:
        self.device = torch.device(device)

    def pack_weights(self, w: np.ndarray) -> Any:
        if w.dtype != np.int8 or w.ndim != 2:
            raise TypeError(f"w must be a 2-D int8 array, got {w.dtype} {w.shape}")
        return torch.from_numpy(np.ascontiguousarray(w.T)).to(self.device, torch.float64)

    def matmul(self, x: np.ndarray, weights: Any) -> np.ndarray:
        if x.dtype != np.int8 or x.ndim != 2:
            raise TypeError(f"x must be a 2-D int8 array, got {x.dtype} {x.shape}")
        xt = torch.from_numpy(x).to(self.device, torch.float64)
        return (xt @ weights).to(torch.int32).cpu().numpy()
