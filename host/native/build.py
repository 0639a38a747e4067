"""Compile the native host's C sources into a shared library once, cached by their hash.

The library lives under the zynpu cache dir (`$ZYNPU_CACHE` or ~/.cache/zynpu) in `native/<digest>/`,
the digest covering the sources, the flags and the compiler's version, so an edit rebuilds and an
unchanged tree reuses the build. The board's PYNQ image ships gcc; a missing compiler is a UserError.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from ..build_cache import build_once, cache_root, files_digest
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
    return files_digest(sources(), f"{version}{CFLAGS}{platform.machine()}")


def ensure_library() -> Path:
    """Path of the compiled library for these sources, compiling it first if needed."""
    cc = compiler()
    library = cache_root() / "native" / digest(cc) / LIBRARY

    def build() -> None:
        tmp = library.with_name(LIBRARY + ".tmp")
        c_files = [str(p) for p in sources() if p.suffix == ".c"]
        result = subprocess.run(
            [cc, *CFLAGS, *c_files, "-o", str(tmp), "-lm"], capture_output=True, text=True
        )
        if result.returncode:
            raise NativeBuildError(f"{cc} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
        tmp.replace(library)

    return build_once(library, build)
