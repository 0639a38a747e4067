"""Hardware in the loop: run the project's pytest suite on the board and bring the JUnit XML back."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from zynpu.errors import UserError

from . import layout
from .junit import JUnitSummary, summarize
from .remote import Remote, RemoteEnv

DEFAULT_PYTEST_ARGS = ("tests", "--target", "board")
REMOTE_JUNIT = "results/junit.xml"


def remote_command(remote_dir: str, command: str, *, overlay: bool, board: str | None = None) -> str:
    """`command` inside the deploy folder with the deployed package first on PYTHONPATH."""
    rd = shlex.quote(remote_dir)
    exports = [
        f"export PYTHONPATH={rd}/lib${{PYTHONPATH:+:$PYTHONPATH}}",
        f"export {layout.ENV_REMOTE_DIR}={rd}",
    ]
    if overlay:
        exports.append(f"export {layout.ENV_BITSTREAM_DIR}={shlex.quote(layout.overlay_dir(remote_dir))}")
    if board:
        exports.append(f"export ZYNPU_BOARD={shlex.quote(board)}")
    return "; ".join([*exports, f"cd {rd}", command])


def run_pytest(
    remote: Remote,
    env: RemoteEnv,
    remote_dir: str,
    pytest_args: Sequence[str],
    junit_out: Path,
    *,
    overlay: bool,
    board: str | None,
    timeout: int | None = None,
) -> tuple[int, JUnitSummary]:
    """Run pytest remotely (output streamed), fetch its JUnit XML to `junit_out`, summarise it."""
    args = list(pytest_args) or list(DEFAULT_PYTEST_ARGS)
    junit_remote = f"{remote_dir}/{REMOTE_JUNIT}"
    pytest = f"{env.python} -m pytest -p no:cacheprovider --junitxml={shlex.quote(junit_remote)} "
    pytest += shlex.join(args)
    command = f"rm -f {shlex.quote(junit_remote)}; {pytest}"
    code, _, _ = remote.run(
        env.wrap(remote_command(remote_dir, command, overlay=overlay, board=board)), timeout=timeout
    )
    if remote.sha256([junit_remote]).get(junit_remote) is None:
        raise UserError(
            f"{remote.target}: pytest exited with {code} and wrote no JUnit XML "
            f"(wrong PYTEST_ARGS, pytest missing from the board's Python `{env.python}`, or sudo refused?)"
        )
    remote.get(junit_remote, junit_out)
    summary = summarize(junit_out)
    print(f"hil: {summary.line()} (exit code {code}; JUnit XML in {junit_out})")
    for name in summary.failed_names:
        print(f"  FAILED {name}")
    return code, summary
