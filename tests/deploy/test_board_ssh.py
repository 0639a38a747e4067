"""`zynpu board deploy|run|hil` against a real sshd on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fabric")

from zynpu.board import cli as board_cli
from zynpu.board.deploy import deploy
from zynpu.board.junit import summarize
from zynpu.board.remote import PROFILES, Remote, Target
from zynpu.errors import UserError
from zynpu.overlays import bitstream as bs

from .snapshot import snapshot_checkout

# The loopback "board": no sudo, no PYNQ; this interpreter has pytest, the deployed package comes first.
BOARD_ENV = ["--profile", "plain", "--no-sudo", "--python", sys.executable]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frozen copy of the checkout: others edit the live tree while these tests run."""
    return snapshot_checkout(tmp_path_factory.mktemp("checkout"), ["tests/deploy", "notebooks"])


def board(argv: list[str]) -> int:
    """The `zynpu board` group as `zynpu.cli.main` runs it (UserError propagates to the test)."""
    parser = argparse.ArgumentParser(prog="zynpu")
    board_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["board", *argv])
    return int(args.func(args) or 0)


def connection(sshd: Any, remote_dir: Path, source: Path | None = None) -> list[str]:
    return [*(["--source", str(source)] if source else []),
            "--host", sshd.host, "--port", str(sshd.port), "--identity", str(sshd.identity),
            "--known-hosts", str(sshd.known_hosts), "--remote-dir", str(remote_dir),
            "--connect-timeout", "5", "--timeout", "120"]  # fmt: skip


