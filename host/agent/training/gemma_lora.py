"""Train zynpu's LoRA adapter for Gemma 3 270M: `python -m zynpu.agent.training.gemma_lora`.

Data: the oracle's trajectories on the training task generator (`tasks.task_set("train", ...)`: the
hand-written training frames, the composed paraphrases and training memory keys; never the eval
file), rendered by the very prompt class the runtime uses (`fewshot.GemmaTunedPrompt`), loss on the
tokens the model writes. Model: the GGUF's dequantized weights through `torch_forward.LoraModel`,
LoRA (rank r) on q, k, v, o, gate, up and down of every layer. Output: adapter.npz (float16) and
adapter.json with the training record. CPU or CUDA; seeded data, init and batch order.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zynpu.agent.training.examples import Examples, cached_examples
from zynpu.agent.training.torch_forward import TARGETS, LoraModel


@torch.no_grad()
def validate(
    model: LoraModel, examples: Examples, pad: int, dev: torch.device, batch: int = 64
) -> dict[str, float]:
    """Teacher-forced on the validation split: mean loss on the written tokens, and the share of
    trajectories whose every written token is the model's first choice (= greedy decoding would
    write the oracle's trajectory, given the same tool results)."""
    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    exact, loss_sum, n_tok = 0, 0.0, 0
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    for c in range(0, len(order), batch):
        idx = order[c : c + batch]
        ids, mask = padded(examples, idx, pad)
        ids, mask = ids.to(dev), mask.to(dev)
        with torch.autocast(dev.type, dtype=dtype, enabled=dev.type == "cuda"):
            hidden = model(ids)[:, :-1]
            sel = mask[:, 1:]
            logits = model.logits(hidden[sel]).float()
        target = ids[:, 1:][sel]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        n_tok += int(sel.sum())
        right = torch.zeros_like(sel)
        right[sel] = logits.argmax(-1) == target
        exact += int(((right | ~sel).all(dim=1)).sum())
    model.train()
    return {"exact": round(exact / len(examples), 4), "loss": round(loss_sum / max(1, n_tok), 5)}


