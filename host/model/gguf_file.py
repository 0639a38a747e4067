"""A small GGUF container reader: header, key/values and tensor table, checked against the file size.

gguf.GGUFReader builds numpy views for every element of every array, which takes minutes for a
262k-entry vocabulary on the board's ARM cores; this reads the same layout with struct in seconds and
can name the tensor that a truncated file cuts off. Tensor payloads are memory-mapped, not read.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from zynpu.model.errors import ModelLoadError, UnsupportedModelError

# GGUF value types: id -> struct format (8 = string, 9 = array)
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_NP = {0: np.uint8, 1: np.int8, 2: np.uint16, 3: np.int16, 4: np.uint32, 5: np.int32, 6: np.float32,
       7: np.bool_, 10: np.uint64, 11: np.int64, 12: np.float64}


@dataclass
class GGUFTensor:
    name: str
    qtype: GGMLQuantizationType
    shape: tuple[int, ...]  # numpy order: (rows, columns)
    data: np.ndarray  # raw: element dtype for F32/F16, uint8 bytes (rows, row_bytes) for block types


@dataclass
class GGUFFile:
    path: Path
    version: int
    fields: dict[str, Any]
    tensors: list[GGUFTensor]
    mapping: mmap.mmap | None = None  # the read-only map every tensor's data views

    def release(self, data: np.ndarray) -> None:
        """Drop this process's pages of a tensor's bytes once they are consumed (they stay in the page
        cache; a later read maps them again). Mapped file pages count in RSS: without this, reading a
        whole model once leaves all of it resident."""
        if self.mapping is None or data.size == 0:
            return
        base = np.frombuffer(self.mapping, dtype=np.uint8).ctypes.data
        start = data.ctypes.data - base
        first = start // mmap.PAGESIZE * mmap.PAGESIZE
        end = start + data.nbytes
        if start >= 0 and end <= len(self.mapping):
            self.mapping.madvise(mmap.MADV_DONTNEED, first, end - first)


class _Cursor:
    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ModelLoadError(f"{self.path}: header runs past the end of the file (truncated?)")
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.take("Q")
        if self.pos + n > len(self.buf):
            raise ModelLoadError(f"{self.path}: header runs past the end of the file (truncated?)")
        s = bytes(self.buf[self.pos : self.pos + n]).decode("utf-8", errors="replace")
        self.pos += n
        return s

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.take(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype, count = self.take("I"), self.take("Q")
            if etype in _NP:
                size = np.dtype(_NP[etype]).itemsize * count
                if self.pos + size > len(self.buf):
                    raise ModelLoadError(f"{self.path}: header runs past the end of the file (truncated?)")
                arr = np.frombuffer(self.buf, dtype=_NP[etype], count=count, offset=self.pos)
                self.pos += size
                return arr.tolist()
            return [self.value(etype) for _ in range(count)]
        raise ModelLoadError(f"{self.path}: unknown GGUF value type {vtype} (corrupt header?)")


def read_gguf(path: str | os.PathLike) -> GGUFFile:
    """Parse and check the whole container; raises ModelLoadError naming the first bad tensor."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{path}: cannot map file ({e})") from None
    mm = np.frombuffer(mapping, dtype=np.uint8)
    cur = _Cursor(memoryview(mm), path)
    if len(mm) < 24 or bytes(mm[:4]) != b"GGUF":
        raise ModelLoadError(f"{path}: not a GGUF file (bad magic)")
    cur.pos = 4
    version, n_tensors, n_kv = cur.take("I"), cur.take("Q"), cur.take("Q")
    if version not in (2, 3):
        raise UnsupportedModelError(f"{path}: unsupported GGUF version {version}")
    fields: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        fields[key] = cur.value(cur.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = cur.string()
        dims = [cur.take("Q") for _ in range(cur.take("I"))]
        infos.append((name, dims, cur.take("I"), cur.take("Q")))
    align = int(fields.get("general.alignment", 32))
    base = (cur.pos + align - 1) // align * align
    tensors = []
    for name, dims, raw_type, offset in infos:
        try:
            qtype = GGMLQuantizationType(raw_type)
        except ValueError:
            raise UnsupportedModelError(f"{path}: tensor {name!r} has unknown GGML type {raw_type}") from None
        block, type_size = GGML_QUANT_SIZES[qtype]
        shape = tuple(int(d) for d in reversed(dims))
        n = int(np.prod(shape))
        if dims and dims[0] % block:
            msg = f"rows of {dims[0]} are not whole {qtype.name} blocks"
            raise ModelLoadError(f"{path}: tensor {name!r}: {msg}")
        start, nbytes = base + offset, n // block * type_size
        if start + nbytes > len(mm):
            raise ModelLoadError(f"{path}: tensor {name!r} ends at byte {start + nbytes} but the file has "
                                 f"{len(mm)} bytes (truncated?)")
        raw = mm[start : start + nbytes]
        if qtype == GGMLQuantizationType.F32:
            data = raw.view(np.float32).reshape(shape)
        elif qtype == GGMLQuantizationType.F16:
            data = raw.view(np.float16).reshape(shape)
        else:
            data = raw.reshape(*shape[:-1], shape[-1] // block * type_size)
        tensors.append(GGUFTensor(name, qtype, shape, data))
    return GGUFFile(path, version, fields, tensors, mapping)
