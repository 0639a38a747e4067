"""Validate the float32 forward against llama.cpp (llama-cpp-python) on the same GGUF file.

    python -m zynpu.model.validate [--model gemma3-270m] [--tokens 256] [--min-agreement 0.99]

Both run the committed sample text tokenized by llama.cpp; the check is top-1 next-token agreement.
The script also reports whether this package's tokenizer produces the same ids as llama.cpp's.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def llama_cpp_logits(path: str, ids: list[int]) -> np.ndarray:
    """Logits at every position from llama.cpp (CPU, its own quantized kernels)."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=path,
        n_ctx=max(512, len(ids) + 8),
        n_batch=len(ids),
        n_ubatch=len(ids),
        logits_all=True,
        verbose=False,
        seed=0,
    )
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def llama_cpp_tokenize(path: str, text: str) -> list[int]:
    from llama_cpp import Llama

    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    return list(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))


def main(argv: list[str] | None = None) -> int:
    from zynpu.model.evaluate import all_logits
    from zynpu.model.load import load_weights, resolve
    from zynpu.model.testmodels import sample_text
    from zynpu.model.transformer import Transformer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gemma3-270m")
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--min-agreement", type=float, default=0.99)
    args = p.parse_args(argv)
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("llama-cpp-python is not installed: pip install llama-cpp-python", file=sys.stderr)
        return 2
    path = resolve(args.model)
    if path.is_dir():
        print("llama.cpp validation needs a GGUF file", file=sys.stderr)
        return 2
    text = sample_text()
    cfg, weights, tok = load_weights(path)
    ref_ids = llama_cpp_tokenize(str(path), text)
    ours = tok.encode(text)
    ids = ref_ids[: args.tokens]
    if len(ids) < args.tokens:
        print(f"sample text has only {len(ids)} tokens", file=sys.stderr)
        return 2
    theirs = llama_cpp_logits(str(path), ids)
    model = Transformer(cfg.replace(max_position=len(ids)), weights, None, progress=False)
    mine = all_logits(model, np.array(ids))
    agree = float((mine.argmax(1) == theirs.argmax(1)).mean())
    result = {
        "tokens": len(ids),
        "tokenizer_identical": ours == ref_ids,
        "tokenizer_first_diff": next(
            (i for i, (a, b) in enumerate(zip(ours, ref_ids, strict=False)) if a != b),
            None if len(ours) == len(ref_ids) else min(len(ours), len(ref_ids)),
        ),
        "top1_agreement": agree,
        "max_abs_logit_diff": float(np.abs(mine - theirs).max()),
        "mean_abs_logit_diff": float(np.abs(mine - theirs).mean()),
    }
    print(json.dumps(result, indent=1))
    ok = agree >= args.min_agreement
    print(
        f"{args.model}: top-1 agreement with llama.cpp {100 * agree:.2f}% over {len(ids)} tokens "
        f"(need {100 * args.min_agreement:.0f}%) -> {'PASS' if ok else 'FAIL'}",
        file=sys.stderr,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
