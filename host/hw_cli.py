"""`zynpu hw`: export the tile's manifest and Verilog.

The command line lives on the host side so that `zynpu.hw` imports nothing from the rest of `zynpu`
(tests/test_layering.py): the RTL package stays usable on its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zynpu.errors import UserError
from zynpu.hw import spec


def _config(args: argparse.Namespace) -> spec.TileConfig:
    try:
        return spec.TileConfig(rows=args.rows, lanes=args.lanes, max_k=args.max_k)
    except ValueError as error:
        raise UserError(str(error)) from error


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    d = spec.DEFAULT_CONFIG
    parser.add_argument("--rows", type=int, default=d.rows, help=f"token rows R (default {d.rows})")
    parser.add_argument("--lanes", type=int, default=d.lanes, help=f"int8 lanes L (default {d.lanes})")
    parser.add_argument("--max-k", type=int, default=d.max_k, help=f"largest K of a job (default {d.max_k})")


def cmd_manifest(args: argparse.Namespace) -> int:
    from zynpu.hw.manifest import DEFAULT_MANIFEST_PATH, manifest_text

    text = manifest_text(_config(args))
    if args.check:
        committed = DEFAULT_MANIFEST_PATH.read_text()
        if committed != text:
            fix = f"zynpu hw manifest -o {DEFAULT_MANIFEST_PATH}"
            print(f"{DEFAULT_MANIFEST_PATH} is stale: run `{fix}`", file=sys.stderr)
            return 1
        print(f"{DEFAULT_MANIFEST_PATH} is up to date")
        return 0
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_verilog(args: argparse.Namespace) -> int:
    from zynpu.hw.export import verilog_text

    text = verilog_text(_config(args), primitives=not args.dsp_model)
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out} ({len(text) // 1024} KiB)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    hw = subparsers.add_parser("hw", help="the tile's RTL: manifest and Verilog export")
    sub = hw.add_subparsers(dest="hw_command", metavar="COMMAND", required=True)

    manifest = sub.add_parser(
        "manifest",
        help="print the tile manifest (register map, packet layout, shape, hash) as JSON",
        description="The manifest is the one exported definition of the tile's interface; host, overlays "
        "and tests read it. hw/manifest.json is the committed export of the default build.",
    )
    _add_config_options(manifest)
    manifest.add_argument("-o", "--output", help="write to this file instead of stdout")
    manifest.add_argument("--check", action="store_true", help="fail if hw/manifest.json is stale")
    manifest.set_defaults(func=cmd_manifest)

    verilog = sub.add_parser(
        "verilog",
        help="write the tile's Verilog (top module zynpu_tile) for Vivado and simulators",
        description="Generates Verilog with Amaranth and Yosys (needs the `sim` extra).",
    )
    _add_config_options(verilog)
    verilog.add_argument("-o", "--output", help="write to this file instead of stdout")
    verilog.add_argument(
        "--dsp-model",
        action="store_true",
        help="the MAC slices as plain logic (for a simulator) instead of DSP48E2 instances (for Vivado)",
    )
    verilog.set_defaults(func=cmd_verilog)
