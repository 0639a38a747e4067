"""int4 weights with group scales, end to end through a device's DMA channels on every target device.

The oracle is `reference.matmul_int4` (plain integer sums, written from the format's definition);
the device runs the packed int4 stream (`packing.pack_job` with scales) through its own send and
receive channels. Both must agree bit for bit, and the counters must follow the cycle model.
"""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.device import Device
from zynpu.npu import plan
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


# Through the driver: the host picks int8 or int4 per tensor; jobs, headers and cycles follow the format.
@pytest.mark.parametrize(
    ("m", "k", "n"),
    [
        (1, 640, 40),  # decode GEMV, three blocks
        (11, 130, 17),  # M over two row blocks, a short last group
        (2, 8192 + 100, 5),  # K over two parts (max_k of the default build), scales split at a group edge
    ],
)
def test_npu_int4_matmul_is_bit_exact_and_cycles_follow_the_model(npu, m: int, k: int, n: int) -> None:  # type: ignore[no-untyped-def]
    man = npu.manifest
    if k > man.max_k + 128:
        pytest.skip("shape is for the default build's max_k")
    group = man.int4_group
    rng = np.random.default_rng(m + k + n)
    x = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    w, scales = random_int4(rng, n, k, group)
    packed = npu.pack_weights_int4(w, scales, group)
    assert packed.weights == "int4"
    y = npu.matmul(x, packed)
    np.testing.assert_array_equal(y, reference.matmul_int4(x, w, scales, group))
    jobs = [job for wave in plan(man, m, k, n, 1, "int4") for job in wave]
    assert all(job.shape.int4 for job in jobs)
    assert npu.last.jobs == len(jobs)
    assert npu.last.cycles == sum(reference.job_cycles(man, job.shape) for job in jobs)
    assert npu.last.active == sum(job.shape.active_beats for job in jobs)
    assert npu.last.bytes_in == sum(job.shape.input_bytes for job in jobs)


def test_npu_mixes_formats_per_tensor(npu) -> None:  # type: ignore[no-untyped-def]
    """An int8 and an int4 tensor on one device, used alternately: each job's header says its format."""
    man = npu.manifest
    group = man.int4_group
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, size=(3, 200), dtype=np.int8)
    w8 = rng.integers(-128, 128, size=(33, 200), dtype=np.int8)
    w4, scales = random_int4(rng, 33, 200, group)
    p8, p4 = npu.pack_weights(w8), npu.pack_weights_int4(w4, scales, group)
    for _ in range(2):
        np.testing.assert_array_equal(npu.matmul(x, p4), reference.matmul_int4(x, w4, scales, group))
        np.testing.assert_array_equal(npu.matmul(x, p8), reference.matmul(x, w8))
    # int4 streams ceil(K/2) + groups beats per block instead of K: the int4 tensor is the smaller one
    assert p4.nbytes == 3 * (100 + 4) * man.lanes and p8.nbytes == 3 * 200 * man.lanes


def test_npu_int4_refuses_a_foreign_group(npu) -> None:  # type: ignore[no-untyped-def]
    group = npu.manifest.int4_group
    w = np.zeros((4, 4 * group), dtype=np.int8)
    with pytest.raises(ValueError, match="group"):
        npu.pack_weights_int4(w, np.ones((4, 2), dtype=np.uint8), 2 * group)
    with pytest.raises(ValueError, match=r"-8\.\.7"):
        npu.pack_weights_int4(w + 8, np.ones((4, 4), dtype=np.uint8), group)
