"""A board's bitstream folder: write its manifest after a build, verify it before use.

`bitstreams/<board>/manifest.json` ties `zynpu.bit`/`zynpu.hwh` to the RTL configuration they were
built from. PYNQ caches overlay metadata by the .bit's hash and the tile's registers only show a
32-bit hash, so a stale or swapped bitstream is caught here, on the host, with the rebuild command.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zynpu.errors import UserError

MANIFEST_NAME = "manifest.json"
BIT_NAME = "zynpu.bit"
HWH_NAME = "zynpu.hwh"
SCHEMA = 1


class BitstreamError(UserError):
    """The bitstream folder is missing, incomplete, corrupt, or built from another RTL configuration."""


@dataclass(frozen=True)
class Bitstream:
    folder: Path
    manifest: dict[str, Any]

    @property
    def board(self) -> str:
        return str(self.manifest["board"])

    @property
    def bit(self) -> Path:
        return self.folder / BIT_NAME

    @property
    def hwh(self) -> Path:
        return self.folder / HWH_NAME

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def host_manifest() -> dict[str, Any]:
    """The tile manifest this host was built against (`zynpu.hw/manifest.json`)."""
    from zynpu.hw.manifest import DEFAULT_MANIFEST_PATH

    return json.loads(DEFAULT_MANIFEST_PATH.read_text())


def build_manifest(
    folder: Path,
    *,
    board: str,
    hw_manifest: dict[str, Any],
    vivado_version: str,
    expected_vivado: str,
    clock_mhz: float,
    timing: dict[str, Any],
    utilization: dict[str, Any],
) -> dict[str, Any]:
    """The manifest for the .bit/.hwh now in `folder` (checksums computed here)."""
    files = {}
    for name in (BIT_NAME, HWH_NAME):
        path = folder / name
        if not path.is_file():
            raise BitstreamError(f"{path} is missing: the Vivado run did not produce it")
        files[name] = {"sha256": sha256(path), "bytes": path.stat().st_size}
    tile = hw_manifest["tile"]
    period = 1000.0 / clock_mhz
    wns = float(timing["wns_ns"])
    return {
        "schema": SCHEMA,
        "board": board,
        "top": hw_manifest["name"],
        "vlnv": hw_manifest["vlnv"],
        "rtl_version": hw_manifest["rtl_version"],
        "config_hash": hw_manifest["config_hash"],
        "tile": {k: tile[k] for k in ("rows", "lanes", "max_k", "stream_bits")},
        "vivado": {"version": vivado_version, "expected": expected_vivado},
        "clock": {"target_mhz": clock_mhz, "fmax_mhz_estimate": round(1000.0 / (period - wns), 1)},
        "timing": timing,
        "utilization": utilization,
        "files": files,
        "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def write_manifest(folder: Path, **kwargs: Any) -> Path:
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(build_manifest(folder, **kwargs), indent=2) + "\n")
    return path


def load_bitstream(folder: Path, hw_manifest: dict[str, Any] | None = None) -> Bitstream:
    """Load and verify a bitstream folder against the host's tile manifest; raise BitstreamError if stale."""
    folder = Path(folder)
    board = folder.name
    rebuild = f"rebuild it with `make overlay BOARD={board}` (needs Vivado)"
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise BitstreamError(f"no bitstream for {board}: {path} is missing; {rebuild}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise BitstreamError(f"{path} is not valid JSON ({error}); {rebuild}") from None
    if isinstance(manifest.get("board"), str) and manifest["board"] != board:
        board = manifest["board"]  # a deployed copy lives in another folder ("overlay")
        rebuild = f"rebuild it with `make overlay BOARD={board}` (needs Vivado)"
    hw = hw_manifest if hw_manifest is not None else host_manifest()
    expected = {
        "config_hash": hw["config_hash"],
        "tile.rows": hw["tile"]["rows"],
        "tile.lanes": hw["tile"]["lanes"],
    }
    actual = {
        "config_hash": manifest.get("config_hash"),
        "tile.rows": manifest.get("tile", {}).get("rows"),
        "tile.lanes": manifest.get("tile", {}).get("lanes"),
    }
    differ = [
        f"{k}: bitstream {actual[k]!r} != host {expected[k]!r}" for k in expected if actual[k] != expected[k]
    ]
    if differ:
        raise BitstreamError(
            f"bitstream in {folder} was built from another RTL configuration ("
            + "; ".join(differ)
            + f"); {rebuild}, or install the host package matching it"
        )
    for name, entry in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            raise BitstreamError(f"{file} is missing (the manifest lists it); {rebuild}")
        digest = sha256(file)
        if digest != entry.get("sha256"):
            raise BitstreamError(
                f"{file}: sha256 {digest[:16]}... != manifest {str(entry.get('sha256'))[:16]}... "
                f"(file replaced or corrupt after the build); {rebuild}"
            )
    for name in (BIT_NAME, HWH_NAME):
        if name not in manifest.get("files", {}):
            raise BitstreamError(f"{path} has no checksum for {name}; {rebuild}")
    return Bitstream(folder, manifest)
