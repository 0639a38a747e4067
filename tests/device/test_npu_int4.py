"""int4 weights with group scales, end to end through a device's DMA channels on every target device.

The oracle is `reference.matmul_int4` (plain integer sums, written from the format's definition);
the device runs the packed int4 stream (`packing.pack_job` with scales) through its own send and
receive channels. Both must agree bit for bit, and the counters must follow the cycle model.
"""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.device import Device
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


def run_int4(device: Device, x: np.ndarray, w: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, dict]:
    """One int4 job per `rows` token rows through the device's DMA; results and counter increments."""
    man = device.manifest
    offsets = {name: man.offset(name) for name in man.counters}
    before = {name: device.read(off) for name, off in offsets.items()}
    out = []
    for m0 in range(0, x.shape[0], man.rows):
        chunk = np.ascontiguousarray(x[m0 : m0 + man.rows])
        shape = packing.check_shape(man, chunk.shape[0], x.shape[1], w.shape[0], "int4")
        packet = packing.pack_job(man, chunk, w, scales)
        src = device.allocate(packet.size, np.uint8)
        src[:] = packet
        src.flush()
        dst = device.allocate(shape.output_bytes + man.lanes, np.uint8)
        device.recv.transfer(dst, 0, shape.output_bytes + man.lanes)
        device.send.transfer(src, 0, packet.size)
        device.send.wait(20.0)
        device.recv.wait(20.0)
        assert device.recv.transferred == shape.output_bytes
        dst.invalidate()
        out.append(packing.unpack_results(np.asarray(dst[: shape.output_bytes]), shape))
    delta = {name: (device.read(off) - before[name]) & 0xFFFFFFFF for name, off in offsets.items()}
    return np.concatenate(out), delta


@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_int4_matmul_bit_exact(device: Device, m: int, k: int, n: int) -> None:
    man = device.manifest
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    group = man.int4_group
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w, scales = random_int4(rng, n, k, group)
    y, counts = run_int4(device, x, w, scales)
    want = reference.matmul_int4(x, w, scales, group)
    # The oracle itself, from the definition: per group, scale times the integer dot product.
    direct = np.zeros((m, n), dtype=np.int64)
    for g0 in range(0, k, group):
        part = x[:, g0 : g0 + group].astype(np.int64) @ w[:, g0 : g0 + group].astype(np.int64).T
        direct += part * scales[:, g0 // group].astype(np.int64)
    np.testing.assert_array_equal(want, direct)
    np.testing.assert_array_equal(y, want)
    jobs = -(-m // man.rows)
    shape = packing.check_shape(man, min(m, man.rows), k, n, "int4")
    assert counts["ACTIVE"] == jobs * shape.active_beats  # scale beats are not weight beats
    assert counts["JOBS"] == jobs and counts["ERRORS"] == 0
    if jobs == 1:
        assert counts["CYCLES"] >= reference.job_cycles(man, shape)  # equal without DMA gaps


def test_int4_extremes_reach_the_accumulator_bound(device: Device) -> None:
    """x = -128, w = -8, scale 255 over max_k: the largest sum the format allows, exact in int32."""
    man = device.manifest
    k, group = man.max_k, man.int4_group
    x = np.full((1, k), -128, dtype=np.int8)
    w = np.full((2, k), -8, dtype=np.int8)
    w[1] = 7
    scales = np.full((2, k // group), 255, dtype=np.uint8)
    y, _ = run_int4(device, x, w, scales)
    assert int(y[0, 0]) == k * 128 * 8 * 255 == man.raw["layout"]["weight_formats"]["accumulator_bound"]
    np.testing.assert_array_equal(y, reference.matmul_int4(x, w, scales, group))


def test_int4_input_errors_name_the_problem(device: Device) -> None:
    man = device.manifest
    group = man.int4_group
    x = np.zeros((1, 10), dtype=np.int8)
    with pytest.raises(ValueError, match=r"-8\.\.7"):
        packing.pack_job(man, x, np.full((4, 10), 8, dtype=np.int8), np.zeros((4, 1), dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"\(4, 1\) \(N, ceil\(K/{group}\)\)"):
        packing.pack_job(man, x, np.zeros((4, 10), dtype=np.int8), np.zeros((4, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        packing.pack_job(man, x, np.zeros((4, 10), dtype=np.int8), np.zeros((4, 1), dtype=np.int16))