def make_bitstream(folder: Path, hwh: bytes = b"<hwh/>") -> Path:
    """A stand-in bitstream folder (no Vivado here) with a manifest that matches the host package."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / bs.BIT_NAME).write_bytes(b"\x00\x09\x0f\xf0" * 64)
    (folder / bs.HWH_NAME).write_bytes(hwh)
    bs.write_manifest(
        folder, board=folder.name, hw_manifest=bs.host_manifest(), vivado_version="2022.1",
        expected_vivado="2022.1", clock_mhz=250.0,
        timing={"wns_ns": 0.2, "tns_ns": 0.0, "whs_ns": 0.01, "ths_ns": 0.0, "failing_endpoints": 0,
                "met": True},
        utilization={"LUT": {"used": 1, "available": 2, "percent": 50.0}},
    )  # fmt: skip
    return folder


def test_deploy_copies_only_what_changed(sshd: Any, source: Path, tmp_path: Path) -> None:
    remote_dir = sshd.home / "deploy-idem"
    overlay = make_bitstream(tmp_path / "kv260")
    target = Target(sshd.host, sshd.port, str(sshd.identity), str(sshd.known_hosts), connect_timeout=5)
    env = PROFILES["plain"]
    with Remote(target) as remote:
        first = deploy(remote, env, remote_dir=str(remote_dir), bitstream_dir=overlay, root=source)
        assert set(first.copied) == {"overlay/zynpu.bit", "overlay/zynpu.hwh", "overlay/manifest.json",
                                     "dist/zynpu-0.1.0-py3-none-any.whl"}  # fmt: skip
        assert first.installed
        assert (remote_dir / "overlay" / "zynpu.hwh").read_bytes() == b"<hwh/>"
        assert (remote_dir / "lib" / "zynpu" / "hw" / "manifest.json").is_file()

        second = deploy(remote, env, remote_dir=str(remote_dir), bitstream_dir=overlay, root=source)
        assert second.copied == []
        assert len(second.skipped) == 4
        assert not second.installed

        make_bitstream(overlay, hwh=b"<hwh version='2'/>")
        third = deploy(remote, env, remote_dir=str(remote_dir), bitstream_dir=overlay, root=source)
        assert sorted(third.copied) == ["overlay/manifest.json", "overlay/zynpu.hwh"]
        assert not third.installed


def test_deploy_installs_the_notebooks_once(sshd: Any, source: Path) -> None:
    notebooks = sshd.home / "jupyter_notebooks" / "zynpu"
    conn = connection(sshd, sshd.home / "deploy-nb")
    argv = ["deploy", *conn, *BOARD_ENV, "--no-bitstream", "--source", str(source)]
    assert board([*argv, "--notebooks-dir", str(notebooks)]) == 0
    shipped = sorted(p.name for p in notebooks.glob("*.ipynb"))
    assert shipped == sorted(p.name for p in (source / "notebooks").glob("*.ipynb")) and shipped
    for name in shipped:
        assert (notebooks / name).read_bytes() == (source / "notebooks" / name).read_bytes()
    with Remote(Target(sshd.host, sshd.port, str(sshd.identity), str(sshd.known_hosts), 5)) as remote:
        again = deploy(
            remote, PROFILES["plain"], remote_dir=str(sshd.home / "deploy-nb"), bitstream_dir=None,
            root=source, notebooks_dir=str(notebooks),
        )  # fmt: skip
    assert again.copied == [] and all(f"notebooks/{name}" in again.skipped for name in shipped)


def test_deploy_refuses_a_stale_bitstream(sshd: Any, tmp_path: Path) -> None:
    overlay = make_bitstream(tmp_path / "zcu104")
    (overlay / bs.BIT_NAME).write_bytes(b"changed after the build")
    with pytest.raises(UserError, match=r"zynpu.bit: sha256 .*make overlay BOARD=zcu104"):
        board(
            [
                "deploy",
                *connection(sshd, sshd.home / "stale"),
                *BOARD_ENV,
                "--bitstreams",
                str(overlay),
                "--no-notebooks",
            ]
        )
    assert not (sshd.home / "stale").exists(), "nothing may be copied when the bitstream is refused"


def test_run_streams_output_and_returns_exit_code(
    sshd: Any, source: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    remote_dir = sshd.home / "deploy-run"
    conn = connection(sshd, remote_dir)
    assert (
        board(["deploy", *conn, *BOARD_ENV, "--no-bitstream", "--source", str(source), "--no-notebooks"]) == 0
    )
    out = capfd.readouterr().out
    assert "copied   dist/zynpu-0.1.0-py3-none-any.whl" in out and "package installed" in out

    code = board(
        ["run", *conn, *BOARD_ENV, "--", "python", "-c", "import zynpu; print('FROM', zynpu.__file__)"]
    )
    out = capfd.readouterr().out
    assert code == 0
    assert f"FROM {remote_dir}/lib/zynpu/__init__.py" in out

    code = board(["run", *conn, *BOARD_ENV, "--prelude", "export GREETING=hello", "--",
                  "echo $GREETING from $(pwd); exit 7"])  # fmt: skip
    out = capfd.readouterr().out
    assert code == 7
    assert f"hello from {remote_dir}" in out and "exited with 7" in out


def test_remote_command_timeout(sshd: Any) -> None:
    conn = connection(sshd, sshd.home / "deploy-timeout")
    conn[conn.index("--timeout") + 1] = "2"
    start = time.monotonic()
    with pytest.raises(UserError, match="did not finish within 2 s"):
        board(["run", *conn, *BOARD_ENV, "--", "sleep 30"])
    assert time.monotonic() - start < 10


def test_unreachable_host_fails_fast() -> None:
    port = free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(UserError, match=rf"127.0.0.1:{port}: cannot connect .*is the board up"):
        board(
            ["run", "--host", "nobody@127.0.0.1", "--port", str(port), "--connect-timeout", "3", "--", "true"]
        )
    assert time.monotonic() - start < 3


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts and never speaks: a board whose sshd hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for sock in accepted:
        sock.close()
    server.close()


def test_silent_host_times_out(silent_port: int) -> None:
    start = time.monotonic()
    with pytest.raises(UserError, match="2 s connect timeout"):
        board(["run", "--host", "nobody@127.0.0.1", "--port", str(silent_port), "--connect-timeout", "2",
               "--", "true"])  # fmt: skip
    assert time.monotonic() - start < 8


def test_wrong_key_is_refused_without_password_fallback(sshd: Any, tmp_path: Path) -> None:
    import subprocess

    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=30)
    conn = connection(sshd, sshd.home / "x")
    conn[conn.index("--identity") + 1] = str(other)
    with pytest.raises(UserError, match=r"key-based authentication failed.*passwords are never tried"):
        board(["run", *conn, *BOARD_ENV, "--", "true"])


def test_unknown_host_key_is_refused_when_strict(sshd: Any, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    conn = connection(sshd, sshd.home / "x")
    conn[conn.index("--known-hosts") + 1] = str(empty)
    with pytest.raises(UserError, match="unknown host key"):
        board(["run", *conn, *BOARD_ENV, "--", "true"])


def test_hil_runs_pytest_remotely_and_fetches_junit(
    sshd: Any, source: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    remote_dir = sshd.home / "deploy-hil"
    overlay = make_bitstream(tmp_path / "kv260")
    junit = tmp_path / "junit.xml"
    argv = ["hil", *connection(sshd, remote_dir, source), *BOARD_ENV, "--bitstreams", str(overlay),
            "--junit-out", str(junit), "--", "tests/deploy/remote_smoke", "-q"]  # fmt: skip
    assert board(argv) == 0
    out = capfd.readouterr().out
    summary = summarize(junit)
    # All four run on the "board": the package from the deploy folder and the overlay are both there.
    assert (summary.tests, summary.passed, summary.skipped) == (4, 4, 0)
    assert "hil: 4 passed, 0 failed, 0 skipped" in out
    assert (remote_dir / "tests" / "deploy" / "remote_smoke" / "test_remote_smoke.py").is_file()

    # The prelude reaches the remote tests; a failure comes back in the exit code and the summary.
    failing = [*argv[:-3], "--prelude", "export ZYNPU_SMOKE_FAIL=1", *argv[-3:]]
    assert board(failing) == 1
    out = capfd.readouterr().out
    assert "hil: 3 passed, 1 failed, 0 skipped" in out
    assert "FAILED tests.deploy.remote_smoke.test_remote_smoke::test_fails_on_request" in out
    assert "0 copied" in out  # the second HIL run shipped nothing new
