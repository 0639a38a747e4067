"""Quantized vs float32 on a fixed text: perplexity, top-1 agreement and weight bytes per token.

python -m zynpu.model.evaluate --model gemma3-270m [--max-tokens 512] [--alpha 0.5 | --no-smoothing]
    [--policy w8a8 --policy w4a8 ... | --policy all]

W8A8 and the shipped 4-bit policy (zynpu.model.precision.SHIPPED_4BIT) by default; each policy picks
int8 or int4 (group-scaled) weights per linear site. The models are built as `load` builds them:
SmoothQuant-scaled (zynpu.model.smooth) with statistics from data/calibration.txt; the evaluation text
is data/sample.txt, which calibration never sees.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from zynpu.model.engine import MatmulEngine, NumpyEngine
from zynpu.model.precision import POLICIES, SHIPPED_4BIT, policy
from zynpu.model.smooth import DEFAULT_ALPHA, activation_stats, alphas_for, calibration_text, smooth
from zynpu.model.transformer import Transformer


@dataclass
class PolicyResult:
    """One precision policy against float32 on the evaluation text."""

    ppl: float
    ppl_rel_change: float
    top1_agreement: float
    weight_bytes_per_token: int  # every linear job's weights streamed once (scales included)
    weight_bits_per_param: float
    seconds: float


@dataclass
class Report:
    tokens: int
    ppl_float: float
    ppl_w8a8: float
    ppl_rel_change: float
    top1_agreement: float
    max_logit_err: float  # largest |W8A8 - float32| logit, relative to the largest float32 logit
    seconds_float: float
    seconds_w8a8: float
    smoothing_alpha: float | None = None  # None: W8A8 on the weights as stored
    policies: dict[str, PolicyResult] | None = None  # every policy tried, W8A8 included


def all_logits(model: Transformer, ids: np.ndarray, chunk: int = 128) -> np.ndarray:
    """Logits at every position, prefilled in chunks (bounds the (T, vocab) scratch per call)."""
    cache = model.new_cache(len(ids))
    return np.concatenate(
        [model.forward(ids[i : i + chunk], cache, all_logits=True) for i in range(0, len(ids), chunk)]
    )


def perplexity(logits: np.ndarray, ids: np.ndarray) -> float:
    """exp(mean negative log-likelihood of token t+1 given tokens <= t)."""
    z = logits[:-1].astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    logp = z[np.arange(len(z)), ids[1:]] - np.log(np.exp(z).sum(axis=1))
    return float(np.exp(-logp.mean()))


def compare(  # type: ignore[no-untyped-def]
    cfg,
    weights,
    ids: np.ndarray,
    engine: MatmulEngine | None = None,
    calib_ids: np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    policies: tuple[str, ...] = ("w8a8",),
    int4_alpha: float | None = None,
) -> Report:
    """Float32 reference and each precision policy (on `engine`, default NumpyEngine) over the same ids.

    With `calib_ids`, the quantized models get SmoothQuant scaling (strength `alpha`) calibrated on them.
    The W8A8 fields of the report are the "w8a8" policy's (always run).
    """
    t0 = time.perf_counter()
    ref = all_logits(Transformer(cfg, weights, None, progress=False), ids)
    t1 = time.perf_counter()
    stats = None if calib_ids is None else activation_stats(cfg, weights, calib_ids)
    pf = perplexity(ref, ids)
    results: dict[str, PolicyResult] = {}
    w8a8_logits = None
    for name in dict.fromkeys(("w8a8", *policies)):
        start = time.perf_counter()
        formats = policy(name)
        by_site = alphas_for(formats, int4_alpha).items()
        alphas = {site: (alpha if formats[site] == "int8" else a) for site, a in by_site}
        qweights = weights if stats is None else smooth(cfg, weights, calib_ids, alphas, stats)  # type: ignore[arg-type]
        model = Transformer(cfg, qweights, engine or NumpyEngine(), progress=False, precision=formats)
        q = all_logits(model, ids)
        meter = model.engine
        assert meter is not None
        params = sum(n * k for n, k in _job_sizes(model))
        pq = perplexity(q, ids)
        results[name] = PolicyResult(
            ppl=pq,
            ppl_rel_change=pq / pf - 1,
            top1_agreement=float((ref.argmax(1) == q.argmax(1)).mean()),
            weight_bytes_per_token=meter.packed_bytes,
            weight_bits_per_param=8 * meter.packed_bytes / params,
            seconds=time.perf_counter() - start,
        )
        if name == "w8a8":
            w8a8_logits = q
        del model, meter, q, qweights
    assert w8a8_logits is not None
    w8 = results["w8a8"]
    return Report(
        tokens=len(ids),
        ppl_float=pf,
        ppl_w8a8=w8.ppl,
        ppl_rel_change=w8.ppl_rel_change,
        top1_agreement=w8.top1_agreement,
        max_logit_err=float(np.abs(w8a8_logits - ref).max() / np.abs(ref).max()),
        seconds_float=t1 - t0,
        seconds_w8a8=w8.seconds,
        smoothing_alpha=None if calib_ids is None else alpha,
        policies=results,
    )


def _job_sizes(model: Transformer) -> list[tuple[int, int]]:
    """(N, K) of every linear job of one token."""
    from zynpu.model.sites import LAYER_SITES, LM_HEAD

    cfg = model.cfg
    per_layer = [(s.n(cfg), s.k(cfg)) for s in LAYER_SITES]
    return per_layer * cfg.n_layers + [(LM_HEAD.n(cfg), LM_HEAD.k(cfg))]


def main(argv: list[str] | None = None) -> int:
    from zynpu.model.load import read_checkpoint, resolve
    from zynpu.model.testmodels import sample_text

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--max-ppl-change", type=float, default=0.03, help="fail if W8A8 perplexity exceeds this")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="SmoothQuant migration strength")
    p.add_argument("--no-smoothing", action="store_true", help="quantize the weights as stored")
    p.add_argument(
        "--policy",
        action="append",
        default=None,
        help=f"precision policy to evaluate (repeatable; 'all': {', '.join(POLICIES)}); "
        f"default w8a8 and {SHIPPED_4BIT}",
    )
    p.add_argument("--int4-alpha", type=float, default=None, help="SmoothQuant strength on int4 sites")
    p.add_argument(
        "--max-ppl-change-4bit",
        type=float,
        default=0.03,
        help=f"fail if {SHIPPED_4BIT} perplexity exceeds this",
    )
    args = p.parse_args(argv)
    chosen = tuple(POLICIES) if args.policy == ["all"] else tuple(args.policy or ("w8a8", SHIPPED_4BIT))
    cfg, weights, tok = read_checkpoint(resolve(args.model))
    ids = np.array(tok.encode(sample_text())[: args.max_tokens])
    calib = None if args.no_smoothing else np.array(tok.encode(calibration_text()))
    r = compare(
        cfg.replace(max_position=len(ids)),
        weights,
        ids,
        calib_ids=calib,
        alpha=args.alpha,
        policies=chosen,
        int4_alpha=args.int4_alpha,
    )
    print(json.dumps(asdict(r), indent=1))
    ok = r.ppl_rel_change <= args.max_ppl_change
    assert r.policies is not None
    if SHIPPED_4BIT in r.policies:
        ok = ok and r.policies[SHIPPED_4BIT].ppl_rel_change <= args.max_ppl_change_4bit
    print(f"{args.model}: {r.tokens} tokens, perplexity float32 {r.ppl_float:.3f}", file=sys.stderr)
    for name, q in r.policies.items():
        shipped = " (shipped 4-bit)" if name == SHIPPED_4BIT else ""
        print(
            f"  {name:18s} perplexity {q.ppl:.3f} ({100 * q.ppl_rel_change:+.2f}%), top-1 agreement "
            f"{100 * q.top1_agreement:.1f}%, {q.weight_bytes_per_token / 1e6:.1f} MB weights/token "
            f"({q.weight_bits_per_param:.2f} bits/param){shipped}",
            file=sys.stderr,
        )
    print(f"  smoothing alpha {r.smoothing_alpha} -> {'PASS' if ok else 'FAIL'}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
