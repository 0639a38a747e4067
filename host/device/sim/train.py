"""A short run of the profiling build of the simulator, whose counts steer the optimized build.

`build.ensure_library` compiles the model twice: first instrumented (`-fprofile-generate`), then this
module runs it in a child process on the work the sim device does (int8 and int4 decode jobs, a
prefill job, register accesses), and the second compile (`-fprofile-use`) lays out the model's one
big evaluation function for the branches those jobs take. The results are not checked here: the
instrumented model is thrown away; the sim device tests check the optimized one.

Run: python -m zynpu.device.sim.train LIBRARY MANIFEST (the manifest the library was built for)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def train(library: Path, manifest: Path) -> int:
    """Run the training jobs on the library at `library`; returns the cycles simulated."""
    from ...npu import Npu
    from ...tile.manifest import load_manifest
    from .device import SimDevice

    with SimDevice(load_manifest(manifest), library=library, quiet=True) as device:
        npu = Npu(device)
        man = device.manifest
        rng = np.random.default_rng(0)
        k, n = 512, 256
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        packed = npu.pack_weights(w)
        q = rng.integers(-8, 8, size=(n, k), dtype=np.int8)
        scales = rng.integers(0, 256, size=(n, -(-k // man.int4_group)), dtype=np.uint8)
        packed4 = npu.pack_weights_int4(q, scales, man.int4_group)
        for m in (1, man.rows):
            x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
            npu.matmul(x, packed)
            npu.matmul(x, packed4)
        return int(device.cycles)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m zynpu.device.sim.train LIBRARY MANIFEST", file=sys.stderr)
        return 2
    train(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