def padded(examples: list[tuple[list[int], list[int]]], idx: list[int], pad: int):  # type: ignore[no-untyped-def]
    """Token ids and loss mask of the examples `idx`, right-padded to their longest: [B, T] each."""
    t = max(len(examples[i][0]) for i in idx)
    ids = torch.full((len(idx), t), pad, dtype=torch.long)
    mask = torch.zeros((len(idx), t), dtype=torch.bool)
    for r, i in enumerate(idx):
        e, m = examples[i]
        ids[r, : len(e)] = torch.tensor(e)
        mask[r, : len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, mask


def batches(examples: list[tuple[list[int], list[int]]], batch: int, steps: int, seed: int, pad: int):  # type: ignore[no-untyped-def]
    """Length-bucketed random batches, padded to their longest example."""
    rng = random.Random(seed)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    chunks = [order[i : i + batch] for i in range(0, len(order), batch)]
    for _ in range(steps):
        yield padded(examples, rng.choice(chunks), pad)


def train(args: argparse.Namespace) -> dict[str, Any]:
    from zynpu.model.load import read_checkpoint, resolve

    torch.manual_seed(args.seed)
    dev = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
    cfg, weights, tok = read_checkpoint(resolve(args.base))
    examples, t_data = cached_examples(tok, args.examples, args.tasks, args.seed)
    val, t_val = cached_examples(tok, args.val_examples, args.val_tasks, args.seed, "val")
    if args.build_only:
        print(
            json.dumps(
                {
                    "examples": len(examples),
                    "data_seconds": round(t_data, 1),
                    "val_examples": len(val),
                    "val_seconds": round(t_val, 1),
                }
            ),
            flush=True,
        )
        return {}
    lengths = [len(e) for e, _ in examples]
    print(
        json.dumps({"examples": len(examples), "mean_tokens": round(sum(lengths) / len(lengths), 1)}),
        flush=True,
    )
    model = LoraModel(
        cfg, weights, args.rank, args.alpha, max_len=max(len(e) for e, _ in examples) + 1, seed=args.seed
    ).to(dev)
    opt = torch.optim.AdamW(model.lora.parameters(), lr=args.lr, weight_decay=0.0)
    t1 = time.time()

    def progress(s: int) -> float:
        """How far training is: by steps, or by time when --max-seconds will stop it first, so
        the learning rate has decayed when training stops either way."""
        by_time = (time.time() - t1) / args.max_seconds if args.max_seconds else 0.0
        return min(1.0, max(s / args.steps, by_time))

    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * max(0.05, 1 - progress(s))
    )
    pad = cfg.eos_token_ids[0] if cfg.eos_token_ids else 0
    ema, log, val_log = None, [], []
    best: tuple[tuple[float, float], int, dict[str, np.ndarray]] | None = None

    def check(step: int) -> None:
        """Score the validation split and keep the best adapter so far (most exact, then lowest loss)."""
        nonlocal best
        v = validate(model, val, pad, dev)
        val_log.append({"step": step, **v})
        print(json.dumps({"val": val_log[-1]}), flush=True)
        key = (v["exact"], -v["loss"])
        if best is None or key > best[0]:
            best = (key, step, model.adapter())

    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    steps_done = 0
    for step, (ids, mask) in enumerate(batches(examples, args.batch, args.steps, args.seed, pad)):
        if args.max_seconds and time.time() - t1 > args.max_seconds:
            print(json.dumps({"stopped_at_step": step, "max_seconds": args.max_seconds}), flush=True)
            break
        if args.val_every and step and step % args.val_every == 0:
            check(step)
        ids, mask = ids.to(dev), mask.to(dev)
        with torch.autocast(dev.type, dtype=dtype, enabled=dev.type == "cuda"):
            hidden = model(ids)
            sel = mask[:, 1:]  # predict token t+1 from position t where t+1 is written by the model
            logits = model.logits(hidden[:, :-1][sel])
        loss = F.cross_entropy(logits.float(), ids[:, 1:][sel])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.lora.parameters(), 1.0)
        opt.step()
        sched.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        steps_done = step + 1
        if step % args.log_every == 0 or step == args.steps - 1:
            log.append({"step": step, "loss": round(loss.item(), 5), "ema": round(ema, 5)})
            print(json.dumps(log[-1]), flush=True)
    t_train = time.time() - t1
    check(steps_done)
    assert best is not None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "adapter.npz", **best[2])
    record = {
        "base": args.base,
        "rank": args.rank,
        "alpha": args.alpha,
        "targets": list(TARGETS),
        "prompt": "fewshot.GemmaTunedPrompt",
        "training": {
            "command": "python -m zynpu.agent.training.gemma_lora " + " ".join(args.argv),
            "seed": args.seed,
            "tasks": args.tasks,
            "written_tokens": int(sum(sum(m) for _, m in examples)),
            "tokens": int(sum(len(e) for e, _ in examples)),
            "steps": steps_done,
            "steps_planned": args.steps,
            "batch": args.batch,
            "lr": args.lr,
            "final_loss_ema": round(ema or 0.0, 5),
            "loss_log": log,
            "validation": {
                "split": "tasks.task_set('val', n, seed): training/valsplit.py's held-out frames and words",
                "tasks": args.val_tasks,
                "metric": "teacher-forced: exact = every written token is the top choice; loss per token",
                "log": val_log,
                "chosen_step": best[1],
                "chosen": next(v for v in val_log if v["step"] == best[1]),
            },
            "data_seconds": round(t_data, 1),
            "train_seconds": round(t_train, 1),
            "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__,
        },
    }
    (out / "adapter.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    import sys

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", default="gemma3-270m", help="model reference (zynpu.model.load.resolve)")
    p.add_argument("--out", default=str(Path(__file__).parents[1] / "adapter"))
    p.add_argument("--tasks", type=int, default=20000)
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--cpu", action="store_true")
    p.add_argument("--examples", default=None, help="cache file for the tokenized trajectories")
    p.add_argument(
        "--val-tasks", type=int, default=1000, help="validation trajectories (training/valsplit.py)"
    )
    p.add_argument(
        "--val-examples", default=None, help="cache file for the tokenized validation trajectories"
    )
    p.add_argument(
        "--val-every",
        type=int,
        default=250,
        help="score the validation split every N steps (0: at the end only)",
    )
    p.add_argument("--build-only", action="store_true", help="build (and cache) the data, do not train")
    p.add_argument("--max-seconds", type=float, default=0.0, help="stop training after this long (0: never)")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    train(args)


if __name__ == "__main__":
    main()
