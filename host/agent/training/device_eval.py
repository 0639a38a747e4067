"""Score a model on the honest eval with the exact int8 engine on a CUDA GPU (same outputs as the
host int8 engine and the NPU, faster): `python -m zynpu.agent.training.device_eval MODEL --out F`."""

from __future__ import annotations

import argparse
import json
import time

from zynpu.agent.evaluate import evaluate
from zynpu.agent.llm import load_llm
from zynpu.agent.training.cuda_engine import CudaEngine


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="gemma3-270m, gemma3-270m+lora or a model folder")
    p.add_argument("--adapter", default=None, help="adapter folder (default: the shipped one)")
    p.add_argument("--tasks", type=int, default=120)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    t0 = time.time()
    from pathlib import Path

    llm = load_llm(args.model, engine=CudaEngine(), adapter=Path(args.adapter) if args.adapter else None)
    load_s = time.time() - t0
    report = evaluate(llm, args.tasks, device="cuda int8 (bit-exact with numpy)", progress=True)
    report["load_seconds"] = round(load_s, 1)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k != "per_task"}), flush=True)


if __name__ == "__main__":
    main()
