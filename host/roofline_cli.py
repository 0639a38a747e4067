"""`zynpu roofline`: predicted decode tokens/s of a model on a board, the bound, and a plot."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path


def cmd_roofline(args: argparse.Namespace) -> int:
    from .errors import UserError
    from .model.errors import ModelLoadError
    from .model.precision import policy
    from .roofline import board_spec, model_config, plot, predict
    from .tile.manifest import load_manifest

    try:
        cfg = model_config(args.model)
        board = board_spec(args.board)
    except (ModelLoadError, OSError, ValueError) as error:
        raise UserError(str(error)) from None
    try:
        precision = policy(args.policy)
    except ValueError as error:
        raise UserError(f"{error}; choose one with --policy") from None
    if args.clock_mhz:
        board = replace(board, clock_mhz=args.clock_mhz)
    if args.ports:
        board = board.with_ports(args.ports)
    manifest = load_manifest()
    p = predict(
        cfg,
        board,
        manifest,
        host_job_s=args.host_job_us * 1e-6,
        host_token_s=args.host_token_us * 1e-6,
        context=args.context,
        precision=precision,
    )
    if args.json:
        print(json.dumps(p.as_dict(), sort_keys=True))
    else:
        head = f"tile R={manifest.rows}, L={manifest.lanes}"
        print(
            f"{args.model} on {board.name} @ {board.clock_mhz:g} MHz ({head}, {p.weight_ports} weight ports)"
        )
        kv = f"{p.kv_bytes / 1e6:.2f} MB KV cache (context {args.context})"
        acts = f"{p.activation_bytes / 1e3:.1f} kB activations"
        print(f"  per token: {p.tile_jobs} tile jobs, {p.weight_bytes / 1e6:.2f} MB weights, {acts}, {kv}")
        bits = f"{p.weight_bits_per_param:.2f} bits per weight, policy {args.policy}"
        tile = f"{p.npu_cycles} cycles = {p.npu_seconds * 1e3:.3f} ms (one beat per cycle a port)"
        print(f"  tile: {tile}; {bits}")
        sustained = f"{board.sustained_gbytes_per_s:.1f} GB/s sustained of {board.ddr_gbytes_per_s:g} peak"
        print(f"  DDR:  {p.ddr_seconds * 1e3:.3f} ms at {sustained}")
        share = f"{p.host_time_share:.0%} of the token"
        host = f"{args.host_job_us:g} us per job, {args.host_token_us:g} us between jobs per token"
        print(f"  host: {p.host_seconds * 1e3:.3f} ms ({host}) = {share}")
        fraction = f"{p.ddr_roofline_fraction:.3f} of sustained DDR, {p.ddr_peak_fraction:.3f} of peak"
        print(f"  => {p.tokens_per_second:.2f} tokens/s ({fraction}); bound by {p.bound}")
    if args.plot:
        measured = None
        if args.measured and Path(args.measured).exists():
            measured = json.loads(Path(args.measured).read_text()).get("decode")
        try:
            print(f"wrote {plot(Path(args.plot), cfg, board, manifest, measured, Path(args.model).name)}")
        except ModuleNotFoundError as error:
            raise UserError(f"--plot needs matplotlib (pip install 'zynpu[plot]'): {error}") from None
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from .cli_options import add_json, non_negative_float, positive_float, positive_int
    from .overlays.build_overlay import BOARDS
    from .roofline import DEFAULT_CONTEXT, DEFAULT_HOST_JOB_S

    p = subparsers.add_parser(
        "roofline",
        help="predict decode tokens/s of a model on a board from first principles",
        description="Bytes per token (weights, activations, KV cache), the board's DDR and HP-port "
        "bandwidth, the tile's clock, rows and lanes, and the host's cost per tile job.",
    )
    p.add_argument("--model", required=True, help="GGUF file, HF folder, gemma3-270m or tiny-<family>")
    p.add_argument("--board", choices=BOARDS, default="kv260", help="the board whose DDR and clock apply")
    p.add_argument(
        "--clock-mhz", type=positive_float, default=None, help="override the board's tile clock target"
    )
    p.add_argument(
        "--host-job-us",
        type=non_negative_float,
        default=DEFAULT_HOST_JOB_S * 1e6,
        help="host cost per tile job (microseconds)",
    )
    p.add_argument(
        "--host-token-us",
        type=non_negative_float,
        default=0.0,
        help="host work between jobs per token on the board's CPU (microseconds)",
    )
    p.add_argument("--ports", type=positive_int, default=None, help="weight ports (default: the board's)")
    p.add_argument("--policy", default="w8a8", help="weight precision per site: w8a8, w4a8, ...")
    p.add_argument("--context", type=positive_int, default=DEFAULT_CONTEXT, help="tokens in the KV cache")
    p.add_argument("--plot", help="write a roofline plot (PNG) here")
    p.add_argument("--measured", default="results/bench.json", help="bench results with measured points")
    add_json(p, "the prediction")
    p.set_defaults(func=cmd_roofline)
