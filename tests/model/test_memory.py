"""The loader's memory contract: GGUF weights dequantized on demand, no float32 model kept once the
weights are packed, embedding rows dequantized when looked up; and none of it changes a single bit of
what the model computes (compared with an eager load built here from gguf's own reader).

Gemma 3 270M's peak RSS is measured by `zynpu bench decode --model ... --json` (peak_rss_mb), not here.
"""

from __future__ import annotations

import gc
import tracemalloc
import types

import gguf
import numpy as np
import pytest

from zynpu.device import open_device
from zynpu.model import smooth as S
from zynpu.model import testmodels
from zynpu.model.embedding import StoredRows, quantize_by_rows
from zynpu.model.engine import NumpyEngine
from zynpu.model.gguf_load import canonical_name, load_gguf
from zynpu.model.load import load
from zynpu.model.transformer import Transformer
from zynpu.model.w8a8 import quantize_weight
from zynpu.model.weights import expected_shapes
from zynpu.npu import Npu

IDS = np.array([2, 77, 130, 14, 255, 31, 90, 6, 180, 45, 12, 222, 60, 101, 3, 150, 7])
CALIB = np.array([5, 40, 17, 99, 3, 250, 61, 8, 120, 33, 7, 42, 11, 200, 64, 9, 81, 19, 240])


def _eager(path, cfg) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Every tensor dequantized up front with gguf's reader (what the loader did before)."""
    out = {}
    for t in gguf.GGUFReader(path).tensors:
        name = canonical_name(t.name)
        shape = tuple(int(d) for d in reversed(t.shape))
        w = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(shape).astype(np.float32)
        if cfg.norm_offset and name.endswith("norm"):
            w = w - np.float32(cfg.norm_offset)
        out[name] = w
    return out


def _full_forward_stats(cfg, weights, ids, chunk):  # type: ignore[no-untyped-def]
    """Calibration statistics from one whole float32 model run chunk by chunk (the former method)."""
    model = Transformer(cfg.replace(max_position=len(ids)), weights, None, progress=False)
    recs = []
    for layer in model.layers:
        r = {site: S._Recorder(getattr(layer, site), S.SKIP_FIRST) for site in S.SITES}
        for site, rec in r.items():
            setattr(layer, site, rec)
        recs.append(r)
    cache = model.new_cache(len(ids))
    for a in range(0, len(ids), chunk):
        model.forward(ids[a : a + chunk], cache)
    return [{site: rec.amax for site, rec in r.items()} for r in recs]


@pytest.mark.parametrize("family", testmodels.FAMILIES)
def test_on_demand_weights_equal_eager_dequantization(family: str, tiny_paths) -> None:
    path = tiny_paths(family)[0]
    cfg, lazy, _ = load_gguf(path)
    eager = _eager(path, cfg)
    assert set(lazy) == set(eager)
    for name in reversed(list(eager)):  # another order than the file's: the layer cache must not matter
        np.testing.assert_array_equal(np.asarray(lazy[name]), eager[name], err_msg=name)
    embed = lazy["embed"]
    assert isinstance(embed, StoredRows)
    np.testing.assert_array_equal(embed[IDS], eager["embed"][IDS])
    np.testing.assert_array_equal(embed.block(3, 40), eager["embed"][3:40])
    q, s = quantize_by_rows(embed, quantize_weight)
    q_full, s_full = quantize_weight(eager["embed"])
    np.testing.assert_array_equal(q, q_full)
    np.testing.assert_array_equal(s, s_full)


@pytest.mark.parametrize("family", ["qwen2", "llama", "gemma3"])
def test_layer_by_layer_calibration_equals_the_whole_forward(family: str, loaded) -> None:
    cfg, w, _ = loaded(family)
    for chunk in (len(CALIB), 6):  # one pass, and chunks whose KV cache spans earlier chunks
        want = _full_forward_stats(cfg, w, CALIB, chunk)
        got = S.activation_stats(cfg, w, CALIB, chunk=chunk)
        for i, (a, b) in enumerate(zip(want, got, strict=True)):
            for site in S.SITES:
                np.testing.assert_array_equal(b[site], a[site], err_msg=f"layer {i} {site} chunk {chunk}")


@pytest.mark.parametrize("family", testmodels.FAMILIES)
def test_w8a8_and_float_models_unchanged_bit_for_bit(family: str, tiny_paths, loaded) -> None:
    """load() (on-demand weights, lazy smoothing) == a model built from eagerly dequantized weights."""
    path = tiny_paths(family)[0]
    cfg, _, tok = loaded(family)
    eager = _eager(path, cfg)
    calib = np.array(tok.encode(S.calibration_text())[: S.CALIBRATION_TOKENS])
    smoothed = S.smooth(cfg, eager, calib, S.DEFAULT_ALPHA, stats=_full_forward_stats(cfg, eager, calib, 256))
    for engine, weights in ((NumpyEngine(), smoothed), (None, eager)):
        want_model = Transformer(cfg, {k: np.asarray(weights[k]) for k in weights}, engine, progress=False)
        got_model, _ = load(path, engine=engine, progress=False)
        want = want_model.forward(IDS, want_model.new_cache(len(IDS) + 2), all_logits=True)
        got_cache = got_model.new_cache(len(IDS) + 2)
        got = got_model.forward(IDS, got_cache, all_logits=True)
        np.testing.assert_array_equal(got, want)
        step = got_model.forward(np.array([int(np.argmax(got[-1]))]), got_cache)
        assert step.shape == (cfg.vocab_size,) and np.isfinite(step).all()
        if engine is None:
            break


