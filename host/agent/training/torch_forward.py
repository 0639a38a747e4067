"""A differentiable forward of zynpu.model's canonical weights (torch), with LoRA on every projection.

It mirrors `zynpu.model.transformer.Transformer.forward` (RMSNorm with Gemma's offset, q/k norms,
local/global RoPE, sliding windows, GQA, sandwich norms, GeGLU/SwiGLU) so that an adapter trained here
is the adapter the NPU runs; `tests/agent/test_adapter.py` compares the logits with the numpy
reference. Training only: the board never imports torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

TARGETS = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")


def _rope(head_dim: int, n: int, theta: float, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    ang = torch.arange(n, dtype=torch.float64)[:, None] / scale * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def _apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, style: str) -> torch.Tensor:
    c, s = cos[None, :, None, :], sin[None, :, None, :]  # x: (B, T, H, D)
    if style == "neox":
        half = x.shape[-1] // 2
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * c - b * s, b * c + a * s], dim=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * c - b * s, b * c + a * s], dim=-1).flatten(-2)


class LoraModel(torch.nn.Module):
    """Frozen base weights plus trainable low-rank deltas W + (alpha / r) B A on TARGETS."""

    def __init__(
        self,
        cfg: Any,
        weights: dict[str, np.ndarray],
        rank: int = 8,
        alpha: float = 16.0,
        max_len: int = 1024,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.cfg, self.rank, self.alpha = cfg, rank, alpha
        self.scale = alpha / rank
        g = torch.Generator().manual_seed(seed)
        self.base = {
            k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()
        }
        self.lora = torch.nn.ParameterDict()
        for i in range(cfg.n_layers):
            for t in TARGETS:
                w = self.base[f"layers.{i}.{t}"]
                a = torch.randn(rank, w.shape[1], generator=g) / math.sqrt(w.shape[1])
                self.lora[f"layers_{i}_{t}_a"] = torch.nn.Parameter(a)
                self.lora[f"layers_{i}_{t}_b"] = torch.nn.Parameter(torch.zeros(w.shape[0], rank))
        glob = _rope(cfg.head_dim, max_len, cfg.rope_theta, cfg.rope_scale)
        loc = (
            _rope(cfg.head_dim, max_len, cfg.rope_local_theta)
            if cfg.rope_local_theta and cfg.sliding_window
            else glob
        )
        self.ropes = [glob if cfg.is_global(i) else loc for i in range(cfg.n_layers)]

    def to(self, *args: Any, **kw: Any) -> LoraModel:  # type: ignore[override]
        super().to(*args, **kw)
        self.base = {k: v.to(*args, **kw) for k, v in self.base.items()}
        self.ropes = [(c.to(*args, **kw), s.to(*args, **kw)) for c, s in self.ropes]
        return self

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        c = self.cfg
        xf = x.float()
        inv = torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + c.rms_eps)
        return (xf * inv * (self.base[name] + c.norm_offset)).to(x.dtype)

    def _lin(self, x: torch.Tensor, i: int, t: str) -> torch.Tensor:
        w = self.base[f"layers.{i}.{t}"]
        a, b = self.lora[f"layers_{i}_{t}_a"], self.lora[f"layers_{i}_{t}_b"]
        out = F.linear(x, w.to(x.dtype))
        bias = self.base.get(f"layers.{i}.b{t[1]}") if t in ("wq", "wk", "wv") else None
        if bias is not None:
            out = out + bias.to(x.dtype)
        return out + F.linear(F.linear(x, a.to(x.dtype)), b.to(x.dtype)) * self.scale

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> hidden states (B, T, hidden) before the final norm's LM head."""
        c = self.cfg
        bsz, t = ids.shape
        x = F.embedding(ids, self.base["embed"])
        if c.embed_scale:
            x = x * math.sqrt(c.hidden_size)
        pos = torch.arange(t, device=ids.device)
        causal = pos[None, :] <= pos[:, None]
        for i in range(c.n_layers):
            h = self._norm(x, f"layers.{i}.attn_norm")
            q = self._lin(h, i, "wq").view(bsz, t, c.n_heads, c.head_dim)
            k = self._lin(h, i, "wk").view(bsz, t, c.n_kv_heads, c.head_dim)
            v = self._lin(h, i, "wv").view(bsz, t, c.n_kv_heads, c.head_dim)
            if c.qk_norm:
                q, k = self._norm(q, f"layers.{i}.q_norm"), self._norm(k, f"layers.{i}.k_norm")
            cos, sin = (tab[:t] for tab in self.ropes[i])
            q, k = _apply_rope(q, cos, sin, c.rope_style), _apply_rope(k, cos, sin, c.rope_style)
            mask = causal if c.is_global(i) else causal & (pos[:, None] - pos[None, :] < c.sliding_window)
            a = (
                F.scaled_dot_product_attention(
                    q.transpose(1, 2),
                    k.transpose(1, 2),
                    v.transpose(1, 2),
                    attn_mask=mask,
                    scale=c.attn_scale(),
                    enable_gqa=c.n_heads != c.n_kv_heads,
                )
                .transpose(1, 2)
                .reshape(bsz, t, c.n_heads * c.head_dim)
            )
            a = self._lin(a, i, "wo")
            if c.sandwich_norm:
                a = self._norm(a, f"layers.{i}.post_attn_norm")
            x = x + a
            h = self._norm(x, f"layers.{i}.ffn_norm")
            gate, up = self._lin(h, i, "w_gate"), self._lin(h, i, "w_up")
            act = F.gelu(gate, approximate="tanh") if c.activation == "gelu_tanh" else F.silu(gate)
            m = self._lin(act * up, i, "w_down")
            if c.sandwich_norm:
                m = self._norm(m, f"layers.{i}.post_ffn_norm")
            x = x + m
        return self._norm(x, "final_norm")

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        head = self.base["embed"] if self.cfg.tie_embeddings else self.base["lm_head"]
        return F.linear(hidden, head.to(hidden.dtype))

    def adapter(self) -> dict[str, np.ndarray]:
        """The trained deltas in the shipped file's names: layers.{i}.{target}.lora_a / .lora_b."""
        out = {}
        for name, p in self.lora.items():
            _, i, *t, ab = name.split("_")
            out[f"layers.{i}.{'_'.join(t)}.lora_{ab}"] = p.detach().float().cpu().numpy().astype(np.float16)
        return out
