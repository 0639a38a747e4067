"""Encode and decode one link frame (header + payload, zero-padded to a transaction).

Pure functions over bytes, so the host link, the simulator, the test vectors and the fuzzer all share
one implementation; the layout constants come from the generated `wire` module.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from . import wire

# magic, version, channel, type, flags, window, credit, reserved, seq, ack, len, tag, epoch, peer_epoch, crc
_HEADER = struct.Struct("<BBBBBBBBHHHHIII")
assert _HEADER.size == wire.HEADER_SIZE


class FrameError(ValueError):
    """A received transaction does not hold a valid frame; `code` is a wire.DECODE_* value."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Frame:
    channel: int = 0
    type: int = 0
    flags: int = 0
    epoch: int = 0  # 32-bit session nonce
    peer_epoch: int = 0
    window: int = 0
    seq: int = 0
    ack: int = 0
    tag: int = 0
    payload: bytes = b""
    credit: int = 0  # event credit (host -> ESP32), a flow-control class separate from `window`


def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC, the same function as zl_crc32 in the firmware."""
    return zlib.crc32(data) & 0xFFFFFFFF


def encode(frame: Frame, size: int = wire.TRANSACTION_SIZE) -> bytes:
    """Serialise `frame` into a `size`-byte transaction buffer (zero padding)."""
    n = len(frame.payload)
    if n > min(wire.MAX_PAYLOAD, size - wire.HEADER_SIZE):
        raise ValueError(f"payload of {n} bytes exceeds the maximum of {wire.MAX_PAYLOAD}")
    head = _HEADER.pack(
        wire.MAGIC, wire.VERSION, frame.channel, frame.type, frame.flags, frame.window, frame.credit, 0,
        frame.seq & 0xFFFF, frame.ack & 0xFFFF, n, frame.tag & 0xFFFF, frame.epoch & 0xFFFFFFFF,
        frame.peer_epoch & 0xFFFFFFFF, 0,
    )[: wire.OFF_CRC]
    crc = zlib.crc32(frame.payload, zlib.crc32(head)) & 0xFFFFFFFF
    body = head + struct.pack("<I", crc) + frame.payload
    return body + bytes(size - len(body))


def decode(buf: bytes) -> Frame:
    """Parse a received transaction; raises FrameError on anything that is not an intact frame."""
    if len(buf) < wire.HEADER_SIZE:
        raise FrameError(wire.DECODE_SHORT, f"{len(buf)} bytes is shorter than a header")
    (magic, version, channel, mtype, flags, window, credit, _, seq, ack, n, tag, epoch, peer_epoch, crc) = (
        _HEADER.unpack_from(buf)
    )
    if magic != wire.MAGIC:
        raise FrameError(wire.DECODE_MAGIC, f"bad magic 0x{magic:02x}")
    if version != wire.VERSION:
        raise FrameError(wire.DECODE_VERSION, f"unsupported version {version}")
    if n > wire.MAX_PAYLOAD or wire.HEADER_SIZE + n > len(buf):
        raise FrameError(wire.DECODE_LENGTH, f"payload length {n} does not fit")
    payload = bytes(buf[wire.HEADER_SIZE : wire.HEADER_SIZE + n])
    mv = memoryview(buf)
    if zlib.crc32(payload, zlib.crc32(mv[: wire.OFF_CRC])) & 0xFFFFFFFF != crc:
        raise FrameError(wire.DECODE_CRC, "CRC mismatch")
    return Frame(channel, mtype, flags, epoch, peer_epoch, window, seq, ack, tag, payload, credit)
