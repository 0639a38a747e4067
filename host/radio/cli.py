"""`zynpu radio ...`: flash the ESP32 firmware, open its serial console, ping/benchmark the link.

Heavy imports (esptool, pyserial, the simulator) happen inside the commands.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from zynpu.cli_options import add_json, hidden_alias, positive_float, positive_int

    radio = subparsers.add_parser("radio", help="ESP32 Wi-Fi/BLE coprocessor: flash, console, link tests")
    sub = radio.add_subparsers(dest="radio_command", metavar="SUBCOMMAND")

    p = sub.add_parser("flash", help="flash firmware_esp32's build outputs with esptool")
    _serial(p)
    p.add_argument("--baud", type=positive_int, default=921600, help="serial speed while flashing")
    p.add_argument("--build-dir", type=Path, default=None,
                   help="ESP-IDF build directory (firmware_esp32/build)")
    p.add_argument("--dry-run", action="store_true", help="print the esptool command instead of running it")
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser("console", help="print the ESP32's serial log (Ctrl-C to quit)")
    _serial(p)
    p.add_argument("--baud", type=positive_int, default=115200, help="the firmware's console speed")
    p.add_argument("--reset", action="store_true", help="pulse EN via RTS first to see the boot log")
    p.add_argument("--seconds", type=positive_float, default=None, help="stop after this many seconds")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("bench", help="benchmark the link on the simulated ESP32")
    add_json(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("ping", help="ping through the simulated ESP32 (or the board's with --radio)")
    p.add_argument(
        "--radio", default="sim", help="sim (the simulated ESP32) or the board's spidev, e.g. /dev/spidev1.0"
    )
    hidden_alias(p, "--spi", "radio")
    p.add_argument("--count", type=positive_int, default=5, help="pings to send")
    add_json(p, "the firmware version and round-trip times")
    p.set_defaults(func=cmd_ping)


def _serial(p: argparse.ArgumentParser) -> None:
    """`--serial`: the ESP32's USB serial port (`--port` is its old name, kept for scripts)."""
    from zynpu.cli_options import hidden_alias

    # dest stays `port` (code reads args.port); the flag says which port it is
    p.add_argument("--serial", dest="port", help="serial port of the ESP32, e.g. /dev/ttyUSB0 (required)")
    hidden_alias(p, "--port", "port")


def _need_serial(args: argparse.Namespace) -> str:
    if not args.port:  # not argparse-required, so that the old name --port also satisfies it
        raise _error("--serial is required: the ESP32's USB serial port, e.g. --serial /dev/ttyUSB0")
    return args.port


def _error(message: str) -> Exception:
    from zynpu.errors import UserError

    return UserError(message)


def cmd_flash(args: argparse.Namespace) -> int:
    import subprocess

    from .flash import DEFAULT_BUILD_DIR, FlashError, esptool_command

    try:
        cmd = esptool_command(_need_serial(args), args.build_dir or DEFAULT_BUILD_DIR, args.baud)
    except FlashError as e:
        raise _error(str(e)) from e
    print(" ".join(cmd))
    if args.dry_run:
        return 0
    try:
        import esptool  # noqa: F401
    except ImportError as e:
        raise _error("esptool is not installed: pip install 'zynpu[radio]'") from e
    return subprocess.run(cmd, check=False).returncode


def cmd_console(args: argparse.Namespace) -> int:
    import sys
    import time

    try:
        import serial
    except ImportError as e:
        raise _error("pyserial is not installed: pip install 'zynpu[radio]'") from e
    try:
        port = serial.Serial(_need_serial(args), args.baud, timeout=0.2)
    except serial.SerialException as e:
        raise _error(f"cannot open {args.port}: {e}; check the cable and --serial") from e
    with port:
        if args.reset:
            port.dtr, port.rts = False, True
            time.sleep(0.1)
            port.rts = False
        end = None if args.seconds is None else time.monotonic() + args.seconds
        while end is None or time.monotonic() < end:
            data = port.read(4096)
            if data:
                sys.stdout.write(data.decode("utf-8", "replace"))
                sys.stdout.flush()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    result = bench.run()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        from zynpu.cli_options import format_value

        for key, value in result.items():
            print(f"{key:>26}: {format_value(value)}")
    return 0


def cmd_ping(args: argparse.Namespace) -> int:
    from .driver import Radio
    from .errors import RadioError

    if args.radio != "sim":
        from .spidev import SpidevTransport

        try:
            transport = SpidevTransport(args.radio)
        except (OSError, ImportError) as e:
            raise _error(f"cannot open the SPI link on {args.radio}: {e}; here use --radio sim") from e
    else:
        from .sim.bus import SimBus

        transport = SimBus()
    with Radio(transport) as radio:
        try:
            radio.wait_up(3)
            version = radio.system.version()
            if not args.json:
                print(f"ESP32 firmware: {version}")
            times = []
            for _ in range(args.count):
                times.append(radio.system.ping(b"zynpu") * 1000)
                if not args.json:
                    print(f"ping: {times[-1]:.3f} ms")
            if args.json:
                print(json.dumps({"radio": args.radio, "firmware": str(version), "ping_ms": times}))
        except RadioError as e:
            raise _error(str(e)) from e
    return 0
