"""W8A8 vs float32 on a fixed text: top-1 agreement and perplexity, from one set of loaded weights.

python -m zynpu.model.evaluate --model gemma3-270m [--max-tokens 512] [--alpha 0.5 | --no-smoothing]

The W8A8 model is built as `load` builds it: SmoothQuant-scaled (zynpu.model.smooth) with statistics
from data/calibration.txt; the evaluation text is data/sample.txt, which calibration never sees.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from zynpu.model.engine import MatmulEngine, NumpyEngine
from zynpu.model.smooth import DEFAULT_ALPHA, calibration_text, smooth
from zynpu.model.transformer import Transformer


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
) -> Report:
    """Float32 reference and W8A8 (on `engine`, default NumpyEngine) over the same token ids.

    With `calib_ids`, the W8A8 model gets SmoothQuant scaling (strength `alpha`) calibrated on them.
    """
    t0 = time.perf_counter()
    ref = all_logits(Transformer(cfg, weights, None, progress=False), ids)
    t1 = time.perf_counter()
    qweights = weights if calib_ids is None else smooth(cfg, weights, calib_ids, alpha)
    q = all_logits(Transformer(cfg, qweights, engine or NumpyEngine(), progress=False), ids)
    t2 = time.perf_counter()
    pf, pq = perplexity(ref, ids), perplexity(q, ids)
    return Report(
        tokens=len(ids),
        ppl_float=pf,
        ppl_w8a8=pq,
        ppl_rel_change=pq / pf - 1,
        top1_agreement=float((ref.argmax(1) == q.argmax(1)).mean()),
        max_logit_err=float(np.abs(q - ref).max() / np.abs(ref).max()),
        seconds_float=t1 - t0,
        seconds_w8a8=t2 - t1,
        smoothing_alpha=None if calib_ids is None else alpha,
    )


def main(argv: list[str] | None = None) -> int:
    from zynpu.model.load import read_checkpoint, resolve
    from zynpu.model.testmodels import sample_text

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--max-ppl-change", type=float, default=0.03, help="fail if W8A8 perplexity exceeds this")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="SmoothQuant migration strength")
    p.add_argument("--no-smoothing", action="store_true", help="quantize the weights as stored")
    args = p.parse_args(argv)
    cfg, weights, tok = read_checkpoint(resolve(args.model))
    ids = np.array(tok.encode(sample_text())[: args.max_tokens])
    calib = None if args.no_smoothing else np.array(tok.encode(calibration_text()))
    r = compare(cfg.replace(max_position=len(ids)), weights, ids, calib_ids=calib, alpha=args.alpha)
    print(json.dumps(asdict(r), indent=1))
    ok = r.ppl_rel_change <= args.max_ppl_change
    print(
        f"{args.model}: {r.tokens} tokens, perplexity float32 {r.ppl_float:.3f} W8A8 {r.ppl_w8a8:.3f} "
        f"({100 * r.ppl_rel_change:+.2f}%, smoothing alpha {r.smoothing_alpha}), "
        f"top-1 agreement {100 * r.top1_agreement:.1f}% -> "
        f"{'PASS' if ok else 'FAIL'}",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
