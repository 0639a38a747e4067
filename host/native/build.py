"""Compile the native host's C sources into a shared library once, cached by their hash.

The library lives under the zynpu cache dir (`$ZYNPU_CACHE` or ~/.cache/zynpu) in `native/<digest>/`,
the digest covering the sources, the flags and the compiler's version, so an edit rebuilds and an
unchanged tree reuses the build. The board's PYNQ image ships gcc; a missing compiler is a UserError.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from ..device.sim.build import cache_root
from ..errors import UserError

LIBRARY = "libzynpu_native.so"
# -ffp-contract=off: no fused multiply-adds, so each float32 operation rounds where numpy's does; -O3 and
# -fno-trapping-math (nothing reads the FP exception flags) let the row loops vectorize; no -ffast-math,
# so no result changes (no reassociation, NaN and signed zeros kept).
CFLAGS = (
    "-std=c99",
    "-O3",
    "-ffp-contract=off",
    "-fno-trapping-math",
    "-fPIC",
    "-shared",
    "-Wall",
    "-Wextra",
)


class NativeBuildError(RuntimeError):
    """The compiler rejected the sources; the message carries its output."""


def compiler() -> str:
    """The C compiler ($CC or cc/gcc/clang on PATH), or a UserError saying how to get one."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    raise UserError(
        "the native host needs a C compiler (cc, gcc or clang), none found on PATH; install one "
        "(Debian/Ubuntu/PYNQ: sudo apt-get install gcc) or use --host python"
    )


def sources() -> list[Path]:
    folder = Path(str(resources.files("zynpu.native").joinpath("src")))
    return sorted(folder.glob("*.c")) + sorted(folder.glob("*.h"))


def digest(cc: str) -> str:
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    h = hashlib.sha256(f"{version}{CFLAGS}{platform.machine()}".encode())
    for path in sources():
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def ensure_library() -> Path:
    """Path of the compiled library for these sources, compiling it first if needed."""
    cc = compiler()
    folder = cache_root() / "native" / digest(cc)
    library = folder / LIBRARY
    if library.exists():
        return library
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel workers compile once
        if library.exists():
            return library
        tmp = folder / (LIBRARY + ".tmp")
        c_files = [str(p) for p in sources() if p.suffix == ".c"]
        result = subprocess.run(
            [cc, *CFLAGS, *c_files, "-o", str(tmp), "-lm"], capture_output=True, text=True
        )
        if result.returncode:
            raise NativeBuildError(f"{cc} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
        tmp.replace(library)
    return library
