"""One SSH session to a board: bounded commands, checksums and file transfer.

Fabric's `connect_timeout` bounds only the TCP connect, so the banner and auth timeouts are set to
the same value and every command gets its own timeout: a board that hangs cannot hang CI.
Authentication is by key only; password prompts would block an unattended runner and tempt people
into committing secrets.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from zynpu.errors import UserError

DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_COMMAND_TIMEOUT = 600


@dataclass(frozen=True)
class Target:
    """Where the board is and how long to wait for it."""

    host: str  # USER@HOST or HOST
    port: int = 22
    identity: str | None = None  # private key file; None: the agent and ~/.ssh/id_* keys
    known_hosts: str | None = None  # strict checking against this file; None: trust on first use
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT
    command_timeout: int = DEFAULT_COMMAND_TIMEOUT

    @property
    def user_host(self) -> tuple[str | None, str]:
        user, _, host = self.host.rpartition("@")
        if not host:
            raise UserError(f"bad --host {self.host!r}: expected USER@HOST")
        return user or None, host

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RemoteEnv:
    """How remote commands get their environment: a shell prelude, variables and optional sudo.

    On a PYNQ image the overlay needs root, `XILINX_XRT=/usr` and the PYNQ venv; elsewhere (a
    loopback test, a plain Linux board) a different prelude or none.
    """

    prelude: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    sudo: bool = False
    python: str = "python3"

    def wrap(self, command: str, extra_env: Mapping[str, str] | None = None) -> str:
        """The remote command line: `[sudo -n] env K=V... bash -c 'PRELUDE; COMMAND'`."""
        script = f"{self.prelude}\n{command}" if self.prelude.strip() else command
        variables = {**self.env, **(extra_env or {})}
        words = ["env", *(f"{k}={v}" for k, v in variables.items()), "bash", "-c", script]
        if self.sudo:
            # -n: fail at once instead of waiting for a password nobody will type.
            words = ["sudo", "-n", *words]
        return shlex.join(words)


PROFILES: dict[str, RemoteEnv] = {
    "pynq": RemoteEnv(
        prelude="source /etc/profile.d/pynq_venv.sh",
        env={"XILINX_XRT": "/usr"},
        sudo=True,
        python="python3",
    ),
    "plain": RemoteEnv(),
}


class Remote:
    """An open connection to one board; use as a context manager (`with connect(target) as r:`)."""

    def __init__(self, target: Target) -> None:
        from fabric import Config, Connection

        self.target = target
        user, host = target.user_host
        # No auth strategy from user config (it could prompt for a password); key sources only.
        config = Config(overrides={"authentication": {"strategy_class": None}, "run": {"hide": False}})
        connect_kwargs: dict[str, Any] = {
            "allow_agent": target.identity is None,
            "look_for_keys": target.identity is None,
            "banner_timeout": target.connect_timeout,
            "auth_timeout": target.connect_timeout,
            "channel_timeout": target.connect_timeout,
        }
        if target.identity:
            key = Path(target.identity).expanduser()
            if not key.is_file():
                raise UserError(f"--identity {key}: no such key file")
            connect_kwargs["key_filename"] = [str(key)]
        self.connection = Connection(
            host,
            user=user,
            port=target.port,
            connect_timeout=target.connect_timeout,
            connect_kwargs=connect_kwargs,
            config=config,
        )
        if target.known_hosts:
            import paramiko

            self.connection.client.load_host_keys(str(Path(target.known_hosts).expanduser()))
            self.connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())

    def __enter__(self) -> Remote:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def open(self) -> None:
        import paramiko

        where = str(self.target)
        try:
            self.connection.open()
        except paramiko.AuthenticationException as error:
            raise UserError(
                f"{where}: key-based authentication failed ({error}); passwords are never tried: put your "
                "public key in the board's ~/.ssh/authorized_keys or pass --identity KEY"
            ) from None
        except paramiko.BadHostKeyException as error:
            raise UserError(f"{where}: host key mismatch ({error}); check --known-hosts") from None
        except paramiko.SSHException as error:
            text = str(error)
            if "not found in known_hosts" in text or "known_hosts" in text:
                raise UserError(f"{where}: unknown host key and --known-hosts is strict: {text}") from None
            raise UserError(
                f"{where}: SSH failed ({text or type(error).__name__}) within the "
                f"{self.target.connect_timeout} s connect timeout; is sshd running on the board?"
            ) from None
        except TimeoutError:
            raise UserError(
                f"{where}: no answer within the {self.target.connect_timeout} s connect timeout; "
                "is the board powered, on the network, and is --host/--port right?"
            ) from None
        except OSError as error:
            raise UserError(
                f"{where}: cannot connect ({error.strerror or error}); is the board up and sshd running?"
            ) from None

    def run(
        self,
        command: str,
        *,
        timeout: int | None = None,
        stream: bool = True,
        out: IO[str] | None = None,
    ) -> tuple[int, str, str]:
        """Run `command` remotely; return (exit code, stdout, stderr). Never raises on a non-zero exit."""
        from invoke.exceptions import CommandTimedOut

        limit = timeout or self.target.command_timeout
        timed_out = UserError(
            f"{self.target}: remote command did not finish within {limit} s (raise --timeout): {command}"
        )
        start = time.monotonic()
        try:
            result = self.connection.run(
                command,
                warn=True,
                hide=not stream,
                timeout=limit,
                in_stream=False,
                out_stream=out or (sys.stdout if stream else None),
                err_stream=sys.stderr if stream else None,
            )
        except CommandTimedOut:
            raise timed_out from None
        # invoke decides "timed out" by whether its timer thread has ended; on a loaded machine the
        # command can come back killed (exit -1) before that thread does, and no CommandTimedOut is raised.
        if time.monotonic() - start >= limit:
            raise timed_out
        return result.exited, result.stdout, result.stderr

    def check(self, command: str, *, timeout: int | None = None) -> str:
        """Run a quiet helper command that must succeed; return its stdout."""
        code, stdout, stderr = self.run(command, timeout=timeout, stream=False)
        if code != 0:
            raise UserError(f"{self.target}: `{command}` failed with exit code {code}: {stderr.strip()}")
        return stdout

    def sha256(self, paths: Iterable[str]) -> dict[str, str]:
        """sha256 of those remote files that exist (absent files are simply missing from the result)."""
        paths = list(paths)
        if not paths:
            return {}
        _code, stdout, _ = self.run(
            "sha256sum -- " + " ".join(shlex.quote(p) for p in paths) + " 2>/dev/null; true", stream=False
        )
        digests: dict[str, str] = {}
        for line in stdout.splitlines():
            digest, _, name = line.partition("  ")
            if len(digest) == 64 and name:
                digests[name] = digest
        return digests

    def mkdirs(self, folders: Iterable[str]) -> None:
        folders = sorted(set(folders))
        if folders:
            self.check("mkdir -p -- " + " ".join(shlex.quote(f) for f in folders))

    def _sftp(self) -> Any:
        sftp = self.connection.sftp()
        sftp.get_channel().settimeout(self.target.command_timeout)
        return sftp

    def put(self, local: Path, remote: str) -> None:
        try:
            self._sftp().put(str(local), remote)
        except (OSError, TimeoutError) as error:
            raise UserError(f"{self.target}: copying {local} to {remote} failed: {error}") from None

    def get(self, remote: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._sftp().get(remote, str(local))
        except (OSError, TimeoutError) as error:
            raise UserError(f"{self.target}: fetching {remote} failed: {error}") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
