"""`zynpu demo`: the main job, on the RTL simulator unless told otherwise.

1. A random int8 matmul through the tile, checked bit-exact against the reference model, with the
   tile's cycles and utilization from its own performance counters.
2. Decode of a small transformer with every linear layer on the NPU, tokens streamed as produced.
3. The agent loop: a datagram arrives at the simulated ESP32, the agent wakes, decides with its own
   tiny model on the NPU, calls tools and answers over the radio; its trace is printed.
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
    print(f"    {wall * 1e3:.1f} ms of wall time (simulator speed: `zynpu bench device`)")
    return exact


def decode_demo(device_name: str | None, model: str, tokens: int, prompt: str) -> bool:
    from .device import open_device
    from .model.engine import NumpyEngine
    from .model.generate import generate, stream_text
    from .model.load import load
    from .npu import Npu
    from .roofline import board_spec, predict

    device = open_device(device_name)
    npu = Npu(device)
    print(f"\n[2] decode of {model} with every linear layer on the {device.name} device (W8A8)")
    transformer, tokenizer = load(model, engine=npu, progress=sys.stderr.isatty())
    ids = tokenizer.encode(prompt)
    print(f"    prompt: {prompt!r} ({len(ids)} tokens, prefilled as one GEMM pass)")
    print("    token ids as they are produced: ", end="", flush=True)
    produced: list[int] = []
    start_cycles, start = npu.total.cycles, time.perf_counter()
    for token in generate(transformer, ids, tokens, stop=transformer.cfg.eos_token_ids):
        produced.append(token)
        print(token, end=" ", flush=True)
    wall = time.perf_counter() - start
    print(f"\n    as text: {''.join(stream_text(tokenizer, iter(produced)))!r}")
    if model.startswith("tiny-"):
        print("    (a generated test model with random weights: the text is noise, the arithmetic is not)")
    cycles = npu.total.cycles - start_cycles
    print(
        f"    {len(produced)} tokens in {wall:.1f} s of simulation; {cycles} tile cycles "
        f"({transformer.jobs_per_token} tile jobs per token)"
    )

    # The same greedy tokens from the host's exact int8 engine: the NPU must agree token for token.
    check, _ = load(model, engine=NumpyEngine(), progress=False)
    expected = list(generate(check, ids, tokens, stop=check.cfg.eos_token_ids))
    same = expected == produced
    print(f"    tokens identical to the host int8 engine: {'yes' if same else 'NO'}")
    board = board_spec("kv260")
    p = predict(transformer.cfg, board, npu.manifest, context=len(ids) + len(produced))
    print(
        f"    on a KV260 at {board.clock_mhz:g} MHz: {p.tokens_per_second:.0f} tokens/s predicted "
        f"(bound: {p.bound}); `zynpu roofline --model {model}` explains"
    )
    return same


def agent_demo(device_name: str | None) -> bool:
    from .agent import demo
    from .device.select import device_name as chosen

    print(
        "\n[3] the agent: a datagram wakes it on the simulated ESP32; it decides on the NPU, answers by radio"
    )
    return bool(demo.run(chosen(device_name)))


def cmd_demo(args: argparse.Namespace) -> int:
    ok = matmul_demo(args.device, args.m, args.k, args.n, args.seed)
    if not args.matmul_only:
        ok = decode_demo(args.device, args.model, args.tokens, args.prompt) and ok
        ok = agent_demo(args.device) and ok
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
    demo.add_argument("--prompt", default="An edge agent chip", help="prompt for the decode part")
    demo.add_argument("--matmul-only", action="store_true", help="skip the decode and agent parts")
    demo.set_defaults(func=cmd_demo)


if __name__ == "__main__":
    from .cli import main

    sys.exit(main(["demo", *sys.argv[1:]]))
