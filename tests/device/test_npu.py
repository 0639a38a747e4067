"""The same cases on every target device: bit-exact results, counters, and every error path."""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.device import Device
from zynpu.npu import HardwareMismatch, Npu, NpuTimeout, TileError
from zynpu.tile import packing, reference

from .device_helpers import random_int8, stream_patterns

SHAPES = [
    (1, 1, 1),  # the smallest job
    (1, 1024, 64),  # decode: GEMV
    (8, 64, 48),  # prefill: M = rows
    (5, 37, 21),  # nothing a multiple of R or L
    (19, 40, 17),  # M > rows: tiled over three jobs
    (3, 16, 1),  # N = 1
    (2, 1, 33),  # K = 1
]


@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_matmul_bit_exact(npu: Npu, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    x, w = random_int8(rng, (m, k)), random_int8(rng, (n, k))
    y = npu.matmul(x, npu.pack_weights(w))
    assert y.dtype == np.int32 and y.shape == (m, n)
    np.testing.assert_array_equal(y, reference.matmul(x, w))


def test_extreme_values_wrap_like_the_tile(npu: Npu) -> None:
    """-128 * -128 summed over K: the int32 accumulator must match the reference exactly."""
    k = 4096
    x = np.full((2, k), -128, dtype=np.int8)
    w = np.full((16, k), -128, dtype=np.int8)
    w[1] = 127
    np.testing.assert_array_equal(npu.matmul(x, npu.pack_weights(w)), reference.matmul(x, w))


def test_repeated_jobs_on_packed_weights(npu: Npu) -> None:
    rng = np.random.default_rng(7)
    w = random_int8(rng, (40, 96))
    packed = npu.pack_weights(w)
    for m in (1, 8, 3, 1, 11):
        x = random_int8(rng, (m, 96))
        np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul(x, w))


def test_row_counts_change_on_packed_weights_with_padded_rows(npu: Npu) -> None:
    """The driver writes activations in place and keeps the header of the row count it last sent: a job
    after one of another M (K not a multiple of L, so rows end in padding lanes) must still be exact."""
    rng = np.random.default_rng(9)
    w = random_int8(rng, (33, 37))
    packed = npu.pack_weights(w)
    (part,) = packed.parts
    lanes = npu.lanes
    for m in (8, 1, 5, 8, 1, 1, 3, 8):
        x = random_int8(rng, (m, 37))
        np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul(x, w))
        # what the DMA streamed in front of the weights is the documented layout, padding zero
        sent = np.asarray(part.buffer)[part.prefix_bytes - (1 + m * 3) * lanes : part.prefix_bytes]
        expected = [packing.pack_header(npu.manifest, m, 37, 33), packing.pack_activations(x, lanes)]
        np.testing.assert_array_equal(sent, np.concatenate(expected))


def test_k_beyond_max_k_is_split_and_summed(npu: Npu) -> None:
    rng = np.random.default_rng(8)
    k = npu.manifest.max_k + 40
    x, w = random_int8(rng, (2, k)), random_int8(rng, (3, k))
    packed = npu.pack_weights(w)
    assert len(packed.parts) == 2
    np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul(x, w))


def test_identity_registers_match_manifest(npu: Npu) -> None:
    man = npu.manifest
    assert npu.identity == {
        "ID": man.id_magic,
        "VERSION": man.version_word,
        "CONFIG": man.config_word,
        "MAX_K": man.max_k,
        "CONFIG_HASH": man.config_hash32,
    }


def test_mismatched_manifest_is_refused(device: Device) -> None:
    raw = dict(device.manifest.raw, config_hash32=device.manifest.config_hash32 ^ 1)
    from zynpu.tile.manifest import TileManifest

    with pytest.raises(HardwareMismatch, match="CONFIG_HASH reads 0x") as caught:
        Npu(device, TileManifest(raw))
    assert f"0x{device.manifest.config_hash32 ^ 1:08X}" in str(caught.value)


def test_counters_follow_the_cycle_model(npu: Npu) -> None:
    rng = np.random.default_rng(9)
    m, k, n = 3, 200, 40
    x, w = random_int8(rng, (m, k)), random_int8(rng, (n, k))
    npu.matmul(x, npu.pack_weights(w))
    shape = packing.JobShape(m, k, n, npu.lanes)
    assert npu.last.jobs == 1
    assert npu.last.cycles == reference.job_cycles(npu.manifest, shape)
    assert npu.last.active == shape.weight_beats
    assert npu.last.starved == 0 and npu.last.stalled == 0


