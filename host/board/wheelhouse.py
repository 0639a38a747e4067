"""The runtime dependencies of zynpu's extras, as wheels for the BOARD's platform, for an offline install.

A PYNQ board has no internet, so the host downloads binary wheels for the board's machine and Python
(asked over SSH) and deploy ships them. The board's own packages are pinned by a constraints file built
from its `pip freeze` (numpy of the PYNQ venv must never be replaced) and wheels the board already has
are left out. Wheelhouses are cached on the host by (platform, python, requirements, constraints).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zynpu.errors import UserError

DOWNLOAD_TIMEOUT = 600
OLDEST_GLIBC_MINOR = 17  # manylinux2014 == manylinux_2_17
PROBE = (
    "import json, platform, sys; "
    "print(json.dumps([platform.machine(), '%d.%d' % sys.version_info[:2], platform.libc_ver()[1]]))"
)
_CANON = re.compile(r"[-_.]+")


def canonical(name: str) -> str:
    """PEP 503 project name: what a wheel's file name and `pip freeze` spell differently."""
    return _CANON.sub("-", name).lower()


@dataclass(frozen=True)
class BoardPlatform:
    machine: str  # platform.machine(): aarch64 on a Zynq UltraScale+, x86_64 on the twin
    python: str  # "3.10"
    glibc: str  # "2.35" on Ubuntu 22.04; "" when unknown

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    def tags(self) -> list[str]:
        """manylinux platform tags the board's glibc runs, newest first, plus the legacy 2014 alias."""
        major, _, minor = self.glibc.partition(".")
        newest = int(minor) if major == "2" and minor.isdigit() else 28
        tags = [f"manylinux_2_{m}_{self.machine}" for m in range(max(newest, OLDEST_GLIBC_MINOR), 16, -1)]
        return [*tags, f"manylinux2014_{self.machine}"]


def parse_probe(stdout: str) -> BoardPlatform:
    """The probe's line (a JSON list) among the remote output (`pip freeze` lines never start with `[`)."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("[")), None)
    if line is None:
        raise UserError(f"the board's Python did not say its platform; it printed: {stdout.strip()[-300:]}")
    machine, python, glibc = json.loads(line)
    return BoardPlatform(machine, python, glibc)


def missing(requirements: list[str], pins: dict[str, str]) -> list[str]:
    """The requirements the board's environment does not already satisfy (its pip would have their deps)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        from pip._vendor.packaging.requirements import Requirement

    def satisfied(text: str) -> bool:
        req = Requirement(text)
        have = pins.get(canonical(req.name))
        return have is not None and req.specifier.contains(have, prereleases=True)

    return [r for r in requirements if not satisfied(r)]


def extra_requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """The requirement strings of the named extras of zynpu's pyproject.toml (one source of truth)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the TOML parser pip itself ships
        from pip._vendor import tomli as tomllib

    optional = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise UserError(f"unknown extra {', '.join(unknown)}; choose from {', '.join(sorted(optional))}")
    return [req for extra in extras for req in optional[extra]]


def constraints(freeze: str) -> dict[str, str]:
    """`name==version` pins of the board's environment (editable and direct-URL lines are left out)."""
    pins: dict[str, str] = {}
    for line in freeze.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and name and not name.startswith(("-", "#")) and " @ " not in line:
            pins[canonical(name)] = version.strip()
    return pins


def wheel_name_version(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return canonical(name), version


def cache_root() -> Path:
    from .deploy import wheel_cache

    return wheel_cache().parent / "wheelhouse"


def cache_key(board: BoardPlatform, requirements: list[str], pins: dict[str, str]) -> str:
    text = json.dumps([board.machine, board.python, board.tags(), sorted(requirements), sorted(pins.items())])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def download(board: BoardPlatform, requirements: list[str], pins: dict[str, str], dest: Path) -> None:
    """`pip download` binary wheels for the board's platform, under its pins; a one-line UserError if not."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "constraints.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", board.python]
    command += ["--abi", board.abi, "--abi", "abi3", "--abi", "none"]
    for tag in board.tags():
        command += ["--platform", tag]
    command += ["-c", str(dest / "constraints.txt"), "-d", str(dest), *requirements]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT)
        failed = proc.returncode != 0
        why = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1] if failed else ""
    except subprocess.TimeoutExpired:
        failed, why = True, f"no answer in {DOWNLOAD_TIMEOUT} s"
    if failed:
        raise UserError(
            f"cannot download the board's runtime wheels ({' '.join(requirements)}) for "
            f"{board.abi}-{board.machine}: {why}; connect this host to PyPI (or set PIP_INDEX_URL to a "
            "mirror) and deploy again, or deploy with --extras none"
        )


def build(board: BoardPlatform, requirements: list[str], freeze: str, ours: Iterable[str] = ()) -> list[Path]:
    """The wheels the board lacks (cached); downloaded wheels the board already has are left out.

    `ours`: wheel file names an earlier deploy shipped; their packages do not count as the board's own.
    """
    shipped = {wheel_name_version(Path(name))[0] for name in ours if name.endswith(".whl")}
    pins = {name: version for name, version in constraints(freeze).items() if name not in shipped}
    requirements = missing(requirements, pins)
    if not requirements:
        return []
    folder = cache_root() / f"{board.abi}-{board.machine}-{cache_key(board, requirements, pins)}"
    done = folder / "complete"
    if not done.is_file():
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        download(board, requirements, pins, staging)
        (staging / "complete").write_text("\n".join(requirements) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    wheels = sorted(folder.glob("*.whl"))
    return [w for w in wheels if pins.get(wheel_name_version(w)[0]) != wheel_name_version(w)[1]]
