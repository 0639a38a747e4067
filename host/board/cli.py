"""`zynpu board deploy|run|hil|doctor`: the board over SSH, from a laptop or a CI runner."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from ..overlays.build_overlay import BOARDS  # one list: the boards of overlays/boards.json

__all__ = ["BOARDS", "register"]


def register(subparsers: Any) -> None:
    board = subparsers.add_parser("board", help="deploy to a board over SSH, run commands and tests there")
    commands = board.add_subparsers(dest="board_command", metavar="COMMAND")

    deploy = commands.add_parser("deploy", help="copy bitstream, hwh and the zynpu wheel; install it")
    _connection_args(deploy)
    _deploy_args(deploy)
    deploy.set_defaults(func=_deploy)

    run = commands.add_parser("run", help="run a command on the board (in the deploy folder and environment)")
    _connection_args(run)
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    run.set_defaults(func=_run)

    hil = commands.add_parser(
        "hil", help="deploy, run pytest on the board, fetch the JUnit XML and summarise"
    )
    _connection_args(hil)
    _deploy_args(hil)
    hil.add_argument(
        "--junit-out",
        type=Path,
        default=None,
        help="local JUnit XML path (default results/hil/BOARD-junit.xml)",
    )
    hil.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="-- PYTEST_ARGS (default: tests --target board)"
    )
    hil.set_defaults(func=_hil)
    _register_doctor(commands)


def _register_doctor(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check a board: image, Python, pynq, sudo, CMA, deployed bitstream, clocks"
    )
    _connection_args(doctor)
    doctor.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    """Print one line per check with its fix; exit 1 when a check fails (warnings do not)."""
    import json

    from zynpu.hw.manifest import DEFAULT_MANIFEST_PATH

    from .doctor import diagnose
    from .remote import Remote

    expected = json.loads(DEFAULT_MANIFEST_PATH.read_text())
    with Remote(_target(args)) as remote:  # changes nothing on the board (not even the deploy folder)
        _, where, _ = remote.run(f"cd -- {shlex.quote(args.remote_dir)} 2>/dev/null && pwd", stream=False)
        remote_dir = where.strip() or args.remote_dir
        checks = diagnose(remote, _env(args), _image(args), args.board, remote_dir, expected)
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if not c.ok and not c.warning]
    fix = f"; fix {', '.join(failed)}" if failed else ""
    print(f"doctor: {len(checks) - len(failed)} of {len(checks)} fine{fix}")
    return 1 if failed else 0


def _connection_args(parser: argparse.ArgumentParser) -> None:
    from ..cli_options import hidden_alias, port_number, positive_int
    from .layout import DEFAULT_REMOTE_DIR
    from .remote import DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT

    parser.add_argument("--host", required=True, help="USER@BOARD (key-based SSH only)")
    # dest stays `port` (code reads args.port); the flag says which port it is
    parser.add_argument("--ssh-port", dest="port", type=port_number, default=22, help="the board's SSH port")
    hidden_alias(parser, "--port", "port", type=port_number)
    parser.add_argument("--identity", help="private key file (default: SSH agent and ~/.ssh keys)")
    parser.add_argument("--known-hosts", help="check the host key strictly against this file")
    parser.add_argument("--board", choices=BOARDS, default="kv260", help="which board's bitstream")
    parser.add_argument(
        "--remote-dir", default=DEFAULT_REMOTE_DIR, help="deploy folder on the board (relative: under home)"
    )
    parser.add_argument(
        "--connect-timeout", type=positive_int, default=DEFAULT_CONNECT_TIMEOUT, help="seconds to connect"
    )
    parser.add_argument(
        "--timeout", type=positive_int, default=DEFAULT_COMMAND_TIMEOUT, help="seconds per remote command"
    )
    parser.add_argument(
        "--profile", choices=("pynq", "plain"), default="pynq",
        help="remote environment: pynq (sudo, PYNQ venv, XILINX_XRT=/usr) or plain",
    )  # fmt: skip
    parser.add_argument(
        "--prelude", help="shell lines run before every remote command (overrides the profile's)"
    )
    parser.add_argument(
        "--sudo", action=argparse.BooleanOptionalAction, default=None, help="run under sudo -n"
    )
    parser.add_argument("--python", help="the board's Python (default python3, after the prelude)")
    _image_args(parser)


def _image_args(parser: argparse.ArgumentParser) -> None:
    from .image import IMAGES

    parser.add_argument(
        "--image", choices=sorted(IMAGES),
        help="the board's PYNQ image (default: the board's; kv260 -> kria-pynq, login ubuntu)",
    )  # fmt: skip
    parser.add_argument("--image-root", default="", help="prefix of the image's paths (a twin of the image)")


def _image(args: argparse.Namespace) -> Any:
    from .image import BOARD_IMAGES, IMAGES

    return IMAGES[args.image or BOARD_IMAGES[args.board]].under(args.image_root)


def _deploy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", type=Path, help="checkout to build from (default: this one)")
    parser.add_argument("--bitstreams", type=Path, help="bitstream folder (default bitstreams/BOARD)")
    parser.add_argument("--no-bitstream", action="store_true", help="ship only the package (simulation use)")
    parser.add_argument(
        "--notebooks-dir",
        default=None,
        help="where deploy puts the notebooks (default: the image's Jupyter folder + /zynpu)",
    )
    parser.add_argument("--no-notebooks", action="store_true", help="do not copy the notebooks")
    parser.add_argument(
        "--extras", default="model",
        help="zynpu extras whose runtime wheels ship for the board's platform (comma list; 'none': none)",
    )  # fmt: skip
    parser.add_argument(
        "--install-into-env", action="store_true",
        help="also pip install into the board's Python environment (always done with notebooks)",
    )  # fmt: skip


def _target(args: argparse.Namespace) -> Any:
    from .remote import Target

    return Target(
        host=args.host,
        port=args.port,
        identity=args.identity,
        known_hosts=args.known_hosts,
        connect_timeout=args.connect_timeout,
        command_timeout=args.timeout,
    )


def _env(args: argparse.Namespace) -> Any:
    from dataclasses import replace

    from .remote import PROFILES

    env = PROFILES[args.profile]
    if args.profile == "pynq":
        env = replace(env, prelude=_image(args).prelude)
    if args.prelude is not None:
        env = replace(env, prelude=args.prelude)
    if args.sudo is not None:
        env = replace(env, sudo=args.sudo)
    if args.python:
        env = replace(env, python=args.python)
    return env


def _bitstream_dir(args: argparse.Namespace) -> Path | None:
    from .deploy import REPO_ROOT

    if args.no_bitstream:
        return None
    return args.bitstreams or REPO_ROOT / "bitstreams" / args.board


def _extras(args: argparse.Namespace) -> list[str]:
    names = [e.strip() for e in args.extras.split(",") if e.strip()]
    return [] if names in ([], ["none"]) else names


def _rest(words: list[str]) -> list[str]:
    return words[1:] if words[:1] == ["--"] else words


def _deploy(args: argparse.Namespace) -> int:
    from .deploy import REPO_ROOT, deploy
    from .remote import Remote

    with Remote(_target(args)) as remote:
        deploy(
            remote, _env(args), remote_dir=args.remote_dir, bitstream_dir=_bitstream_dir(args),
            into_env=args.install_into_env, root=args.source or REPO_ROOT, extras=_extras(args),
            notebooks_dir=None if args.no_notebooks else args.notebooks_dir or _image(args).notebooks_dir,
        )  # fmt: skip
    return 0


def _run(args: argparse.Namespace) -> int:
    from zynpu.errors import UserError

    from .deploy import resolve_remote_dir
    from .hil import remote_command
    from .remote import Remote

    words = _rest(args.command)
    if not words:
        raise UserError("no command: zynpu board run --host USER@BOARD -- COMMAND")
    command = words[0] if len(words) == 1 else shlex.join(words)
    env = _env(args)
    with Remote(_target(args)) as remote:
        remote_dir = resolve_remote_dir(remote, args.remote_dir)
        code, _, _ = remote.run(env.wrap(remote_command(remote_dir, command, overlay=True, board=args.board)))
    if code != 0:
        print(f"zynpu board run: remote command exited with {code}")
    return code


def _hil(args: argparse.Namespace) -> int:
    from .deploy import REPO_ROOT, deploy
    from .hil import run_pytest
    from .remote import Remote

    env = _env(args)
    bitstreams = _bitstream_dir(args)
    junit_out = args.junit_out or REPO_ROOT / "results" / "hil" / f"{args.board}-junit.xml"
    with Remote(_target(args)) as remote:
        report = deploy(
            remote, env, remote_dir=args.remote_dir, bitstream_dir=bitstreams, with_tests=True,
            into_env=args.install_into_env, root=args.source or REPO_ROOT, extras=_extras(args),
        )  # fmt: skip
        code, _ = run_pytest(
            remote, env, report.remote_dir, _rest(args.pytest_args), junit_out,
            overlay=bitstreams is not None, board=args.board,
        )  # fmt: skip
    return code