def test_shape_and_dtype_errors_come_before_any_dma(npu: Npu) -> None:
    packed = npu.pack_weights(np.ones((4, 8), dtype=np.int8))
    before = npu.counters()
    with pytest.raises(TypeError, match="int8"):
        npu.matmul(np.ones((1, 8), dtype=np.float32), packed)
    with pytest.raises(ValueError, match="K=9"):
        npu.matmul(np.ones((1, 9), dtype=np.int8), packed)
    with pytest.raises(ValueError, match="M=0"):
        npu.matmul(np.ones((0, 8), dtype=np.int8), packed)
    with pytest.raises(TypeError, match="2-D int8"):
        npu.pack_weights(np.ones(8, dtype=np.int8))
    with pytest.raises(ValueError, match="N=0"):
        npu.pack_weights(np.ones((0, 8), dtype=np.int8))
    assert npu.counters() == before


class CorruptingNpu(Npu):
    """The real driver with one header field damaged, as a bit flip on the way would do."""

    def __init__(self, *args, field: str, value: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.field, self.value = field, value

    def _header(self, shape: packing.JobShape) -> np.ndarray:
        values = {"m": shape.m, "k": shape.k, "n": shape.n}
        if self.field in values:
            values[self.field] = self.value
            return packing.pack_header(self.manifest, **values)
        header = packing.pack_header(self.manifest, shape.m, shape.k, shape.n)
        header[0] ^= self.value  # damage the magic
        return header


@pytest.mark.parametrize(
    ("field", "value", "error", "beat"),
    [
        ("magic", 0xFF, "BAD_HEADER", 0),
        ("m", 0, "BAD_SHAPE", 0),
        ("n", 48, "EARLY_LAST", 1 + 2 * 2 + 2 * 24 - 1),  # a third block promised, TLAST after the second
        ("k", 23, "MISSING_LAST", 1 + 2 * 2 + 2 * 23 - 1),  # fewer beats promised than sent
    ],
)
def test_tile_error_is_named_and_the_next_job_works(
    device: Device, field: str, value: int, error: str, beat: int
) -> None:
    rng = np.random.default_rng(10)
    w = random_int8(rng, (32, 24))
    broken = CorruptingNpu(device, field=field, value=value)
    errors_before = broken.counters()["ERRORS"]
    with pytest.raises(TileError, match=error) as caught:
        broken.matmul(random_int8(rng, (2, 24)), broken.pack_weights(w))
    assert caught.value.name == error
    assert caught.value.beat == beat
    npu = Npu(device)
    assert npu.counters()["ERRORS"] == errors_before + 1
    x = random_int8(rng, (2, 24))
    np.testing.assert_array_equal(npu.matmul(x, npu.pack_weights(w)), reference.matmul(x, w))


def test_dma_timeout_reports_status_and_recovers(device: Device) -> None:
    stall = stream_patterns_or_skip(device)
    npu = Npu(device, timeout=0.3)
    rng = np.random.default_rng(11)
    w = random_int8(rng, (64, 512))
    packed = npu.pack_weights(w)
    stall(0, 0xFFFFFFFF)  # the receiver never accepts a beat
    with pytest.raises(NpuTimeout, match=r"STATUS=0x0000000[13]") as caught:
        npu.matmul(random_int8(rng, (1, 512)), packed)
    assert "CYCLES=" in str(caught.value)
    stall(0, 0)
    x = random_int8(rng, (4, 512))
    np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul(x, w))


def test_gaps_and_backpressure_are_counted(device: Device) -> None:
    stall = stream_patterns_or_skip(device)
    npu = Npu(device)
    rng = np.random.default_rng(12)
    x, w = random_int8(rng, (4, 64)), random_int8(rng, (48, 64))
    stall(0x0F0F0F0F, 0x33333333)
    y = npu.matmul(x, npu.pack_weights(w))
    stall(0, 0)
    np.testing.assert_array_equal(y, reference.matmul(x, w))
    shape = packing.JobShape(4, 64, 48, npu.lanes)
    assert npu.last.active == shape.weight_beats
    assert npu.last.starved > 0 and npu.last.stalled > 0
    assert npu.last.cycles > reference.job_cycles(npu.manifest, shape)


def stream_patterns_or_skip(device: Device):
    stall = stream_patterns(device)
    if stall is None:
        pytest.skip("the ref device has no clock: no gaps or back-pressure to inject")
    return stall
