"""The native AXI DMA job driver programs the project's PG021 register model correctly: tile jobs come
back bit-exact through it, its error paths report the channel's status, and a reset recovers."""

from __future__ import annotations

import numpy as np

from zynpu.device import axi_dma_regs as R
from zynpu.device.axi_dma_model import AxiDmaModel, PhysicalMemory, StreamTile
from zynpu.native.axi_dma import NativeAxiDma
from zynpu.tile import packing, reference
from zynpu.tile.manifest import load_manifest


def _setup():  # type: ignore[no-untyped-def]
    man = load_manifest()
    memory = PhysicalMemory()
    return man, memory, AxiDmaModel(memory, StreamTile(man))


def _job(man, memory, rng, m: int, k: int, n: int, int4: bool = False):  # type: ignore[no-untyped-def]
    x = rng.integers(-127, 128, (m, k), dtype=np.int8)
    if int4:
        w = rng.integers(-8, 8, (n, k), dtype=np.int8)
        s = rng.integers(0, 256, (n, -(-k // man.int4_group)), dtype=np.uint8)
        packet, want = packing.pack_job(man, x, w, s), reference.matmul_int4(x, w, s, man.int4_group)
        shape = packing.check_shape(man, m, k, n, "int4")
    else:
        w = rng.integers(-127, 128, (n, k), dtype=np.int8)
        packet, want = packing.pack_job(man, x, w), reference.matmul(x, w)
        shape = packing.check_shape(man, m, k, n)
    in_addr, in_mem = memory.allocate(packet.size)
    in_mem[: packet.size] = packet
    out_addr, out_mem = memory.allocate(shape.output_bytes + man.lanes)
    return in_addr, packet.size, out_addr, out_mem, shape, want


def test_jobs_through_the_register_model_are_bit_exact() -> None:
    man, memory, model = _setup()
    dma = NativeAxiDma(model)
    rng = np.random.default_rng(5)
    for m, k, n, int4 in [(1, 64, 16, False), (1, 300, 70, False), (3, 200, 33, True), (1, 640, 48, True)]:
        in_addr, in_bytes, out_addr, out_mem, shape, want = _job(man, memory, rng, m, k, n, int4)
        received = dma.job(in_addr, in_bytes, out_addr, shape.output_bytes + man.lanes)
        assert received == shape.output_bytes
        np.testing.assert_array_equal(packing.unpack_results(out_mem, shape), want)
    # the receive side was armed before the send side started, and both before any status poll
    writes = [(offset, value) for kind, offset, value in dma.accesses if kind == "w"]
    lengths = [offset for offset, _ in writes if offset in (R.S2MM + R.LENGTH, R.MM2S + R.LENGTH)]
    assert lengths[:2] == [R.S2MM + R.LENGTH, R.MM2S + R.LENGTH]


def test_a_short_receive_buffer_is_an_s2mm_error_and_a_reset_recovers() -> None:
    man, memory, model = _setup()
    dma = NativeAxiDma(model)
    rng = np.random.default_rng(6)
    in_addr, in_bytes, out_addr, out_mem, shape, want = _job(man, memory, rng, 1, 128, 64)
    code = dma.job(in_addr, in_bytes, out_addr, man.lanes)  # room for one beat of four
    assert code < 0 and code != -1
    status = (-code) - (1 << 30)  # the receive side failed
    assert status & R.SR_DMA_INT_ERR and status & R.SR_HALTED
    assert dma.reset() == 0
    model.tile.write(man.offset("CONTROL"), man.bit("CONTROL", "SOFT_RESET"))  # the cut packet's rest
    received = dma.job(in_addr, in_bytes, out_addr, shape.output_bytes + man.lanes)
    assert received == shape.output_bytes
    np.testing.assert_array_equal(packing.unpack_results(out_mem, shape), want)


def test_an_address_nothing_answers_is_a_decode_error_and_zero_length_an_internal_error() -> None:
    _, memory, model = _setup()
    dma = NativeAxiDma(model)
    memory.allocate(64)  # at 0x7000_0000
    code = dma.job(0x1000, 64, 0x7000_0000, 64)  # no memory at 0x1000
    assert code < 0 and (-code) & R.SR_DMA_DEC_ERR
    assert dma.reset() == 0
    code = dma.job(0x7000_0000, 0, 0x7000_0000, 64)
    assert code < 0 and (-code) & R.SR_DMA_INT_ERR


def test_axi_ports_run_jobs_bit_exact_over_the_register_model() -> None:
    """NativeEngine(kind="axi-model"): each port's weights packed in its model memory in the tile's
    layout, every job launched by the C driver through that port's PG021 model; int8 and int4."""
    from zynpu.native import NativeEngine

    man = load_manifest()
    rng = np.random.default_rng(8)
    engine = NativeEngine(3, kind="axi-model")
    for m, k, n in [(1, 64, 16), (2, 300, 70), (1, 640, 200)]:
        x = rng.integers(-127, 128, (m, k), dtype=np.int8)
        w = rng.integers(-127, 128, (n, k), dtype=np.int8)
        np.testing.assert_array_equal(engine.matmul(x, engine.pack_weights(w)), reference.matmul(x, w))
        q = rng.integers(-8, 8, (n, k), dtype=np.int8)
        s = rng.integers(0, 256, (n, -(-k // man.int4_group)), dtype=np.uint8)
        got = engine.matmul(x, engine.pack_weights_int4(q, s, man.int4_group))
        np.testing.assert_array_equal(got, reference.matmul_int4(x, q, s, man.int4_group))
    assert [jobs for _, jobs in engine.port_stats()] == [8, 6, 6]  # N=16 and 70: fewer lane blocks than ports


def test_tiny_model_decodes_the_same_tokens_through_axi_ports(tiny) -> None:  # type: ignore[no-untyped-def]
    from zynpu.model.transformer import Transformer
    from zynpu.native import NativeDecoder, NativeEngine

    cfg, weights, tok = tiny("llama")
    ref_engine, axi_engine = NativeEngine(2), NativeEngine(2, kind="axi-model")
    ref = Transformer(cfg, weights, ref_engine, progress=False)
    axi = Transformer(cfg, weights, axi_engine, progress=False)
    ref_decoder, axi_decoder = NativeDecoder(ref, ref_engine), NativeDecoder(axi, axi_engine)
    ids = np.asarray(tok.encode("hi"))
    c1, c2 = ref.new_cache(16), axi.new_cache(16)
    a, b = [ref.next_token(ids, c1)], [axi.next_token(ids, c2)]
    for _ in range(4):
        a.append(ref_decoder.step(a[-1], c1))
        b.append(axi_decoder.step(b[-1], c2))
    assert b == a
