"""`zynpu generate`: stream tokens from a model; `make_engine` is the hook for NPU-backed engines."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

ENGINE_CHOICES: tuple[str, ...] | None = None  # None: every name of the registry (zynpu.device.select)


def _top_p(text: str) -> float:
    from zynpu.cli_options import _number

    return _number(float, lambda v: 0.0 < v <= 1.0, "a number in (0, 1]")(text)


def register(
    subparsers: Any,
    engine_factory: Callable[[str], Any] | None = None,
    engine_choices: tuple[str, ...] | None = ENGINE_CHOICES,
) -> None:
    """Add `generate`; `engine_factory`/`engine_choices` replace the registry's engines (tests inject one)."""
    from zynpu.cli_options import (
        add_device,
        add_engine_device,
        add_json,
        add_tokens,
        hidden_alias,
        non_negative_float,
        non_negative_int,
        nonempty_text,
    )

    p = subparsers.add_parser(
        "generate",
        help="generate text with a quantized transformer (gemma3-270m, a GGUF file, an HF folder)",
        description="Stream tokens from a GGUF file, HF folder, gemma3-270m or tiny-<family>.\n"
        "On the sim device every token is simulated cycle by cycle (Gemma 3 270M: ~13 s per token);\n"
        "--device numpy runs the same int8 arithmetic on the host CPU (~10 tokens/s).",
    )
    p.add_argument("--model", required=True, help="path, 'gemma3-270m' or 'tiny-<qwen2|qwen3|llama|gemma3>'")
    p.add_argument("--prompt", required=True, type=nonempty_text, help="the text to continue")
    add_tokens(p, 64, old="--max-tokens")
    p.add_argument("--temperature", type=non_negative_float, default=0.0, help="0 = greedy")
    p.add_argument("--top-k", type=non_negative_int, default=0, help="0 = no top-k cut")
    p.add_argument("--top-p", type=_top_p, default=1.0, help="nucleus mass in (0, 1]")
    p.add_argument("--seed", type=int, default=None, help="sampling seed (default: fresh)")
    if engine_choices is None:
        add_engine_device(p)
    else:
        add_device(p, engine_choices, "runs the model's linear layers")
        hidden_alias(p, "--engine", "device", choices=engine_choices)
    p.add_argument("--stats", action="store_true", help="print tokens/s and engine traffic to stderr")
    add_json(p, "the text, token ids and timing")
    p.set_defaults(func=lambda args: run_generate(args, engine_factory))


def run_generate(args: argparse.Namespace, engine_factory: Callable[[str], Any] | None = None) -> int:
    from zynpu.device.select import ENGINES, device_name
    from zynpu.errors import UserError
    from zynpu.estimate import warn_if_slow
    from zynpu.model.engine import close_engine, make_engine
    from zynpu.model.errors import ModelLoadError

    if args.tokens < 1:
        raise UserError("--tokens must be >= 1")
    if not args.prompt.strip():
        raise UserError("--prompt is empty; give the text to continue, e.g. --prompt 'Once upon a time'")
    name = device_name(args.device, ENGINES) if engine_factory is None else args.device or "sim"
    warn_if_slow(args.model, name, args.tokens)
    try:
        engine = (engine_factory or make_engine)(name)
    except (ModelLoadError, ValueError) as e:
        raise UserError(str(e)) from None
    try:
        return _generate(args, engine, name)
    finally:
        close_engine(engine)


def _generate(args: argparse.Namespace, engine: Any, name: str) -> int:
    from zynpu.errors import UserError
    from zynpu.model.errors import ContextOverflowError, ModelLoadError
    from zynpu.model.generate import Sampler, generate, stream_text
    from zynpu.model.load import load

    try:
        model, tok = load(args.model, engine=engine, progress=True)  # progress goes to stderr
    except (ModelLoadError, ValueError) as e:
        raise UserError(str(e)) from None
    prompt = tok.encode(args.prompt)
    sampler = Sampler(args.temperature, args.top_k, args.top_p, args.seed)
    t0 = time.perf_counter()
    produced: list[int] = []
    tokens = generate(
        model,
        prompt,
        args.tokens,
        sampler,
        stop=model.cfg.eos_token_ids,
        cache=model.new_cache(len(prompt) + args.tokens),
    )
    pieces: list[str] = []
    try:
        for piece in stream_text(tok, (produced.append(t) or t for t in tokens)):
            pieces.append(piece)
            if not args.json:
                sys.stdout.write(piece)
                sys.stdout.flush()
    except ContextOverflowError as e:
        raise UserError(str(e)) from None
    dt, n = time.perf_counter() - t0, len(produced)
    if args.json:
        import json

        report = {
            "model": args.model, "device": name, "prompt": args.prompt, "text": "".join(pieces),
            "token_ids": produced, "prompt_tokens": len(prompt), "tokens": n, "seconds": dt,
            "tokens_per_second": n / dt if dt else None,
        }  # fmt: skip
        print(json.dumps(report))
    else:
        sys.stdout.write("\n")
    if args.stats:
        s = model.engine_stats()
        print(
            f"{n} tokens in {dt:.2f} s ({n / dt:.2f} tok/s incl. prefill of {len(prompt)}); engine jobs "
            f"{s.jobs}, {s.total_bytes / 1e6:.1f} MB streamed",
            file=sys.stderr,
        )
    return 0
