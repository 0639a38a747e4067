"""The numpy engine is the bit-exact reference for the NPU: int8 x int8 -> int32 with no rounding."""

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="property tests need hypothesis (pip install .[dev])")
from hypothesis import given, settings
from hypothesis import strategies as st

from zynpu.model.engine import MatmulEngine, MeteredEngine, NumpyEngine, make_engine


def _ref(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (x.astype(np.int64) @ w.astype(np.int64).T).astype(np.int32)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 2600), seed=st.integers(0, 2**32 - 1))
def test_numpy_engine_is_bit_exact(m: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (m, k), dtype=np.int8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    eng = NumpyEngine()
    assert np.array_equal(eng.matmul(x, eng.pack_weights(w)), _ref(x, w))


def test_worst_case_accumulation_is_exact() -> None:
    # all -128: every K-chunk sums to exactly 2**24, the float32 exactness limit; K spans several chunks
    k = 5000
    x = np.full((3, k), -128, np.int8)
    w = np.full((2, k), -128, np.int8)
    w[1, ::2] = 127
    eng = NumpyEngine()
    out = eng.matmul(x, eng.pack_weights(w))
    assert out.dtype == np.int32
    assert np.array_equal(out, _ref(x, w))


def test_rejects_wrong_dtypes() -> None:
    eng = NumpyEngine()
    with pytest.raises(TypeError):
        eng.pack_weights(np.zeros((2, 2), np.float32))
    h = eng.pack_weights(np.zeros((2, 3), np.int8))
    with pytest.raises(ValueError):
        eng.matmul(np.zeros((1, 4), np.int8), h)


def test_metered_engine_counts_jobs_and_bytes() -> None:
    eng = MeteredEngine(NumpyEngine())
    assert isinstance(eng, MatmulEngine) and isinstance(NumpyEngine(), MatmulEngine)
    h = eng.pack_weights(np.ones((5, 7), np.int8))
    eng.matmul(np.ones((3, 7), np.int8), h)
    s = eng.stats
    assert (s.jobs, s.weight_bytes, s.act_in_bytes, s.act_out_bytes, s.macs) == (1, 35, 21, 60, 105)
    assert eng.packed_bytes == 35


def test_engine_factory() -> None:
    assert make_engine("float") is None
    assert isinstance(make_engine("numpy"), NumpyEngine)
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("gpu")
    from zynpu.npu import Npu

    assert isinstance(make_engine("ref"), Npu)  # the NPU through the reference device
