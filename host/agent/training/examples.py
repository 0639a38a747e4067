"""The training data as token ids: the oracle's trajectories rendered by the runtime's own prompt
class, with a mask of the tokens the model writes. No torch here, so the data can be built (and
cached as one npz) on a machine without it: `python -m zynpu.agent.training.examples`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def build_examples(tok: Any, n: int, seed: int, split: str = "train") -> list[tuple[list[int], list[int]]]:
    """(token ids, 1 where the model writes) for n trajectories of the training (or validation) split."""
    from zynpu.agent.fewshot import GemmaTunedPrompt
    from zynpu.agent.tasks import run_oracle, task_set

    fmt = GemmaTunedPrompt(tok)
    out = []
    for task in task_set(split, n, seed):
        ids = fmt.start(task.event)
        mask = [0] * len(ids)
        for text, result in run_oracle(task):
            w = fmt.written(text)
            ids, mask = ids + w, mask + [1] * len(w)
            if result is not None:
                r = fmt.result(result)
                ids, mask = ids + r, mask + [0] * len(r)
        out.append((ids, mask))
    return out


Examples = list[tuple[list[int], list[int]]]


def save_examples(path: Path, examples: Examples, n: int, seed: int, secs: float) -> None:
    """The tokenized trajectories as one compressed npz (built once, e.g. on a CPU, trained on elsewhere)."""
    lengths = np.array([len(e) for e, _ in examples], dtype=np.int64)
    np.savez_compressed(
        path,
        ids=np.concatenate([np.asarray(e, dtype=np.int32) for e, _ in examples]),
        mask=np.concatenate([np.asarray(m, dtype=np.uint8) for _, m in examples]),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        key=np.array([n, seed]),
        seconds=np.array(secs),
    )


def load_examples(path: Path, n: int, seed: int) -> tuple[Examples, float]:
    """save_examples' file back, checked to hold the data of these arguments."""
    d = np.load(path)
    if d["key"].tolist() != [n, seed]:
        raise SystemExit(f"{path} holds other data {d['key'].tolist()}; delete it or pass another path")
    ids, mask, off = d["ids"].tolist(), d["mask"].tolist(), d["offsets"].tolist()
    return [(ids[a:b], mask[a:b]) for a, b in itertools.pairwise(off)], float(d["seconds"])


def cached_examples(
    tok: Any, path: str | None, n: int, seed: int, split: str = "train"
) -> tuple[Examples, float]:
    """build_examples, read from (or written to) the cache file `path` when one is named."""
    cached = Path(path) if path else None
    if cached is not None and cached.exists():  # built by an earlier --build-only run, same arguments
        return load_examples(cached, n, seed)
    t0 = time.time()
    examples = build_examples(tok, n, seed, split)
    secs = time.time() - t0
    if cached is not None:
        save_examples(cached, examples, n, seed, secs)
    return examples, secs


def main(argv: list[str] | None = None) -> None:
    from zynpu.model.load import read_checkpoint, resolve

    p = argparse.ArgumentParser(description="build and cache the tokenized trajectories of one split")
    p.add_argument("--base", default="gemma3-270m")
    p.add_argument("--split", default="train", choices=["train", "val"])
    p.add_argument("--tasks", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="npz file to write")
    args = p.parse_args(argv)
    _, _, tok = read_checkpoint(resolve(args.base))
    examples, secs = cached_examples(tok, args.out, args.tasks, args.seed, args.split)
    print(json.dumps({"examples": len(examples), "seconds": round(secs, 1)}))


if __name__ == "__main__":
    main()
