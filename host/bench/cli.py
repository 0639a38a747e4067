"""`zynpu bench`: measure, print one JSON object (`--json`) or a table, optionally save it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _tile(args: argparse.Namespace) -> dict[str, Any]:
    from ..device.select import device_name
    from .tile import run

    return run(device_name(args.device))


def _device(args: argparse.Namespace) -> dict[str, Any]:
    from .device import run

    return run(cocotb=not args.no_cocotb, ports=args.ports or (1,), formats=args.format)


def _port_counts(text: str) -> tuple[int, ...]:
    """--ports: one count (decode) or a comma list (device: one configuration per count)."""
    from ..cli_options import positive_int

    return tuple(positive_int(part) for part in text.split(","))


def _weight_formats(text: str) -> tuple[str, ...]:
    """--format: the tile's weight formats to time, named as in the manifest (int8, int4)."""
    from ..tile.manifest import load_manifest

    known = load_manifest().weight_formats
    chosen = tuple(part.strip() for part in text.split(","))
    bad = [f for f in chosen if f not in known]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of weight formats ({', '.join(known)})")
    return chosen


def _one_port_count(ports: tuple[int, ...] | None) -> int | None:
    if ports is None:
        return None
    if len(ports) != 1:
        from ..errors import UserError

        raise UserError("decode runs on one port count; give --ports P (a list is for `bench device`)")
    return ports[0]


def _radio(args: argparse.Namespace) -> dict[str, Any]:
    from ..radio.bench import run

    return run()


def _decode(args: argparse.Namespace) -> dict[str, Any]:
    from .decode import run

    return run(
        model=args.model,
        device_name=args.device,
        tokens=args.tokens,
        board=args.board,
        ports=_one_port_count(args.ports),
        policy=args.policy,
        repeat=args.repeat,
        profile=args.profile,
        host=args.host,
    )


def _agent(args: argparse.Namespace) -> dict[str, Any]:
    from ..agent.bench import run

    return run(device=args.device or "numpy")


def _agent_cost(args: argparse.Namespace) -> dict[str, Any]:
    from ..agent.cost import run
    from ..device.select import ENGINES, device_name

    return run(
        tasks=args.tasks,
        gemma_tasks=args.gemma_tasks,
        device=device_name(args.device or "ref", ENGINES),
        gemma_device=device_name(args.gemma_device, ENGINES),
        board=args.board,
    )


def _serve(args: argparse.Namespace) -> dict[str, Any]:
    from ..device.select import ENGINES, device_name
    from ..serve.bench import run

    return run(model=args.model or "tiny", device=device_name(args.device, ENGINES))


BENCHES: dict[str, tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "tile": ("decode stream efficiency and prefill MAC utilization, from RTL simulation", _tile),
    "device": ("simulator speed vs cocotb, and the Python driver's overhead", _device),
    "radio": ("SPI link payload efficiency and small-message rate on the simulated bus", _radio),
    "decode": (
        "transformer decode on the NPU: tokens/s, cycles and bytes per token, roofline error",
        _decode,
    ),
    "agent": ("agent under a 500-datagram flood: the other sender's wait, drops, memory, tokens/s", _agent),
    "agent-cost": (
        "agent task cost per model: tokens in/out, tokens/s and NPU cycles on ref, predicted board time",
        _agent_cost,
    ),
    "serve": ("zynpu serve at 1/2/4 clients: time to first token, tokens/s, queue rejections", _serve),
}


def _emit(name: str, result: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        from ..cli_options import format_value

        print(f"{name}:")
        width = max(map(len, result), default=0)
        for key, value in result.items():
            print(f"  {key:{width}s}  {format_value(value)}")
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing[name] = result
        path.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


def cmd_bench(args: argparse.Namespace) -> int:
    names = list(BENCHES) if args.bench == "all" else [args.bench]
    for name in names:
        print(f"zynpu bench {name} ...", file=sys.stderr, flush=True)
        _emit(name, BENCHES[name][1](args), args)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="measure the tile, the simulator, the radio link and decode",
        description="Each benchmark prints one JSON object with --json. Targets live in the docs, not in "
        "tests; `make bench` runs them all and writes results/bench.json.",
    )
    bench.add_argument("bench", choices=[*BENCHES, "all"], help="what to measure")
    from ..cli_options import add_device, add_json, positive_int
    from ..device.select import ENGINES
    from ..overlays.build_overlay import BOARDS

    add_json(bench, "one JSON object per benchmark")
    bench.add_argument("--out", help="also merge the results into this JSON file")
    add_device(bench, ENGINES, "runs the tile for tile/decode (serve: the model, host engines too)")
    bench.add_argument(
        "--model", default=None,
        help="decode: model path or name (default: the tiny test model); serve: tiny or gemma3-270m"
    )
    bench.add_argument("--tokens", type=positive_int, default=8, help="decode: tokens to generate")
    bench.add_argument(
        "--board",
        choices=BOARDS,
        default="kv260",
        help="decode, agent-cost: board for the roofline prediction",
    )
    bench.add_argument(
        "--ports", type=_port_counts, default=None,
        help="decode: weight ports (DMA + tile each) to run on; device: a list, e.g. 1,2,4 (default 1)"
    )
    bench.add_argument(
        "--format", type=_weight_formats, default=("int8",),
        help="device: weight formats to time, e.g. int8,int4 (default int8)"
    )
    bench.add_argument(
        "--policy", default="w8a8", help="decode: weight precision per site (zynpu.model.precision.POLICIES)"
    )
    bench.add_argument(
        "--tasks", type=positive_int, default=8, help="agent-cost: honest tasks for the tiny model"
    )
    bench.add_argument(
        "--gemma-tasks", type=int, default=2, help="agent-cost: honest tasks per Gemma model (0: none)"
    )
    bench.add_argument(
        "--gemma-device", default="numpy", help="agent-cost: where Gemma runs (numpy: exact int8 on the host)"
    )
    bench.add_argument(
        "--repeat", type=positive_int, default=1,
        help="decode: time the tokens this many times; host costs are the least CPU time, all runs listed"
    )
    bench.add_argument(
        "--profile", action="store_true",
        help="decode: also profile the tokens (cProfile) and report host time per stage (us per token)"
    )
    bench.add_argument(
        "--host", choices=("python", "native"), default="python",
        help="decode: the host loop in Python (default) or one C call per token (zynpu.native, ref ports)"
    )
    bench.add_argument("--no-cocotb", action="store_true", help="device: skip the cocotb comparison")
    bench.epilog = "\n".join(f"  {name:8s} {text}" for name, (text, _) in BENCHES.items())
    bench.formatter_class = argparse.RawDescriptionHelpFormatter
    bench.set_defaults(func=cmd_bench)
