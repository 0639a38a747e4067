"""SmoothQuant-style per-input-channel scaling, applied to the float weights once at load time.

For a linear layer y = x W^T, any positive per-input-channel vector s gives y = (x / s)(W * s)^T. The
division by s is folded into whatever produces x, so the network computes the same function in exact
arithmetic, while the W8A8 quantization sees activations with flatter channels (per-token int8 suffers
from a few outlier channels) and weights that absorb part of the range (per-output-channel int8
tolerates that better). s_j = max|x_j|^alpha / max|W_:,j|^(1 - alpha) rounded to a power of two, from a
calibration text (`data/calibration.txt`, not the evaluation text `data/sample.txt`). Where 1/s goes:

* QKV and gate/up read a pre-RMSNorm: its weight becomes (offset + w) / s - offset (Gemma's 1 + w).
  The sandwich norms (post_attn_norm, post_ffn_norm) act on layer outputs and are left alone.
* down reads glu(gate, up) = act(gate) * up, linear in up: the up rows are divided by s.
* o reads the attention output, linear in V: the V rows (and V bias) are divided by s, per kv head;
  every query head of a GQA group reads the same V head, so s is shared across the group.

Only the float weights change; the engine still gets int8 (N, K) weights and int8 activations with
per-token dynamic scales, four jobs per layer plus the LM head (which is not smoothed: its input norm
is shared with nothing, but its weight is the tied embedding).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from zynpu.model.config import ModelConfig
from zynpu.model.sites import LAYER_SITES

# chosen on data/calibration.txt by mean KL(float || W8A8) on Gemma 3 270M:
# alpha 0.3: 0.032, 0.5: 0.015, 0.7: 0.013, 0.8: 0.014 (none: 0.037)
DEFAULT_ALPHA = 0.7
SKIP_FIRST = 1
SITES = tuple(site.name for site in LAYER_SITES)  # the layer's linear sites (sites.py)


@dataclass
class _Recorder:
    """Wraps a float Linear and keeps the running max |x| per input channel."""

    inner: object
    skip: int = 0  # leading rows (tokens) still to ignore
    amax: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        seen, self.skip = x[self.skip :], max(0, self.skip - len(x))
        if len(seen):
            m = np.abs(seen).max(axis=0)
            self.amax = m if self.amax is None else np.maximum(self.amax, m)
        return self.inner(x)  # type: ignore[operator]


def activation_stats(
    cfg: ModelConfig,
    weights: Mapping[str, np.ndarray],
    calib_ids: np.ndarray,
    chunk: int = 256,
    skip_first: int = SKIP_FIRST,
) -> list[dict[str, np.ndarray]]:
    """Per layer, per site: max |input| per input channel over the calibration tokens (float32 forward).

    The first `skip_first` tokens (BOS: the attention sink, with activations unlike any other token's)
    run but are not counted: per-token scales already isolate them from the other tokens.
    The forward runs layer by layer over all the tokens (chunk by chunk, as `Transformer.forward` would
    run them), so only one layer's float32 weights exist at a time; the arithmetic is the forward's.
    """
    from zynpu.model.kvcache import KVCache
    from zynpu.model.layers import FLOAT32
    from zynpu.model.transformer import Layer, decoder_layer, embed_tokens, layer_ropes

    cfg = cfg.replace(max_position=len(calib_ids))
    ropes = layer_ropes(cfg, FLOAT32)
    cache = KVCache(cfg.n_layers, len(calib_ids), cfg.n_kv_heads, cfg.head_dim)
    starts = range(0, len(calib_ids), chunk)
    xs = [embed_tokens(cfg, weights["embed"], np.asarray(calib_ids[a : a + chunk])) for a in starts]
    stats = []
    for i in range(cfg.n_layers):
        layer = Layer(cfg, weights, f"layers.{i}.", None)  # float32, this layer only
        r = {site: _Recorder(getattr(layer, site), skip_first) for site in SITES}
        for site, rec in r.items():
            setattr(layer, site, rec)
        for j, a in enumerate(starts):
            cache.length = a
            xs[j] = decoder_layer(cfg, FLOAT32, layer, ropes[i], i, xs[j], cache, a)
        stats.append({site: rec.amax for site, rec in r.items()})
        del layer, r
    return stats  # type: ignore[return-value]


def _scale(act: np.ndarray, w_cols: np.ndarray, alpha: float) -> np.ndarray:
    """s = act^alpha / w^(1 - alpha), rounded to a power of two.

    Powers of two make the rescaled weights exact in float32 (W * s, V / s) and make s insensitive to
    rounding-level differences in the calibration forward (e.g. GGUF vs safetensors copies of a model,
    whose float32 sums run in different orders, get identical scales and identical int8 weights).
    """
    act = np.maximum(act.astype(np.float64), 1e-5)
    w_cols = np.maximum(w_cols.astype(np.float64), 1e-5)
    s = act**alpha / w_cols ** (1 - alpha)
    return np.exp2(np.rint(np.log2(s))).astype(np.float32)


def smooth(
    cfg: ModelConfig,
    weights: Mapping[str, np.ndarray],
    calib_ids: np.ndarray,
    alpha: float | Mapping[str, float] = DEFAULT_ALPHA,
    stats: list[dict[str, np.ndarray]] | None = None,
) -> SmoothedWeights:
    """Return the weights rescaled, function-preserving in float, better conditioned for W8A8.

    alpha: one value, or per site ("qkv", "o", "gate_up", "down"); a site with alpha None is skipped.
    The result is computed per layer when that layer is read (and only the layer read last is kept),
    so smoothing adds no float32 copy of the model.
    """
    alphas = {site: alpha for site in SITES} if not isinstance(alpha, Mapping) else dict(alpha)
    stats = stats if stats is not None else activation_stats(cfg, weights, calib_ids)
    return SmoothedWeights(cfg, weights, stats, alphas)


class SmoothedWeights(Mapping[str, np.ndarray]):
    """`weights` with each layer's SmoothQuant scaling applied when that layer is first read."""

    def __init__(
        self,
        cfg: ModelConfig,
        weights: Mapping[str, np.ndarray],
        stats: list[dict[str, np.ndarray]],
        alphas: Mapping[str, float | None],
    ) -> None:
        self.cfg, self.weights, self.stats, self.alphas = cfg, weights, stats, alphas
        self._layer, self._cached = -1, {}  # type: tuple[int, dict[str, np.ndarray]]

    def __getitem__(self, name: str) -> np.ndarray:
        parts = name.split(".")
        if parts[0] != "layers":
            return self.weights[name]
        i = int(parts[1])
        if i != self._layer:
            self._layer, self._cached = -1, {}
            self._cached = _smooth_layer(self.cfg, self.weights, f"layers.{i}.", self.stats[i], self.alphas)
            self._layer = i
        key = parts[2]
        return self._cached[key] if key in self._cached else self.weights[name]

    def __contains__(self, name: object) -> bool:
        return name in self.weights

    def __iter__(self) -> Iterator[str]:
        return iter(self.weights)

    def __len__(self) -> int:
        return len(self.weights)


def _smooth_layer(
    cfg: ModelConfig,
    weights: Mapping[str, np.ndarray],
    p: str,
    st: dict[str, np.ndarray],
    alphas: Mapping[str, float | None],
) -> dict[str, np.ndarray]:
    """One layer's rescaled tensors (short names), from its stored tensors and activation maxima."""
    off = np.float32(cfg.norm_offset)
    hd, g = cfg.head_dim, cfg.n_heads // cfg.n_kv_heads
    mats = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")
    w = {k: np.asarray(weights[p + k], dtype=np.float32) for k in mats}
    w["attn_norm"], w["ffn_norm"] = weights[p + "attn_norm"], weights[p + "ffn_norm"]
    if p + "bv" in weights:
        w["bv"] = weights[p + "bv"]
    if alphas.get("qkv") is not None:
        cols = np.abs(np.concatenate([w["wq"], w["wk"], w["wv"]])).max(axis=0)
        s = _scale(st["qkv"], cols, alphas["qkv"])  # type: ignore[arg-type]
        for k in ("wq", "wk", "wv"):
            w[k] = w[k] * s[None, :]
        w["attn_norm"] = ((w["attn_norm"] + off) / s - off).astype(np.float32)
    if alphas.get("gate_up") is not None:
        cols = np.abs(np.concatenate([w["w_gate"], w["w_up"]])).max(axis=0)
        s = _scale(st["gate_up"], cols, alphas["gate_up"])  # type: ignore[arg-type]
        w["w_gate"], w["w_up"] = w["w_gate"] * s[None, :], w["w_up"] * s[None, :]
        w["ffn_norm"] = ((w["ffn_norm"] + off) / s - off).astype(np.float32)
    if alphas.get("down") is not None:
        s = _scale(st["down"], np.abs(w["w_down"]).max(axis=0), alphas["down"])  # type: ignore[arg-type]
        w["w_up"] = w["w_up"] / s[:, None]
        w["w_down"] = w["w_down"] * s[None, :]
    if alphas.get("o") is not None:
        # o's input channel (head h, dim d) comes from V row (h // g, d): one s per kv head row
        act = st["o"].reshape(cfg.n_kv_heads, g, hd).max(axis=1)
        cols = np.abs(w["wo"]).max(axis=0).reshape(cfg.n_kv_heads, g, hd).max(axis=1)
        s = _scale(act, cols, alphas["o"])  # type: ignore[arg-type]  # (n_kv_heads, hd)
        w["wv"] = w["wv"] / s.reshape(-1)[:, None]
        if "bv" in w:
            w["bv"] = (w["bv"] / s.reshape(-1)).astype(np.float32)
        w["wo"] = w["wo"] * np.repeat(s[:, None, :], g, axis=1).reshape(-1)[None, :]
    return {k: v.astype(np.float32, copy=False) for k, v in w.items()}


def alphas_for(formats: Mapping[str, str], int4_alpha: float | None = None) -> dict[str, float | None]:
    """SmoothQuant strength per site for a precision policy: DEFAULT_ALPHA for int8 sites, `int4_alpha`
    (default none) for int4 sites.

    Smoothing moves activation outliers into weight columns; per-channel int8 absorbs that, but an int4
    group of 64 columns is then scaled by its few loud ones, which costs the rest their 16 levels.
    """
    return {site: (DEFAULT_ALPHA if formats.get(site, "int8") == "int8" else int4_alpha) for site in SITES}


def calibration_text() -> str:
    from importlib.resources import files

    return files("zynpu.model").joinpath("data/calibration.txt").read_text(encoding="utf-8")


# Calibration tokens used by `load`: per-channel maxima settle within a few hundred tokens, and the
# float32 pass over them is paid on every W8A8 load.
CALIBRATION_TOKENS = 256


def smooth_for_w8a8(  # type: ignore[no-untyped-def]
    cfg: ModelConfig, weights: Mapping[str, np.ndarray], tok, formats: Mapping[str, str] | None = None
) -> SmoothedWeights:
    """`smooth` with the committed calibration text: what `load` does (int8 sites only, `alphas_for`)."""
    ids = np.array(tok.encode(calibration_text())[:CALIBRATION_TOKENS])
    return smooth(cfg, weights, ids, alphas_for(formats or {}))
