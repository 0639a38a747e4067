"""A twin of a PYNQ image over SSH: real users, real sudo, a real sshd, pynq's venv and profile script.

What the twin reproduces of Kria-PYNQ 3.0.1 / PYNQ 3.0.1 images (docs/hil.md): the login user
(`ubuntu` / `xilinx`; here `zynpu-twin-ubuntu` / `zynpu-twin-xilinx`, so no account of this machine is
touched), sudo with or without NOPASSWD, pynq's venv (Python 3.10, numpy 1.26.4, pynq 3.0.1)
activated by `etc/profile.d/pynq_venv.sh` (which sets XILINX_XRT=/usr), Jupyter's folder owned by
root, and no network for the deploy's install (pip gets --no-index). The image's paths live under a
prefix (`--image-root`) instead of `/`, so this machine's own /etc and /usr stay untouched. The FPGA
is the one part that cannot exist here: the venv's pynq gets the twin PL (zynpu.device.pynq_twin) as
its active device, through a `.pth` hook.

Needs root (useradd, sudoers), OpenSSH and Python 3.10; the users and sudoers files are removed
after the session. The venv is built once into the cache (minutes) and reused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

VENV_PACKAGES = ("numpy==1.26.4", "pynq==3.0.1", "pycparser<3", "pytest", "tqdm")  # what the image has
PYTHON310_CANDIDATES = ("/root/.pyenv/versions/3.10.13/bin/python", "python3.10")
PL_HOOK = '''"""The twin image's programmable logic: zynpu's simulated PL becomes pynq's active device."""
import os

if os.environ.get("ZYNPU_TWIN_PL"):
    try:
        from zynpu.device.pynq_twin import activate
    except ImportError:  # zynpu not deployed yet
        pass
    else:
        activate()
'''


@dataclass(frozen=True)
class ImageTwin:
    image: str  # zynpu.board.image name
    user: str
    root: Path  # the image's "/"
    home: Path
    port: int
    identity: Path
    known_hosts: Path

    @property
    def host(self) -> str:
        return f"{self.user}@127.0.0.1"

    def connection(self) -> list[str]:
        return ["--host", self.host, "--port", str(self.port), "--identity", str(self.identity),
                "--known-hosts", str(self.known_hosts), "--image", self.image, "--image-root", str(self.root),
                "--connect-timeout", "5"]  # fmt: skip


def python310() -> str | None:
    for candidate in PYTHON310_CANDIDATES:
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    return None


def requirements() -> list[str]:
    """Why the twin cannot be built here, if it cannot."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (to create the image's user and sudoers rule)")
    for tool in ("useradd", "userdel", "sudo", "visudo", "ssh-keygen"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if python310() is None:
        missing.append("Python 3.10 (pyenv)")
    return missing


def run(*command: str, timeout: float = 60) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout).stdout


def build_image_root(root: Path) -> Path:
    """pynq's venv (cached: reused when it imports), profile script, root's Jupyter folder."""
    venv = root / "usr/local/share/pynq-venv"
    python = venv / "bin/python"
    probe = "import numpy, pynq, pytest; assert numpy.__version__ == '1.26.4' and pynq.__version__ == '3.0.1'"
    ok = (
        python.exists()
        and subprocess.run([str(python), "-c", probe], capture_output=True, timeout=120).returncode == 0
    )
    if not ok:
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        run(str(python310()), "-m", "venv", str(venv))
        run(
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *VENV_PACKAGES,
            timeout=900,
        )
    site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "zynpu_twin_pl.py").write_text(PL_HOOK)
    (site / "zynpu_twin_pl.pth").write_text("import zynpu_twin_pl\n")
    profile = root / "etc/profile.d/pynq_venv.sh"
    profile.parent.mkdir(parents=True, exist_ok=True)
    # The image's script exports XILINX_XRT=/usr, where XRT's libraries are; the twin has no XRT, and
    # pynq loads /usr/lib/libxrt_core.so whenever the variable is set, so the twin's script unsets it.
    profile.write_text(
        f"export XILINX_XRT=/usr\nsource {venv}/bin/activate\n"
        "unset XILINX_XRT  # twin: no XRT installed\nexport ZYNPU_TWIN_PL=1\n"
    )
    notebooks = root / "root/jupyter_notebooks"
    shutil.rmtree(notebooks, ignore_errors=True)
    notebooks.mkdir(parents=True)
    (root / "root").chmod(0o700)
    home_xilinx = root / "home/xilinx/jupyter_notebooks"
    shutil.rmtree(home_xilinx, ignore_errors=True)
    home_xilinx.mkdir(parents=True)
    return venv


@contextmanager
def image_user(name: str, home: Path, *, nopasswd: bool) -> Iterator[str]:
    """A login user with a home, an unusable password, and a sudo rule; removed afterwards."""
    sudoers = Path("/etc/sudoers.d") / f"{name}"
    subprocess.run(["userdel", "-f", name], capture_output=True, timeout=30)  # a leftover of a killed run
    run("useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash", name)
    try:
        run("usermod", "-p", "*", name)  # no password works, but the account is not locked (sshd)
        home.mkdir(parents=True, exist_ok=True)
        shutil.chown(home, name, name)
        rule = f"{name} ALL=(ALL) NOPASSWD: ALL" if nopasswd else f"{name} ALL=(ALL) ALL"
        staged = home.parent / f"{name}.sudoers"
        staged.write_text(rule + "\n")
        run("visudo", "-cf", str(staged))
        staged.chmod(0o440)
        shutil.move(str(staged), sudoers)
        yield name
    finally:
        sudoers.unlink(missing_ok=True)
        for _ in range(20):  # sshd's session processes may still be exiting
            if subprocess.run(["userdel", "-f", name], capture_output=True, timeout=30).returncode in (0, 6):
                break
            time.sleep(0.25)
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def image_twin(image: str, user: str, root: Path, *, nopasswd: bool) -> Iterator[ImageTwin]:
    from .sshd_server import _keygen, free_port, start_sshd, stop

    missing = requirements()
    if missing:
        pytest.skip("the PYNQ image twin needs " + ", ".join(missing))
    build_image_root(root)
    base = Path(tempfile.mkdtemp(prefix="zynpu-twin-"))
    base.chmod(0o755)  # the login user reads its authorized keys and owns a home below
    try:
        host_key = _keygen(base / "host_key")
        client_key = _keygen(base / "client_key")
        (base / "authorized_keys").write_text(client_key + "\n")
        (base / "authorized_keys").chmod(0o644)
        port = free_port()
        (base / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
        with image_user(user, base / "home" / user, nopasswd=nopasswd):
            process = start_sshd(base, base / "authorized_keys", port)
            try:
                yield ImageTwin(image, user, root, base / "home" / user, port, base / "client_key",
                                base / "known_hosts")  # fmt: skip
            finally:
                stop(process)
    finally:
        shutil.rmtree(base, ignore_errors=True)
