"""int4 weights with group scales, end to end through the driver on every target device.

The oracle is `reference.matmul_int4` (plain integer sums, written from the format's definition);
the device runs the packed int4 stream. Both must agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.npu import Npu
from zynpu.tile import packing, reference

SHAPES = [
    (1, 1, 1),  # one k: a scale beat and one weight beat with an empty high nibble
    (1, 1024, 64),  # decode GEMV
    (8, 130, 48),  # three groups, the last of 2 k values
    (5, 37, 21),  # odd K: the last beat's high nibble is padding
    (11, 64, 17),  # exactly one group; M > rows on the default build
]


def random_int4(rng: np.random.Generator, n: int, k: int, group: int) -> tuple[np.ndarray, np.ndarray]:
    w = rng.integers(-8, 8, size=(n, k), dtype=np.int8)
    scales = rng.integers(0, 256, size=(n, -(-k // group)), dtype=np.uint8)
    return w, scales


@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_int4_matmul_bit_exact(npu: Npu, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    group = npu.manifest.int4_group
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w, scales = random_int4(rng, n, k, group)
    packed = npu.load_weights(w, scales)
    y = npu.matmul(x, packed)
    want = reference.matmul_int4(x, w, scales, group)
    # The oracle itself, from the definition: per group, scale times the integer dot product.
    direct = np.zeros((m, n), dtype=np.int64)
    for g0 in range(0, k, group):
        part = x[:, g0 : g0 + group].astype(np.int64) @ w[:, g0 : g0 + group].astype(np.int64).T
        direct += part * scales[:, g0 // group].astype(np.int64)
    np.testing.assert_array_equal(want, direct)
    np.testing.assert_array_equal(y, want)
    shape = packing.check_shape(npu.manifest, min(m, npu.rows), k, n, "int4")
    assert npu.last.active == -(-m // npu.rows) * shape.active_beats  # scale beats are not weight beats


def test_int4_extremes_reach_the_accumulator_bound(npu: Npu) -> None:
    """x = -128, w = -8, scale 255 over max_k: the largest sum the format allows, exact in int32."""
    k = npu.manifest.max_k
    group = npu.manifest.int4_group
    x = np.full((1, k), -128, dtype=np.int8)
    w = np.full((2, k), -8, dtype=np.int8)
    w[1] = 7
    scales = np.full((2, k // group), 255, dtype=np.uint8)
    y = npu.matmul(x, npu.load_weights(w, scales))
    assert (
        int(y[0, 0]) == k * 128 * 8 * 255 == npu.manifest.raw["layout"]["weight_formats"]["accumulator_bound"]
    )
    np.testing.assert_array_equal(y, reference.matmul_int4(x, w, scales, group))


def test_int4_k_beyond_max_k_is_split_on_group_boundaries(npu: Npu) -> None:
    rng = np.random.default_rng(9)
    group = npu.manifest.int4_group
    k = npu.manifest.max_k + 70
    x = rng.integers(-128, 128, size=(2, k), dtype=np.int8)
    w, scales = random_int4(rng, 3, k, group)
    packed = npu.load_weights(w, scales)
    assert len(packed.parts) == 2
    np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul_int4(x, w, scales, group))


def test_int4_and_int8_jobs_interleave(npu: Npu) -> None:
    """The format is per job: an int8 job after an int4 one must not see stale scales or nibbles."""
    rng = np.random.default_rng(10)
    group = npu.manifest.int4_group
    w4, s4 = random_int4(rng, 20, 100, group)
    w8 = rng.integers(-128, 128, size=(20, 100), dtype=np.int8)
    p4, p8 = npu.load_weights(w4, s4), npu.load_weights(w8)
    for m in (1, 3):
        x = rng.integers(-128, 128, size=(m, 100), dtype=np.int8)
        np.testing.assert_array_equal(npu.matmul(x, p4), reference.matmul_int4(x, w4, s4, group))
        np.testing.assert_array_equal(npu.matmul(x, p8), reference.matmul(x, w8))


def test_int4_input_errors_name_the_problem(npu: Npu) -> None:
    group = npu.manifest.int4_group
    w = np.zeros((4, 10), dtype=np.int8)
    with pytest.raises(ValueError, match=r"-8\.\.7"):
        npu.load_weights(np.full((4, 10), 8, dtype=np.int8), np.zeros((4, 1), dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"\(4, 1\) \(N, ceil\(K/{group}\)\)"):
        npu.load_weights(w, np.zeros((4, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        npu.load_weights(w, np.zeros((4, 1), dtype=np.int16))
