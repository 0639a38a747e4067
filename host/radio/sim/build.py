"""Build the firmware's portable link core as a shared library, once per source hash.

The simulator must run the firmware's own code, and a fresh clone has no binaries: the library is
compiled on first use into ~/.cache/zynpu/radio (or $ZYNPU_CACHE/radio), keyed by a hash of the
sources and flags, and published with an atomic rename so parallel test workers do not collide.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CORE_DIR = Path(__file__).resolve().parents[3] / "firmware_esp32" / "components" / "zynpu_link"
CFLAGS = ("-std=c11", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror")


class BuildError(RuntimeError):
    """The C core could not be compiled (no compiler, or the sources do not build)."""


def sources() -> list[Path]:
    if not CORE_DIR.is_dir():
        raise BuildError(f"firmware sources not found at {CORE_DIR} (the simulator needs a source checkout)")
    return sorted(CORE_DIR.glob("src/*.c")) + sorted(CORE_DIR.glob("include/*.h"))


def cache_dir() -> Path:
    base = os.environ.get("ZYNPU_CACHE") or Path.home() / ".cache" / "zynpu"
    return Path(base) / "radio"


def library_path(cc: str = "gcc") -> Path:
    """Return the path of the built library, compiling it if this source hash has not been built."""
    digest = hashlib.sha256(" ".join((cc, *CFLAGS)).encode())
    for path in sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    target = cache_dir() / f"libzynpu_link-{digest.hexdigest()[:16]}.so"
    if target.exists():
        return target
    compiler = shutil.which(cc)
    if compiler is None:
        raise BuildError(f"C compiler {cc!r} not found; install gcc to run the simulated ESP32")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [compiler, *CFLAGS, f"-I{CORE_DIR / 'include'}", "-o", tmp,
           *[str(p) for p in sources() if p.suffix == ".c"]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise BuildError(f"building the link core failed:\n{' '.join(cmd)}\n{proc.stderr}")
    os.replace(tmp, target)
    return target
