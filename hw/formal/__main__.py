"""`python -m zynpu.hw.formal`: prove the AXI handshake properties; exit status 1 on any failure.

Default: BMC from reset to DEFAULT_DEPTH steps, then the mutation self-check (each planted bug must make
the same check fail, so the proof is not vacuous). `--mode induction` tries k-induction instead (it does
not close on this design without strengthening invariants; see docs/tile.md, "Formal").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import DEFAULT_DEPTH, DEFAULT_WORKDIR, MUTATION_DEPTH, prove
from .harness import MUTATIONS, PROPERTIES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zynpu.hw.formal", description=__doc__)
    parser.add_argument("--mode", choices=("bmc", "induction"), default="bmc")
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    parser.add_argument("--mutation-depth", type=int, default=MUTATION_DEPTH)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--no-mutations", action="store_true", help="skip the planted-bug self-check")
    args = parser.parse_args(argv)

    ok = True
    result = prove(args.mode, args.depth, "none", args.workdir)
    for name in PROPERTIES:
        verdict = "PASS" if result.passed else ("FAIL" if name in result.failed_property else "not proved")
        print(f"  {verdict:10} {name}")
    print(result.summary(), f"[{result.log}]")
    ok &= result.passed
    if not args.no_mutations:
        for mutation in MUTATIONS[1:]:
            caught = prove("bmc", args.mutation_depth, mutation, args.workdir)
            verdict = "caught (FAIL as planted)" if not caught.passed else "MISSED"
            print(f"mutation {mutation}: {verdict} ({caught.seconds:.1f} s) {caught.failed_property}")
            ok &= not caught.passed and "counterexample" in caught.failed_property
    print("formal:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
