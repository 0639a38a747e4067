"""Artefacts compiled on this machine (the simulator, the native host), cached under one directory.

Each build lives in a folder named by a digest of what shapes it, so an edit rebuilds and an unchanged
tree reuses the build; a file lock makes parallel workers that ask at once build it only once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def cache_root() -> Path:
    """`$ZYNPU_CACHE`, else ~/.cache/zynpu."""
    base = os.environ.get("ZYNPU_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "zynpu"


def files_digest(files: Iterable[Any], extra: str = "") -> str:
    """16 hex digits of SHA-256 over `extra`, then each file's name and bytes (paths or resources)."""
    digest = hashlib.sha256(extra.encode())
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def build_once(artefact: Path, build: Callable[[], None]) -> Path:
    """`artefact`, calling `build` first if it is missing; `build` must create it atomically."""
    if artefact.exists():
        return artefact
    artefact.parent.mkdir(parents=True, exist_ok=True)
    with open(artefact.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not artefact.exists():
            build()
    return artefact
