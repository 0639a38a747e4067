"""`zynpu demo`: the main job, on the RTL simulator unless told otherwise.

1. A random int8 matmul through the tile, checked bit-exact against the reference model, with the
   tile's cycles and utilization from its own performance counters.
2. Decode of a small transformer with every linear layer on the NPU, tokens streamed as produced.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def matmul_demo(device_name: str | None, m: int, k: int, n: int, seed: int) -> bool:
    from .device import open_device
    from .npu import Npu
    from .tile import reference

    device = open_device(device_name)
    npu = Npu(device)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    print(f"[1] matmul on the {device.name} device: X int8 ({m}x{k}) @ W.T int8 ({n}x{k}) -> int32")
    packed = npu.load_weights(w)
    start = time.perf_counter()
    y = npu.matmul(x, packed)
    wall = time.perf_counter() - start
    exact = bool(np.array_equal(y, reference.matmul(x, w)))
    stats = npu.last
    peak = npu.rows * npu.lanes
    print(f"    bit-exact vs numpy reference: {'yes' if exact else 'NO'}")
    print(f"    tile jobs {stats.jobs}, busy cycles {stats.cycles}, weight beats {stats.active}")
    print(f"    stream efficiency {stats.active / stats.cycles:.3f} weight beats/cycle (peak 1.0)")
    utilization = m * k * n / (peak * stats.cycles)
    print(f"    MAC utilization {utilization:.3f} of {peak} MACs/cycle (R={npu.rows}, L={npu.lanes})")
    if device.cycles is not None:
        print(f"    simulated {stats.cycles / wall / 1e6:.2f} M cycles/s of wall time")
    return exact


def cmd_demo(args: argparse.Namespace) -> int:
    ok = matmul_demo(args.device, args.m, args.k, args.n, args.seed)
    if not args.matmul_only:
        from .model.demo import decode_demo

        ok = decode_demo(args.device, args.model, args.tokens) and ok
    return 0 if ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="the main job: a matmul and a transformer decode on the NPU (RTL simulation by default)",
    )
    demo.add_argument("--device", default=None, help="sim (default, or $ZYNPU_DEVICE), ref or board")
    demo.add_argument("--m", type=int, default=8, help="token rows of the matmul (default 8)")
    demo.add_argument("--k", type=int, default=512, help="reduction length (default 512)")
    demo.add_argument("--n", type=int, default=256, help="output columns (default 256)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--model", default="tiny-qwen3", help="model for the decode part (default tiny-qwen3)")
    demo.add_argument("--tokens", type=int, default=16, help="tokens to generate (default 16)")
    demo.add_argument("--matmul-only", action="store_true", help="skip the decode part")
    demo.set_defaults(func=cmd_demo)


if __name__ == "__main__":
    from .cli import main

    sys.exit(main(["demo", *sys.argv[1:]]))
