"""The AXI4-Lite register map: offsets, access, fields and meaning, defined once.

Counters are 32 bits and wrap; a reader takes differences modulo 2**32 (a job at 300 MHz would have
to run 14 s for one counter to wrap twice between two reads).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    doc: str


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: str  # "ro", "rw", or "wo" (write-only bits read back as described)
    doc: str
    fields: tuple[Field, ...] = ()


REGISTERS: tuple[Register, ...] = (
    Register("ID", 0x00, "ro", "fixed magic 0x5A4E5055 ('ZNPU')"),
    Register("VERSION", 0x04, "ro", "RTL version: major << 16 | minor << 8 | patch"),
    Register(
        "CONFIG",
        0x08,
        "ro",
        "build parameters",
        (
            Field("ROWS", 0, 8, "token rows R"),
            Field("LANES", 8, 8, "int8 lanes L (= stream bytes per beat)"),
            Field("STREAM_BYTES", 16, 8, "AXI4-Stream TDATA width in bytes"),
            Field("FEATURES", 24, 8, "feature bits (spec.Feature)"),
        ),
    ),
    Register("MAX_K", 0x0C, "ro", "largest K of one job"),
    Register("CONFIG_HASH", 0x10, "ro", "first 32 bits of the manifest's configuration hash"),
    Register(
        "CONTROL",
        0x14,
        "rw",
        "pulses act when written as 1 and read as 0; IRQ_ENABLE is kept",
        (
            Field("SOFT_RESET", 0, 1, "pulse: abandon the job in flight, return to idle"),
            Field("CLEAR_COUNTERS", 1, 1, "pulse: zero every performance counter"),
            Field("CLEAR_STATUS", 2, 1, "pulse: clear DONE and ERROR"),
            Field("IRQ_ENABLE", 3, 1, "drive the interrupt line while DONE is set"),
        ),
    ),
    Register(
        "STATUS",
        0x18,
        "ro",
        "job state",
        (
            Field("BUSY", 0, 1, "a job is in flight (header accepted, final output beat not yet sent)"),
            Field("DONE", 1, 1, "sticky: a job finished (with or without error)"),
            Field("ERROR", 8, 8, "sticky: code of the last failed job (spec.ErrorCode)"),
        ),
    ),
    Register("SCRATCH", 0x1C, "rw", "free for software; proves the bus works"),
    Register("CYCLES", 0x20, "ro", "cycles with BUSY set"),
    Register("ACTIVE", 0x24, "ro", "cycles in which a weight beat entered the array (MACs active)"),
    Register("STARVED", 0x28, "ro", "busy cycles the tile was ready for input but TVALID was low"),
    Register("STALLED", 0x2C, "ro", "cycles the output held TVALID against a low TREADY"),
    Register("JOBS", 0x30, "ro", "jobs finished without error"),
    Register("ERRORS", 0x34, "ro", "jobs finished with an error"),
)

COUNTERS: tuple[str, ...] = ("CYCLES", "ACTIVE", "STARVED", "STALLED", "JOBS", "ERRORS")


def register(name: str) -> Register:
    for reg in REGISTERS:
        if reg.name == name:
            return reg
    raise KeyError(f"no register named {name!r}")


def field(register_name: str, field_name: str) -> Field:
    for f in register(register_name).fields:
        if f.name == field_name:
            return f
    raise KeyError(f"register {register_name} has no field {field_name!r}")
