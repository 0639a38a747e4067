"""`zynpu generate`: stream tokens from a model; `make_engine` is the hook for NPU-backed engines."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

ENGINE_CHOICES = ("float", "numpy")  # host-side engines; the NPU is chosen with --device


def register(
    subparsers: Any,
    engine_factory: Callable[[str], Any] | None = None,
    engine_choices: tuple[str, ...] = ENGINE_CHOICES,
) -> None:
    """Add `generate`; pass `engine_factory`/`engine_choices` to offer more engines (e.g. sim, board)."""
    p = subparsers.add_parser(
        "generate",
        help="generate text with a quantized transformer",
        description="Stream tokens from a GGUF file, HF folder, gemma3-270m or tiny-<family>.",
    )
    p.add_argument("--model", required=True, help="path, 'gemma3-270m' or 'tiny-<qwen2|qwen3|llama|gemma3>'")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--device",
        choices=("sim", "ref", "board"),
        default=None,
        help="run every linear layer on the NPU through this device (default: $ZYNPU_DEVICE, else sim)",
    )
    p.add_argument(
        "--engine",
        choices=engine_choices,
        default=None,
        help="run the linear layers on the host instead: numpy (exact int8 W8A8) or float (float32)",
    )
    p.add_argument("--stats", action="store_true", help="print tokens/s and engine traffic to stderr")
    p.set_defaults(func=lambda args: run_generate(args, engine_factory))


def run_generate(args: argparse.Namespace, engine_factory: Callable[[str], Any] | None = None) -> int:
    from zynpu.errors import UserError
    from zynpu.model.engine import make_engine
    from zynpu.model.errors import ContextOverflowError, ModelLoadError
    from zynpu.model.generate import Sampler, generate, stream_text
    from zynpu.model.load import load

    if args.max_tokens < 1:
        raise UserError("--max-tokens must be >= 1")
    if not 0.0 < args.top_p <= 1.0 or args.top_k < 0 or args.temperature < 0:
        raise UserError("need --temperature >= 0, --top-k >= 0 and 0 < --top-p <= 1")
    try:
        from zynpu.device.select import device_name

        engine = (engine_factory or make_engine)(args.engine or device_name(args.device))
        model, tok = load(args.model, engine=engine, progress=sys.stderr.isatty())
    except (ModelLoadError, ValueError) as e:
        raise UserError(str(e)) from None
    prompt = tok.encode(args.prompt)
    sampler = Sampler(args.temperature, args.top_k, args.top_p, args.seed)
    t0 = time.perf_counter()
    produced: list[int] = []
    tokens = generate(
        model,
        prompt,
        args.max_tokens,
        sampler,
        stop=model.cfg.eos_token_ids,
        cache=model.new_cache(len(prompt) + args.max_tokens),
    )
    try:
        for piece in stream_text(tok, (produced.append(t) or t for t in tokens)):
            sys.stdout.write(piece)
            sys.stdout.flush()
    except ContextOverflowError as e:
        raise UserError(str(e)) from None
    sys.stdout.write("\n")
    if args.stats:
        dt, n = time.perf_counter() - t0, len(produced)
        s = model.engine_stats()
        print(
            f"{n} tokens in {dt:.2f} s ({n / dt:.2f} tok/s incl. prefill of {len(prompt)}); engine jobs "
            f"{s.jobs}, {s.total_bytes / 1e6:.1f} MB streamed",
            file=sys.stderr,
        )
    return 0