# code objects reach module globals (other tests' models); what a model holds is its data
_NOT_STATE = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _float_arrays(root: object, skip: list[object]) -> list[np.ndarray]:
    """Every float32 array reachable from `root`, not looking inside the objects in `skip`."""
    seen, found, stack = {id(s) for s in skip}, [], [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype == np.float32:
                found.append(obj)
        elif not isinstance(obj, (str, bytes, int, float, type, *_NOT_STATE)):
            stack.extend(gc.get_referents(obj))
    return found


@pytest.mark.parametrize("family", ["qwen3", "gemma3"])
def test_packed_model_keeps_no_float32_weights(family: str, tiny_paths) -> None:
    """After packing, the model holds int8 on the engine and small float32 vectors (norms, scales, RoPE
    tables) only: no weight matrix and no float32 embedding table."""
    model, _ = load(tiny_paths(family)[0], engine=NumpyEngine(), progress=False)
    cfg = model.cfg
    assert isinstance(model.embed, StoredRows)
    handles = [getattr(layer, s).handle for layer in model.layers for s in S.SITES] + [model.lm_head.handle]
    held = _float_arrays(model, [model.engine, model.ropes, *handles])  # NumpyEngine: float32 weights
    smallest_matrix = min(int(np.prod(s)) for s in expected_shapes(cfg).values() if len(s) == 2)
    assert held and max(a.size for a in held) < smallest_matrix, sorted(a.shape for a in held)[-3:]
    assert sum(a.nbytes for a in held) < cfg.vocab_size * cfg.hidden_size * 4


def test_reading_a_checkpoint_dequantizes_nothing_whole(tiny_paths) -> None:
    """Validation (every value checked finite) and the on-demand mapping stay far below the float32
    model: before, reading dequantized every tensor and kept them all."""
    path = tiny_paths("gemma3")[0]
    cfg, _, _ = load_gguf(path)
    float_model = sum(int(np.prod(s)) for s in expected_shapes(cfg).values()) * 4
    tracemalloc.start()
    try:
        _, weights, _ = load_gguf(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < float_model / 2, (peak, float_model)
    assert isinstance(weights["embed"], StoredRows)


def test_ref_device_decode_matches_numpy_engine(tiny_paths) -> None:
    """The tile path packs the LM head from the stored embedding too: same logits as the host engine."""
    path = tiny_paths("gemma3")[0]
    on_tile, _ = load(path, engine=Npu(open_device("ref")), progress=False)
    on_host, _ = load(path, engine=NumpyEngine(), progress=False)
    a = on_tile.forward(IDS[:5], on_tile.new_cache(8), all_logits=True)
    b = on_host.forward(IDS[:5], on_host.new_cache(8), all_logits=True)
    np.testing.assert_array_equal(a, b)


def test_a_non_finite_block_scale_is_still_caught_before_anything_is_built(tiny_paths, tmp_path) -> None:
    """Validation now reads the file block by block: a NaN block scale (fp16 at a Q8_0 block's start)
    in the middle of the embedding still fails the load, naming the tensor."""
    from zynpu.model.errors import ModelLoadError
    from zynpu.model.gguf_file import read_gguf

    src = tiny_paths("qwen3")[0]
    parsed = read_gguf(src)
    t = next(t for t in parsed.tensors if t.qtype.name == "Q8_0")
    offset = t.data.ctypes.data - np.frombuffer(parsed.mapping, np.uint8).ctypes.data
    offset += t.data.shape[1] * (t.shape[0] // 2)  # the first block of the middle row
    data = bytearray(src.read_bytes())
    data[offset : offset + 2] = np.array([np.nan], np.float16).tobytes()
    bad = tmp_path / "nan.gguf"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=rf"tensor '{t.name}' contains NaN or Inf"):
        load_gguf(bad)


def test_lm_head_sized_weights_pack_and_run_in_groups() -> None:
    """Packing and the ref tile model work a group of blocks at a time; a matrix spanning several
    groups (and a partial last block) still gives the exact integer product."""
    from zynpu.tile import packing, reference
    from zynpu.tile.manifest import load_manifest

    manifest = load_manifest()
    lanes, k = manifest.lanes, 24
    n = (packing._PACK_BLOCKS + 3) * lanes + 5
    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    x = rng.integers(-127, 128, (2, k)).astype(np.int8)
    np.testing.assert_array_equal(packing.unpack_weights(packing.pack_weights(w, lanes), n, k, lanes), w)
    into = np.full(n * k * 2, 7, np.uint8)  # packing into a device buffer's tail leaves the rest alone
    packed = packing.pack_weights(w, lanes, out=into[5 : 5 + packing.pack_weights(w, lanes).size])
    np.testing.assert_array_equal(packing.unpack_weights(packed, n, k, lanes), w)
    assert (into[:5] == 7).all() and (into[5 + packed.size :] == 7).all()
    result = reference.run_packet(manifest, packing.pack_job(manifest, x, w))
    got = packing.unpack_results(result.output, packing.JobShape(2, k, n, lanes))
    np.testing.assert_array_equal(got, x.astype(np.int64) @ w.astype(np.int64).T)
