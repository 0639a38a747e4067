"""The `zynpu` command line: one sub-command group per subsystem.

Each subsystem module exposes `register(subparsers)`; its heavy imports happen inside the command
functions, so `zynpu --help` stays fast and a board without the simulation extras still runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from zynpu.errors import UserError

# Modules that add sub-commands; one line per subsystem.
COMMAND_MODULES: tuple[str, ...] = (
    "zynpu.hw.cli",
    "zynpu.board.cli",
    "zynpu.radio.cli",
    "zynpu.bench.cli",
    "zynpu.demo",
    "zynpu.roofline_cli",
    "zynpu.model.cli",
    "zynpu.agent.cli",
    "zynpu.serve.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zynpu",
        description="zynpu: a systolic int8 NPU tile on Zynq UltraScale+, simulated here, run on the board.",
    )
    parser.add_argument("--version", action="version", version=f"zynpu {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _version() -> str:
    from zynpu import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        result = args.func(args)
    except UserError as error:
        print(f"zynpu: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zynpu: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
