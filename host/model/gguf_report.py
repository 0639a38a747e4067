"""How exactly a GGUF's tensors land on the tile's grids, per GGUF type: the numbers in docs/weights.md.

python -m zynpu.model.gguf_report [--model gemma3-270m] [--rows 4096]
python -m zynpu.model.gguf_report --perplexity --group 32 [--policy gguf-o4 ...]
python -m zynpu.model.gguf_report --host-cost

For every block type in the file, each tensor of that type is mapped natively (gguf_to_tile: to_int8,
and to_int4 at groups 64 and 32 where the codes are 4-bit) and, for comparison, through float
(w8a8.quantize_rows / w4a8.quantize_weight_int4 on gguf's dequantized values). Errors are against
gguf's own dequantized values. Q4_0 is not in the Q4_K_M file: the file's Q4_K tensors are also
re-quantized to Q4_0 with gguf.quants (their dequantized values as input) and mapped the same way.

--host-cost: CPU time of one token's host offsets (Q4_K zero points) next to the numpy engine's job.
--perplexity: `zynpu.model.evaluate`'s comparison for int4-gguf policies packed with another int4
group than the tile's (numpy engine only): what a group of 32 would buy against its scale bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

import numpy as np

from zynpu.model.gguf_quants import DECODABLE, BlockCodes, decode
from zynpu.model.gguf_to_tile import mapping_error, to_int4, to_int8
from zynpu.model.w4a8 import quantize_weight_int4, weight_bytes
from zynpu.model.w8a8 import quantize_rows


def _float_errors(ref: np.ndarray, approx: np.ndarray) -> dict[str, float]:
    err = np.abs(approx.astype(np.float64) - ref)
    return {
        "max_abs": float(err.max()),
        "mean_abs": float(err.mean()),
        "rel_rms": float(np.sqrt((err**2).mean() / max((ref**2).mean(), 1e-30))),
    }


def tensor_rows(bc: BlockCodes) -> dict[str, dict[str, Any]]:
    """Every mapping of one tensor: native ones with their exactness, float ones as the baseline."""
    ref = bc.dequantize().astype(np.float64)
    n, k = bc.shape
    out: dict[str, dict[str, Any]] = {"int8 native": vars(mapping_error(bc, to_int8(bc)))}
    q, s = quantize_rows(bc.dequantize())
    via8 = _float_errors(ref, q * s[:, None].astype(np.float64))
    out["int8 via float"] = via8 | {"stream_bits_per_param": 8.0}
    if bc.codes.min() >= -8 and bc.codes.max() <= 7:
        for group in (64, 32):
            out[f"int4 g{group} native"] = vars(mapping_error(bc, to_int4(bc, group)))
    for group in (64, 32):
        q4, s4, r4 = quantize_weight_int4(bc.dequantize(), group)
        approx = np.repeat(s4.astype(np.float64), group, axis=1)[:, :k] * q4 * r4[:, None]
        bits = 8 * weight_bytes(n, k, group) / (n * k)
        out[f"int4 g{group} via float"] = _float_errors(ref, approx) | {"stream_bits_per_param": bits}
    return out


def _merge(rows: list[tuple[int, dict[str, dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """Weighted means over tensors (by parameter count), maxima for max_abs, all() for exact."""
    total = sum(size for size, _ in rows)
    merged: dict[str, dict[str, Any]] = defaultdict(dict)
    for size, row in rows:
        for mapping, stats in row.items():
            m = merged[mapping]
            for key, value in stats.items():
                if key == "max_abs":
                    m[key] = max(m.get(key, 0.0), value)
                elif key == "exact":
                    m[key] = m.get(key, True) and value
                elif key == "rel_rms":  # mean of squares, weighted
                    m[key] = m.get(key, 0.0) + value**2 * size / total
                else:
                    m[key] = m.get(key, 0.0) + value * size / total
    for m in merged.values():
        m["rel_rms"] = float(np.sqrt(m["rel_rms"]))
    return dict(merged)


def report(path: str, rows_per_tensor: int) -> dict[str, Any]:
    import gguf

    from zynpu.model.gguf_file import read_gguf

    file = read_gguf(path)
    by_type: dict[str, list[tuple[int, dict[str, dict[str, Any]]]]] = defaultdict(list)
    tensors: dict[str, int] = defaultdict(int)
    for t in file.tensors:
        if t.qtype not in DECODABLE or len(t.shape) != 2:
            continue
        raw = t.data[:rows_per_tensor]
        shape = (int(raw.shape[0]), int(t.shape[1]))
        bc = decode(raw, t.qtype, shape)
        by_type[t.qtype.name].append((bc.codes.size, tensor_rows(bc)))
        tensors[t.qtype.name] += 1
        if t.qtype == gguf.GGMLQuantizationType.Q4_K:  # the same values as Q4_0 (gguf's quantizer)
            q40 = gguf.GGMLQuantizationType.Q4_0
            again = decode(gguf.quants.quantize(bc.dequantize(), q40), q40, shape)
            by_type["Q4_0 (from the Q4_K tensors)"].append((again.codes.size, tensor_rows(again)))
            tensors["Q4_0 (from the Q4_K tensors)"] += 1
        file.release(t.data)
    return {name: {"tensors": tensors[name], "mappings": _merge(rows)} for name, rows in by_type.items()}


def _host_cost(path: str, repeat: int = 200) -> int:
    """Process time (best and median of `repeat`) of the offsets and the job, one token, per Q4_K shape."""
    import time

    from zynpu.model.engine import NumpyEngine
    from zynpu.model.gguf_file import read_gguf
    from zynpu.model.gguf_native import NativeLinear
    from zynpu.model.w4a8 import int4_group
    from zynpu.model.w8a8 import quantize_activation

    def timed(fn: Any) -> tuple[float, float]:
        spent = []
        for _ in range(repeat):
            start = time.process_time()
            fn()
            spent.append(time.process_time() - start)
        return 1e6 * min(spent), 1e6 * float(np.median(spent))

    shapes: dict[tuple[int, ...], Any] = {}
    for t in read_gguf(path).tensors:
        if t.qtype.name == "Q4_K" and t.shape not in shapes:
            shapes[t.shape] = t
    result = {}
    for shape, t in shapes.items():
        lin = NativeLinear([to_int4(decode(t.data, t.qtype, t.shape), int4_group())], NumpyEngine())
        x = np.random.default_rng(0).standard_normal((1, shape[1])).astype(np.float32)
        xq, _ = quantize_activation(x)
        off = lin.offsets[0][2]
        result[t.name] = {
            "shape": list(shape),
            "offsets_us_best_median": timed(lambda off=off, xq=xq: off.correction(xq)),
            "engine_job_us_best_median": timed(lambda lin=lin, xq=xq: lin.engine.matmul(xq, lin.handle)),
        }
    print(json.dumps(result, indent=1))
    return 0


def _perplexity(model: str, group: int, policies: tuple[str, ...], max_tokens: int) -> int:
    """evaluate.compare with the int4-gguf sites packed at `group` (a measurement, not a tile format)."""
    from dataclasses import asdict

    from zynpu.model import gguf_native
    from zynpu.model.evaluate import compare
    from zynpu.model.load import read_checkpoint, resolve
    from zynpu.model.smooth import calibration_text
    from zynpu.model.testmodels import sample_text

    cfg, weights, tok = read_checkpoint(resolve(model))
    ids = np.array(tok.encode(sample_text())[:max_tokens])
    calib = np.array(tok.encode(calibration_text()))
    gguf_native.GROUP_OVERRIDE = group
    try:
        r = compare(cfg.replace(max_position=len(ids)), weights, ids, calib_ids=calib, policies=policies)
    finally:
        gguf_native.GROUP_OVERRIDE = None
    print(json.dumps(asdict(r) | {"int4_gguf_group": group}, indent=1))
    head = f"{model}: {r.tokens} tokens, perplexity float32 {r.ppl_float:.3f}, int4-gguf group {group}"
    print(head, file=sys.stderr)
    for name, q in (r.policies or {}).items():
        print(
            f"  {name:12s} perplexity {q.ppl:.3f} ({100 * q.ppl_rel_change:+.2f}%), "
            f"{q.weight_bytes_per_token / 1e6:.1f} MB weights/token "
            f"({q.weight_bits_per_param:.3f} bits/param)",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    from zynpu.model.load import resolve

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--rows", type=int, default=4096, help="rows read per tensor (the 262k-row embedding)")
    p.add_argument("--perplexity", action="store_true", help="perplexity of int4-gguf policies at --group")
    p.add_argument("--group", type=int, default=32, help="int4 group for --perplexity (numpy engine)")
    p.add_argument("--policy", action="append", default=None, help="policies for --perplexity")
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--host-cost", action="store_true", help="CPU time of the host offsets per job")
    args = p.parse_args(argv)
    if args.host_cost:
        return _host_cost(str(resolve(args.model)))
    if args.perplexity:
        chosen = tuple(args.policy or ("gguf-o4", "gguf-native"))
        return _perplexity(args.model, args.group, chosen, args.max_tokens)
    result = report(str(resolve(args.model)), args.rows)
    print(json.dumps(result, indent=1))
    for qtype, entry in result.items():
        print(f"{qtype} ({entry['tensors']} tensors)", file=sys.stderr)
        for mapping, s in entry["mappings"].items():
            exact = {True: "exact", False: "not exact"}.get(s.get("exact"), "")  # type: ignore[arg-type]
            copied = f" codes copied {100 * s['codes_copied']:.1f}%" if "codes_copied" in s else ""
            print(
                f"  {mapping:20s} max {s['max_abs']:.2e} mean {s['mean_abs']:.2e} rel rms {s['rel_rms']:.4f} "
                f"{s['stream_bits_per_param']:.3f} bits/param streamed{copied} {exact}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
