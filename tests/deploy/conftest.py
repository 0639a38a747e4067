"""A real OpenSSH server on 127.0.0.1 standing in for the board, with a throwaway key.

Stdlib only at import time: this folder is also shipped to boards, whose Python lacks the test extras.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator

import pytest

from .sshd_server import Sshd, _keygen, free_port, have_openssh, start_sshd, stop


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not have_openssh():
        pytest.skip("OpenSSH server not installed (apt-get install openssh-server)")
    base = tmp_path_factory.mktemp("sshd")
    host_key = _keygen(base / "host_key")
    client_key = _keygen(base / "client_key")
    (base / "authorized_keys").write_text(client_key + "\n")
    port = free_port()
    (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    process = start_sshd(base, base / "authorized_keys", port)
    try:
        home = base / "home"
        home.mkdir()
        yield Sshd(getpass.getuser(), port, base / "client_key", base / "known_hosts", home)
    finally:
        stop(process)
