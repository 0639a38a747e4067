"""The linear sites of a decoder layer, defined once: which weights each tile job stacks, and its shape.

One site is one engine job per token (fused QKV, O, fused gate+up, down) plus the LM head once per
token. `transformer.Layer`, `roofline.decode_jobs`, `Transformer.jobs_per_token` and `smooth.SITES`
all read this table, so adding or fusing a site changes every one of them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zynpu.model.config import ModelConfig


@dataclass(frozen=True)
class LinearSite:
    """A linear layer that runs as one tile job: its stacked weight names, K and N from the config."""

    name: str
    weights: tuple[str, ...]  # canonical per-layer names, stacked along N in this order
    in_features: Callable[[ModelConfig], int]
    out_features: Callable[[ModelConfig], int]

    def k(self, cfg: ModelConfig) -> int:
        return self.in_features(cfg)

    def n(self, cfg: ModelConfig) -> int:
        return self.out_features(cfg)


def _q(c: ModelConfig) -> int:
    return c.n_heads * c.head_dim


def _kv(c: ModelConfig) -> int:
    return c.n_kv_heads * c.head_dim


LAYER_SITES: tuple[LinearSite, ...] = (
    LinearSite("qkv", ("wq", "wk", "wv"), lambda c: c.hidden_size, lambda c: _q(c) + 2 * _kv(c)),
    LinearSite("o", ("wo",), _q, lambda c: c.hidden_size),
    LinearSite("gate_up", ("w_gate", "w_up"), lambda c: c.hidden_size, lambda c: 2 * c.intermediate_size),
    LinearSite("down", ("w_down",), lambda c: c.intermediate_size, lambda c: c.hidden_size),
)
LM_HEAD = LinearSite("lm_head", ("lm_head",), lambda c: c.hidden_size, lambda c: c.vocab_size)
SITE_NAMES: tuple[str, ...] = (*(s.name for s in LAYER_SITES), LM_HEAD.name)


def jobs_per_token(cfg: ModelConfig) -> int:
    """Engine jobs per decoded token: every layer site once per layer, then the LM head."""
    return len(LAYER_SITES) * cfg.n_layers + 1
