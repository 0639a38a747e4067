"""A `.bit` file header: what pynq reads from a bitstream besides the configuration frames."""

from __future__ import annotations

import struct
from pathlib import Path


def write_bitfile(path: Path, design: str = "zynpu", part: str = "xck26-sfvc784-2LV-c") -> Path:
    """A `.bit` with a well-formed header and no configuration frames: what pynq parses, nothing more.

    The header layout (a length-prefixed field, then tagged fields a..d and e for the data) is the one
    pynq's `parse_bit_header` reads.
    """

    def field(tag: int, text: str) -> bytes:
        data = text.encode() + b"\0"
        return bytes([tag]) + struct.pack(">H", len(data)) + data

    frames = b"\xff" * 64
    header = struct.pack(">H", 9) + bytes(9) + struct.pack(">H", 1)
    header += field(0x61, f"{design};UserID=0XFFFFFFFF;Version=2022.1") + field(0x62, part)
    header += field(0x63, "2026/01/01") + field(0x64, "00:00:00")
    path.write_bytes(header + b"\x65" + struct.pack(">I", len(frames)) + frames)
    return path
