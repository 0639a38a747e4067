"""Load the tile manifest exported by `zynpu hw manifest` into a typed, read-only view."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TileManifest:
    """What the host needs to know about one tile build; everything comes from the JSON."""

    raw: dict[str, Any] = field(repr=False)

    @property
    def rows(self) -> int:
        return int(self.raw["tile"]["rows"])

    @property
    def lanes(self) -> int:
        return int(self.raw["tile"]["lanes"])

    @property
    def max_k(self) -> int:
        return int(self.raw["tile"]["max_k"])

    @property
    def max_n(self) -> int:
        return int(self.raw["layout"]["max_n"])

    @property
    def stream_bytes(self) -> int:
        return int(self.raw["tile"]["stream_bits"]) // 8

    @property
    def features(self) -> int:
        return int(self.raw["tile"]["features"])

    @property
    def rtl_version(self) -> tuple[int, int, int]:
        major, minor, patch = (int(p) for p in self.raw["rtl_version"].split("."))
        return major, minor, patch

    @property
    def version_word(self) -> int:
        major, minor, patch = self.rtl_version
        return major << 16 | minor << 8 | patch

    @property
    def id_magic(self) -> int:
        return int(self.raw["id_magic"])

    @property
    def config_hash(self) -> str:
        return str(self.raw["config_hash"])

    @property
    def config_hash32(self) -> int:
        return int(self.raw["config_hash32"])

    @property
    def header(self) -> dict[str, Any]:
        return self.raw["layout"]["header"]

    @property
    def error_magic(self) -> int:
        return int(self.raw["layout"]["error_magic"])

    @property
    def output_beats_per_row(self) -> int:
        return int(self.raw["layout"]["output_beats_per_row"])

    @property
    def weight_formats(self) -> dict[str, Any]:
        """Per format name ("int8", "int4"): code, weight bits, group and scale facts (spec.WeightFormat)."""
        return {k: v for k, v in self.raw["layout"]["weight_formats"].items() if isinstance(v, dict)}

    def weight_format(self, name: str) -> dict[str, Any]:
        try:
            return self.weight_formats[name]
        except KeyError:
            known = ", ".join(self.weight_formats)
            raise ValueError(f"unknown weight format {name!r}; the tile knows {known}") from None

    @property
    def int4_group(self) -> int:
        """K values per int4 scale."""
        return int(self.weight_format("int4")["group"])

    @property
    def cycle_model(self) -> dict[str, Any]:
        return self.raw["cycle_model"]

    def offset(self, register: str) -> int:
        """Byte offset of a register by name."""
        for reg in self.raw["registers"]:
            if reg["name"] == register:
                return int(reg["offset"])
        raise KeyError(f"the manifest has no register {register!r}")

    def field(self, register: str, name: str) -> tuple[int, int]:
        """(lsb, width) of a register field."""
        for reg in self.raw["registers"]:
            if reg["name"] == register:
                for f in reg["fields"]:
                    if f["name"] == name:
                        return int(f["lsb"]), int(f["width"])
        raise KeyError(f"the manifest has no field {register}.{name}")

    def bit(self, register: str, name: str) -> int:
        """Mask of a one-bit field."""
        lsb, _ = self.field(register, name)
        return 1 << lsb

    def extract(self, register: str, name: str, value: int) -> int:
        lsb, width = self.field(register, name)
        return (value >> lsb) & ((1 << width) - 1)

    @property
    def counters(self) -> tuple[str, ...]:
        return tuple(self.raw["counters"])

    @property
    def errors(self) -> dict[str, int]:
        return dict(self.raw["errors"])

    def error_name(self, code: int) -> str:
        for name, value in self.errors.items():
            if value == code:
                return name
        return f"UNKNOWN_{code}"

    @property
    def config_word(self) -> int:
        """The value the CONFIG register must read back."""
        return self.rows | self.lanes << 8 | self.stream_bytes << 16 | self.features << 24

    @property
    def identity(self) -> dict[str, int]:
        """What the read-only identity registers of this build read: `Npu` checks them, `ref` answers them."""
        return {
            "ID": self.id_magic,
            "VERSION": self.version_word,
            "CONFIG": self.config_word,
            "MAX_K": self.max_k,
            "CONFIG_HASH": self.config_hash32,
        }


def load_manifest(path: str | Path | None = None) -> TileManifest:
    """The manifest at `path`, or the one shipped with the package (the default tile build)."""
    if path is None:
        text = resources.files("zynpu.hw").joinpath("manifest.json").read_text()
    else:
        text = Path(path).read_text()
    return TileManifest(json.loads(text))
