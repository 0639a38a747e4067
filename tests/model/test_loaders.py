"""GGUF and safetensors copies of each tiny model load to the same model; broken files fail cleanly."""

import json
import shutil
from pathlib import Path

import gguf
import numpy as np
import pytest

from zynpu.model import testmodels
from zynpu.model.engine import NumpyEngine
from zynpu.model.errors import ModelLoadError, UnsupportedModelError
from zynpu.model.load import load, read_checkpoint

TEXT = "The keeper lit the lamp, and the ships came safely home."


@pytest.mark.parametrize("family", testmodels.FAMILIES)
def test_gguf_and_safetensors_give_same_logits(family: str, tiny_paths) -> None:
    g, h = tiny_paths(family)
    cfg_g, _w_g, tok_g = read_checkpoint(g)
    cfg_h, _w_h, tok_h = read_checkpoint(h)
    assert cfg_g.family == cfg_h.family == family
    ids = tok_g.encode(TEXT)
    assert ids == tok_h.encode(TEXT) and tok_g.decode(ids) == TEXT
    for engine in (None, NumpyEngine()):
        mg, _ = load(g, engine=engine, progress=False)
        mh, _ = load(h, engine=engine, progress=False)
        lg = mg.forward(np.array(ids), mg.new_cache(), all_logits=True)
        lh = mh.forward(np.array(ids), mh.new_cache(), all_logits=True)
        # same weights bit for bit; only float32 summation order may differ (Llama's GGUF uses the
        # interleaved RoPE layout with permuted Q/K rows), so differences are rounding-level
        np.testing.assert_allclose(lg, lh, rtol=0, atol=2e-4 * np.abs(lh).max())
        assert (lg.argmax(-1) == lh.argmax(-1)).all()


def test_llama_gguf_stores_permuted_qk(tiny_paths) -> None:
    g, h = tiny_paths("llama")
    cfg_g, w_g, _ = read_checkpoint(g)
    cfg_h, w_h, _ = read_checkpoint(h)
    assert (cfg_g.rope_style, cfg_h.rope_style) == ("gptj", "neox")
    assert not np.array_equal(w_g["layers.0.wq"], w_h["layers.0.wq"])  # rows really are reordered
    from zynpu.model.weights import permute_for_neox

    assert np.array_equal(permute_for_neox(w_g["layers.0.wq"], cfg_g.n_heads), w_h["layers.0.wq"])
    assert np.array_equal(permute_for_neox(w_g["layers.0.wk"], cfg_g.n_kv_heads), w_h["layers.0.wk"])


def test_gemma_gguf_norms_are_stored_plus_one(tiny_paths) -> None:
    g, h = tiny_paths("gemma3")
    raw = {t.name: np.array(t.data) for t in gguf.GGUFReader(g).tensors}
    _, w_h, _ = read_checkpoint(h)
    _, w_g, _ = read_checkpoint(g)
    assert np.array_equal(raw["blk.0.attn_norm.weight"], w_h["layers.0.attn_norm"] + 1)
    assert np.array_equal(w_g["layers.0.q_norm"], w_h["layers.0.q_norm"])


def test_gguf_uses_quantized_types(tiny_paths) -> None:
    g, _ = tiny_paths("qwen3")
    types = {t.tensor_type.name for t in gguf.GGUFReader(g).tensors}
    assert {"Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q5_K", "Q6_K", "F16", "F32"} <= types


def test_truncated_gguf_names_tensor(tiny_paths, tmp_path: Path) -> None:
    g, _ = tiny_paths("qwen2")
    data = g.read_bytes()
    bad = tmp_path / "trunc.gguf"
    bad.write_bytes(data[: len(data) - 5000])
    with pytest.raises(ModelLoadError, match=r"tensor 'blk\.1\.\w+\.weight' ends at byte .*truncated"):
        read_checkpoint(bad)
    bad.write_bytes(data[:300])
    with pytest.raises(ModelLoadError, match="header runs past the end of the file"):
        read_checkpoint(bad)
    bad.write_bytes(b"GGUX" + data[4:])
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        read_checkpoint(bad)


