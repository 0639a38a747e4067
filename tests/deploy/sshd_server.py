"""A real OpenSSH server on 127.0.0.1 with its own host key: what the deploy tests talk to.

Stdlib only: this folder is also shipped to boards, whose Python lacks the test extras.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD_START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Sshd:
    user: str
    port: int
    identity: Path  # the client's private key
    known_hosts: Path  # the server's host key, for strict checking
    home: Path  # scratch folder the tests deploy into

    @property
    def host(self) -> str:
        return f"{self.user}@127.0.0.1"


def _sshd_binary() -> str | None:
    return shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd",) if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zynpu-test", "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path.with_suffix(".pub").read_text().strip()


def _wait_for_banner(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SSHD_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"sshd did not answer on 127.0.0.1:{port} within {SSHD_START_TIMEOUT} s: {log.read_text()}"
    )


def start_sshd(base: Path, authorized_keys: Path, port: int) -> subprocess.Popen[bytes]:
    """sshd -D on 127.0.0.1:port with its own host key (base/host_key); returns the running process."""
    binary = _sshd_binary()
    assert binary is not None
    config = base / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {base / 'host_key'}",
                f"PidFile {base / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized_keys}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "StrictModes no",
                "UsePAM no",
                "PrintMotd no",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
    check = subprocess.run([binary, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"sshd rejected the test config: {check.stderr}")
    log = base / "sshd.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stdout=log_file, stderr=log_file)
    try:
        _wait_for_banner(port, process, log)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def have_openssh() -> bool:
    return _sshd_binary() is not None and shutil.which("ssh-keygen") is not None


