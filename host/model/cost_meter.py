"""`CostMeter`: wraps a matmul engine and prices every job it runs as the NPU would run it.

Each matmul is split into tile jobs by the driver's own plan (`npu.plan`) and priced by the roofline's
`matmul_cost`: busy cycles from the manifest's cycle model (what the tile's CYCLES counter reads, on
one weight port) and the board's stream time on its weight ports. Wrapped around the host int8 engine
it gives a model's NPU cycles without simulating the tile (Gemma 3 270M on the ref device takes
minutes per request here); wrapped around an `Npu` the two counts can be compared job for job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zynpu.roofline import BoardSpec, matmul_cost
from zynpu.tile.manifest import TileManifest


@dataclass
class CostTally:
    jobs: int = 0  # tile jobs on one port
    cycles: int = 0  # tile busy cycles on one port (the CYCLES counters' sum)
    board_jobs: int = 0  # tile jobs on the board's weight ports
    board_cycles: int = 0  # their critical path: per wave, the slowest port's busy cycles
    board_stream_s: float = 0.0  # the board's waves, each tile- or DDR-bound


@dataclass
class _Metered:
    inner: Any
    n: int
    k: int


class CostMeter:
    """A `MatmulEngine` that runs `inner` and adds up what each job costs on the tile and the board."""

    def __init__(self, inner: Any, manifest: TileManifest, board: BoardSpec) -> None:
        self.inner, self.manifest, self.board = inner, manifest, board
        self.total = CostTally()

    def pack_weights(self, w: np.ndarray) -> _Metered:
        return _Metered(self.inner.pack_weights(w), w.shape[0], w.shape[1])

    def matmul(self, x: np.ndarray, weights: _Metered) -> np.ndarray:
        m, t = x.shape[0], self.total
        one = matmul_cost(self.manifest, self.board, m, weights.k, weights.n, "int8", 1)
        on_board = matmul_cost(
            self.manifest, self.board, m, weights.k, weights.n, "int8", self.board.weight_ports
        )
        t.jobs += one.tile_jobs
        t.cycles += one.cycles
        t.board_jobs += on_board.tile_jobs
        t.board_cycles += on_board.cycles
        t.board_stream_s += on_board.stream_seconds
        return self.inner.matmul(x, weights.inner)