def _rewrite_gguf(
    src: Path,
    dst: Path,
    arch: str | None = None,
    drop: str | None = None,
    reshape: str | None = None,
    retype: str | None = None,
) -> None:
    """Copy a GGUF, changing one thing (architecture, a missing/mis-shaped/mistyped tensor)."""
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(str(dst), arch or r.fields["general.architecture"].contents())
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        if f.types and f.types[0] == gguf.GGUFValueType.ARRAY:
            w.add_array(k, f.contents())
        else:
            w.add_key_value(k, f.contents(), f.types[0])
    for t in r.tensors:
        if t.name == drop:
            continue
        data = np.array(t.data)
        qtype = t.tensor_type
        if t.name == retype:
            qtype = gguf.GGMLQuantizationType.Q2_K  # 84 bytes per 256 values; never dequantized
            data = np.zeros((int(t.shape[1]), int(t.shape[0]) // 256 * 84), np.uint8)
        if t.name == reshape:
            data = data[:-1]
        w.add_tensor(t.name, data, raw_dtype=None if qtype == gguf.GGMLQuantizationType.F32 else qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_validation_errors(tiny_paths, tmp_path: Path) -> None:
    g, _ = tiny_paths("qwen3")
    bad = tmp_path / "bad.gguf"
    _rewrite_gguf(g, bad)  # a faithful copy loads
    read_checkpoint(bad)
    _rewrite_gguf(g, bad, arch="mamba")
    with pytest.raises(UnsupportedModelError, match="unsupported architecture 'mamba'"):
        read_checkpoint(bad)
    _rewrite_gguf(g, bad, drop="blk.1.attn_k_norm.weight")
    with pytest.raises(ModelLoadError, match=r"missing tensor for layers\.1\.k_norm"):
        read_checkpoint(bad)
    _rewrite_gguf(g, bad, reshape="blk.0.attn_v.weight")
    with pytest.raises(
        ModelLoadError, match=r"'blk\.0\.attn_v\.weight' has shape \(63, 256\), config implies"
    ):
        read_checkpoint(bad)
    _rewrite_gguf(g, bad, retype="blk.0.ffn_up.weight")
    with pytest.raises(
        UnsupportedModelError, match=r"'blk\.0\.ffn_up\.weight': unsupported tensor type Q2_K"
    ):
        read_checkpoint(bad)


def test_hf_validation_errors(tiny_paths, tmp_path: Path) -> None:
    _, h = tiny_paths("gemma3")
    bad = tmp_path / "hf"
    shutil.copytree(h, bad)
    st = bad / "model.safetensors"
    data = st.read_bytes()
    st.write_bytes(data[:-100])
    with pytest.raises(ModelLoadError, match=r"tensor 'model\.[\w.]+' ends at byte .*truncated"):
        read_checkpoint(bad)
    st.write_bytes(data)
    cfg = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "intermediate_size": 384}))
    with pytest.raises(ModelLoadError, match=r"'model\.layers\.0\.mlp\.\w+_proj\.weight' has shape"):
        read_checkpoint(bad)
    (bad / "config.json").write_text(json.dumps({**cfg, "model_type": "mamba"}))
    with pytest.raises(UnsupportedModelError, match="unsupported model_type 'mamba'"):
        read_checkpoint(bad)
    (bad / "config.json").write_text(json.dumps({**cfg, "final_logit_softcapping": 30.0}))
    with pytest.raises(UnsupportedModelError, match="final_logit_softcapping"):
        read_checkpoint(bad)


def test_spm_tokenizer_byte_fallback_and_user_pieces(tiny_paths) -> None:
    g, _ = tiny_paths("gemma3")
    _, _, tok = read_checkpoint(g)
    text = "Ω keeper\n\nlamp"
    ids = tok.encode(text, add_bos=False)
    pieces = [tok.tok.id_to_token(i) for i in ids]
    assert pieces[:2] == ["<0xCE>", "<0xA9>"]  # 'Ω' is not in the vocab: UTF-8 bytes
    assert "\n\n" in pieces  # user-defined piece matched verbatim
    assert tok.decode(ids) == text
    assert tok.encode("a")[0] == 2  # BOS from the GGUF metadata
