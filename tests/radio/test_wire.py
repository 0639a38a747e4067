"""The wire format has one source: generated files match the spec; the Python codec matches the vectors."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("hypothesis", reason="property tests need hypothesis (pip install .[dev])")
from hypothesis import given, settings
from hypothesis import strategies as st

from zynpu.radio import frame, vectors, wire, wiregen


def test_generated_files_are_up_to_date() -> None:
    for path, text in wiregen.outputs().items():
        assert path.read_text() == text, f"{path} is stale: run python -m zynpu.radio.wiregen"


def test_spec_is_consistent() -> None:
    spec = json.loads(wiregen.SPEC.read_text())
    assert spec["max_payload"] == spec["transaction_size"] - spec["header_size"]
    ends = [f["offset"] + {"u8": 1, "u16": 2, "u32": 4}[f["type"]] for f in spec["header"]]
    assert max(ends) == spec["header_size"] and spec["header"][-1]["name"] == "crc"
    assert wire.OFF_CRC == wire.HEADER_SIZE - 4


def test_committed_vectors_are_regenerated_identically() -> None:
    assert vectors.VECTORS.read_text() == vectors.render(vectors.build())


@pytest.mark.parametrize("vec", vectors.load(), ids=lambda v: v.name)
def test_python_codec_against_vectors(vec: vectors.Vector) -> None:
    if vec.expect == wire.DECODE_OK:
        assert frame.decode(vec.buf) == vec.frame
        n = wire.HEADER_SIZE + len(vec.frame.payload)
        assert frame.encode(vec.frame, n) == vec.buf[:n]
    else:
        with pytest.raises(frame.FrameError) as err:
            frame.decode(vec.buf)
        assert err.value.code == vec.expect


def test_crc_check_value() -> None:
    assert frame.crc32(b"123456789") == 0xCBF43926


def test_oversized_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        frame.encode(frame.Frame(payload=bytes(wire.MAX_PAYLOAD + 1)))


frames = st.builds(
    frame.Frame, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
    st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF), st.binary(max_size=wire.MAX_PAYLOAD),
)


@settings(max_examples=200, deadline=None)
@given(frames)
def test_roundtrip(f: frame.Frame) -> None:
    assert frame.decode(frame.encode(f)) == f


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2 * wire.TRANSACTION_SIZE))
def test_decoder_fuzz_only_raises_frame_error(buf: bytes) -> None:
    try:
        f = frame.decode(buf)
    except frame.FrameError as e:
        assert e.code in (wire.DECODE_SHORT, wire.DECODE_MAGIC, wire.DECODE_VERSION, wire.DECODE_LENGTH,
                          wire.DECODE_CRC)
    else:
        assert len(f.payload) <= wire.MAX_PAYLOAD


@settings(max_examples=300, deadline=None)
@given(frames, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 7)), min_size=1, max_size=3))
def test_any_bit_flip_in_covered_bytes_is_detected(f: frame.Frame, flips: list[tuple[int, int]]) -> None:
    buf = bytearray(frame.encode(f))
    covered = wire.HEADER_SIZE + len(f.payload)
    for pos, bit in flips:
        buf[pos % covered] ^= 1 << bit
    if bytes(buf) == frame.encode(f):
        return  # the flips cancelled out
    with pytest.raises(frame.FrameError):
        frame.decode(bytes(buf))
