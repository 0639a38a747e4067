"""The native `ref` port is the tile's integer arithmetic: bit-exact with the numpy reference and with the
`ref` device behind the Python driver, for int8 and int4 weights, random shapes and 1..4 ports."""

from __future__ import annotations

import numpy as np
import pytest

from zynpu.device.multiport import open_ports
from zynpu.native import build
from zynpu.native.engine import NativeEngine
from zynpu.npu import Npu, port_columns
from zynpu.tile import reference
from zynpu.tile.manifest import load_manifest


@pytest.mark.parametrize("ports", [1, 2, 3, 4])
def test_int8_jobs_equal_the_reference(ports: int) -> None:
    rng = np.random.default_rng(ports)
    engine = NativeEngine(ports)
    for _ in range(12):
        m, k, n = rng.integers(1, 5), rng.integers(1, 700), rng.integers(1, 300)
        x = rng.integers(-128, 128, (m, k), dtype=np.int8)  # -128 included: the tile takes any int8
        w = rng.integers(-128, 128, (n, k), dtype=np.int8)
        got = engine.matmul(x, engine.pack_weights(w))
        np.testing.assert_array_equal(got, reference.matmul(x, w))


@pytest.mark.parametrize("ports", [1, 4])
def test_int4_jobs_equal_the_reference(ports: int) -> None:
    rng = np.random.default_rng(10 + ports)
    group = load_manifest().int4_group
    engine = NativeEngine(ports)
    for _ in range(10):
        m, k, n = rng.integers(1, 4), rng.integers(1, 600), rng.integers(1, 200)
        x = rng.integers(-128, 128, (m, k), dtype=np.int8)
        q = rng.integers(-8, 8, (n, k), dtype=np.int8)
        s = rng.integers(0, 256, (n, -(-k // group)), dtype=np.uint8)
        got = engine.matmul(x, engine.pack_weights_int4(q, s, group))
        np.testing.assert_array_equal(got, reference.matmul_int4(x, q, s, group))


def test_extreme_values_do_not_overflow_int32() -> None:
    """All -128 x -128 products over K = max_k (and int4 -8 x 255 scales): the largest sums a job can make."""
    man = load_manifest()
    engine = NativeEngine(2)
    x = np.full((1, man.max_k), -128, dtype=np.int8)
    w = np.full((40, man.max_k), -128, dtype=np.int8)
    np.testing.assert_array_equal(engine.matmul(x, engine.pack_weights(w)), reference.matmul(x, w))
    q = np.full((40, man.max_k), -8, dtype=np.int8)
    s = np.full((40, man.max_k // man.int4_group), 255, dtype=np.uint8)
    got = engine.matmul(x, engine.pack_weights_int4(q, s, man.int4_group))
    np.testing.assert_array_equal(got, reference.matmul_int4(x, q, s, man.int4_group))


def test_ports_split_n_like_the_driver_and_match_the_ref_device() -> None:
    """Same results as the Python driver on 3 ref-device ports; each native port ran its own jobs."""
    rng = np.random.default_rng(7)
    x = rng.integers(-127, 128, (1, 300), dtype=np.int8)
    w = rng.integers(-127, 128, (200, 300), dtype=np.int8)
    device = open_ports("ref", 3)
    try:
        npu = Npu(device)
        expected = npu.matmul(x, npu.pack_weights(w))
    finally:
        device.close()
    engine = NativeEngine(3)
    np.testing.assert_array_equal(engine.matmul(x, engine.pack_weights(w)), expected)
    stats = engine.stats()
    used = len(port_columns(200, engine.lanes, 3))
    assert stats["jobs"] == used == 3 and stats["matmuls"] == 1
    assert 0 < stats["device_s"] <= stats["matmul_s"]
    by_port = engine.port_stats()
    assert [jobs for _, jobs in by_port] == [1, 1, 1]
    assert all(seconds > 0 for seconds, _ in by_port)
    assert sum(seconds for seconds, _ in by_port) == pytest.approx(stats["device_s"])


def test_missing_compiler_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from zynpu.errors import UserError

    monkeypatch.setenv("CC", "no-such-cc")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UserError, match="C compiler"):
        build.compiler()


def test_an_edited_source_changes_the_build_digest(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cc = build.compiler()
    before = build.digest(cc)
    real = build.sources()
    edited = tmp_path / real[0].name
    edited.write_bytes(real[0].read_bytes() + b"\n/* edit */\n")
    monkeypatch.setattr(build, "sources", lambda: [edited, *real[1:]])
    assert build.digest(cc) != before


def test_embedding_rows_dequantize_like_numpy() -> None:
    """float16 (every bit pattern: subnormals, inf, NaN) and Q8_0 rows read in C equal numpy's values."""
    from zynpu.native.lib import library, ptr

    lib = library()
    halves = np.arange(2**16, dtype=np.uint16).reshape(-1, 64)  # 1024 rows of 64
    out = np.empty(64, dtype=np.float32)
    table = halves.view(np.uint8)
    for token in range(halves.shape[0]):
        lib.zn_embed_row(ptr(table), 1, table.shape[1], 64, token, ptr(out))
        want = halves[token].view(np.float16).astype(np.float32)
        np.testing.assert_array_equal(
            out.view(np.uint32)[~np.isnan(want)], want.view(np.uint32)[~np.isnan(want)]
        )
        assert np.array_equal(np.isnan(out), np.isnan(want))
    gguf = pytest.importorskip("gguf")
    rng = np.random.default_rng(3)
    rows = (rng.standard_normal((5, 96)) * rng.uniform(1e-3, 10, (5, 1))).astype(np.float32)
    q8 = gguf.quants.quantize(rows, gguf.GGMLQuantizationType.Q8_0)
    want = gguf.quants.dequantize(q8, gguf.GGMLQuantizationType.Q8_0).astype(np.float32)
    q8 = np.ascontiguousarray(q8)
    for token in range(5):
        out = np.empty(96, dtype=np.float32)
        lib.zn_embed_row(ptr(q8), 2, q8.shape[1], 96, token, ptr(out))
        np.testing.assert_array_equal(out, want[token])
