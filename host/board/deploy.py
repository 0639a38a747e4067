"""Build what a board needs (wheel, overlay, tests) and copy only what changed.

The wheel is built from a staged copy of the tracked sources with a fixed SOURCE_DATE_EPOCH, so the
same sources give byte-identical wheels and an unchanged tree copies nothing on the next deploy.
The package is installed with `pip --target` into the deploy folder (no root, no network, nothing of
the board's own Python touched); remote commands put it first on PYTHONPATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from zynpu.errors import UserError

from .image import sudoers_line
from .layout import OVERLAY_DIR, POINTER_NAME
from .remote import Remote, RemoteEnv, sha256_file

REPO_ROOT = Path(__file__).resolve().parents[2]
# The wheel's sources: the three package folders and the files setup.py/pyproject.toml read.
PACKAGE_PATHS = ("host", "hw", "overlays", "setup.py", "pyproject.toml", "README.md")
# Development-only subpackages the board never imports: left out of the wheel (tests/test_layering.py).
NOT_ON_BOARD = ("host/model/validation/",)
# A fixed timestamp (zip's epoch, 1980) for every wheel entry: identical sources give identical bytes.
SOURCE_DATE_EPOCH = "315532800"
WHEEL_BUILD_TIMEOUT = 300
INSTALL_MARKER = "lib.sha256"  # the wheel installed into lib/
ENV_INSTALL_MARKER = "env.sha256"  # the wheel installed into the board's Python environment
WHEELHOUSE_DIR = "wheelhouse"  # the extras' runtime wheels for the board's platform
NOTEBOOKS_STAGE = "notebooks"  # deploy-folder copy of the notebooks, then copied where Jupyter serves


@dataclass(frozen=True)
class Item:
    """One file to ship: local path and path relative to the remote deploy folder."""

    local: Path
    remote: str


@dataclass
class DeployReport:
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    installed: bool = False
    remote_dir: str = ""

    def summary(self) -> str:
        install = "package installed" if self.installed else "package unchanged"
        return (
            f"deploy: {len(self.copied)} copied, {len(self.skipped)} unchanged, {install} "
            f"(in {self.remote_dir})"
        )


def tracked_files(root: Path, paths: Iterable[str]) -> list[Path]:
    """Files under `paths` that git tracks or would track (ignored files such as caches excluded)."""
    paths = [p for p in paths if (root / p).exists()]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-co", "--exclude-standard", "-z", "--", *paths],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = [
            str(f.relative_to(root))
            for p in paths
            for f in ([root / p] if (root / p).is_file() else (root / p).rglob("*"))
            if f.is_file() and "__pycache__" not in f.parts
        ]
    return sorted(root / n for n in names if (root / n).is_file())


def wheel_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zynpu" / "wheels"


def build_wheel(out_dir: Path, root: Path = REPO_ROOT) -> Path:
    """`pip wheel --no-deps` of a staged copy of the sources; returns the wheel's path.

    Wheels are cached by the sha256 of their staged sources: an unchanged tree costs no rebuild.
    """
    if not (root / "setup.py").is_file():
        raise UserError(f"deploy needs the zynpu source checkout (no setup.py in {root})")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zynpu-wheel-") as tmp:
        stage = Path(tmp) / "src"
        key = hashlib.sha256()
        for path in tracked_files(root, PACKAGE_PATHS):
            rel = path.relative_to(root)
            if rel.as_posix().startswith(NOT_ON_BOARD):
                continue
            dest = stage / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            key.update(f"{rel.as_posix()}\0{sha256_file(dest)}\n".encode())
        cached = wheel_cache() / key.hexdigest()
        wheels = sorted(cached.glob("zynpu-*.whl"))
        if not wheels:
            _pip_wheel(stage, Path(tmp) / "wheel")
            cached.mkdir(parents=True, exist_ok=True)
            for wheel in sorted((Path(tmp) / "wheel").glob("zynpu-*.whl")):
                shutil.copy2(wheel, cached / wheel.name)
            wheels = sorted(cached.glob("zynpu-*.whl"))
        target = out_dir / wheels[0].name
        shutil.copy2(wheels[0], target)
        return target


def _pip_wheel(stage: Path, built: Path) -> None:
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    command += ["--disable-pip-version-check", "-w", str(built), str(stage)]
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=WHEEL_BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise UserError(f"building the wheel took over {WHEEL_BUILD_TIMEOUT} s") from None
    if proc.returncode != 0 or not list(built.glob("zynpu-*.whl")):
        raise UserError(
            "building the zynpu wheel failed (the build needs setuptools and wheel in this Python: "
            f"pip install wheel):\n{proc.stderr.strip()[-2000:]}"
        )


def bitstream_items(folder: Path) -> list[Item]:
    """The verified overlay files of one board folder (refuses a stale or mismatched bitstream)."""
    from zynpu.overlays.bitstream import load_bitstream

    bitstream = load_bitstream(folder)
    files = (bitstream.bit, bitstream.hwh, bitstream.manifest_path)
    return [Item(p, f"{OVERLAY_DIR}/{p.name}") for p in files]


def test_items(root: Path = REPO_ROOT) -> list[Item]:
    """The tests folder and the pytest configuration, for running the suite on the board."""
    files = tracked_files(root, ["tests"])
    items = [Item(f, str(f.relative_to(root))) for f in files if f.suffix not in (".pyc",)]
    if (root / "pyproject.toml").is_file():
        items.append(Item(root / "pyproject.toml", "pyproject.toml"))
    return items


def notebook_items(root: Path = REPO_ROOT) -> list[Item]:
    """The notebooks, for the board's Jupyter folder (PYNQ serves ~/jupyter_notebooks)."""
    return [Item(f, f.name) for f in tracked_files(root, ["notebooks"]) if f.suffix == ".ipynb"]


def resolve_remote_dir(remote: Remote, remote_dir: str) -> str:
    """Create the deploy folder and return its absolute path (relative paths are under the login home)."""
    quoted = shlex.quote(remote_dir)
    return remote.check(f"mkdir -p -- {quoted} && cd -- {quoted} && pwd").strip()


def sync(remote: Remote, remote_dir: str, items: list[Item], report: DeployReport) -> None:
    """Copy the items whose sha256 differs from the remote copy; record copied and skipped."""
    paths = {f"{remote_dir}/{item.remote}": item for item in items}
    remote_digests = remote.sha256(paths)
    changed = [
        (path, item) for path, item in paths.items() if remote_digests.get(path) != sha256_file(item.local)
    ]
    remote.mkdirs(path.rsplit("/", 1)[0] for path, _ in changed)
    for path, item in changed:
        remote.put(item.local, path)
        report.copied.append(item.remote)
        print(f"  copied   {item.remote}")
    for path, item in paths.items():
        if all(path != p for p, _ in changed):
            report.skipped.append(item.remote)
    if report.skipped:
        print(f"  skipped  {len(report.skipped)} unchanged file(s)")


def install(
    remote: Remote, env: RemoteEnv, remote_dir: str, wheel: Item, into_env: bool, deps: Iterable[Item] = ()
) -> bool:
    """Install the wheel (+ the wheelhouse's `deps`) unless the same set is installed; returns whether it did.

    The deps are exactly the wheels the board lacks (zynpu.board.wheelhouse, resolved on the host under
    the board's pins), so they go in with --no-deps too and nothing of the board's environment is touched.
    """
    rd = shlex.quote(remote_dir)
    deps = list(deps)
    digest = sha256_file(wheel.local)
    if deps:
        digests = " ".join([digest, *(sha256_file(d.local) for d in deps)])
        digest = hashlib.sha256(digests.encode()).hexdigest()
    marker = f"{remote_dir}/{ENV_INSTALL_MARKER if into_env else INSTALL_MARKER}"
    code, current, _ = remote.run(f"cat -- {shlex.quote(marker)} 2>/dev/null", stream=False)
    if code == 0 and current.strip() == digest:
        return False
    pip = f"{env.python} -m pip install --quiet --no-deps --no-index --disable-pip-version-check"
    wheel_path = " ".join(shlex.quote(f"{remote_dir}/{w.remote}") for w in [wheel, *deps])
    if into_env:
        command = f"{pip} --force-reinstall {wheel_path}"
    else:
        # A fresh target folder, swapped in only after pip succeeded: no half-installed package.
        command = f"cd {rd} && rm -rf lib.new && {pip} --target lib.new {wheel_path}"
        command += " && rm -rf lib && mv lib.new lib"
    command += f" && echo {digest} > {shlex.quote(marker)}"
    code, _, stderr = remote.run(env.wrap(command), stream=False)
    if code != 0:
        hint = " (sudo -n needs passwordless sudo on the board)" if env.sudo and "sudo" in stderr else ""
        raise UserError(f"{remote.target}: installing {wheel.remote} failed ({code}){hint}: {stderr.strip()}")
    return True


def wheelhouse_items(
    remote: Remote, env: RemoteEnv, remote_dir: str, root: Path, extras: list[str]
) -> list[Item]:
    """The extras' runtime wheels the board lacks, for its machine and Python (the board has no internet).

    Packages an earlier deploy shipped (named in the board's wheelhouse folder) are ours, not the image's:
    they do not pin the next wheelhouse, so it stays the same whether or not they went into the env.
    """
    from . import wheelhouse

    requirements = wheelhouse.extra_requirements(root / "pyproject.toml", extras) if extras else []
    if not requirements:
        return []
    probe = f"{env.python} -c {shlex.quote(wheelhouse.PROBE)} && {env.python} -m pip freeze --all"
    code, stdout, stderr = remote.run(env.wrap(probe), stream=False)
    if code != 0:
        raise UserError(f"{remote.target}: asking the board's Python its platform failed: {stderr.strip()}")
    _, shipped, _ = remote.run(
        f"ls -- {shlex.quote(f'{remote_dir}/{WHEELHOUSE_DIR}')} 2>/dev/null", stream=False
    )
    board = wheelhouse.parse_probe(stdout)
    wheels = wheelhouse.build(board, requirements, stdout, ours=shipped.split())
    print(f"  wheelhouse {board.abi}-{board.machine}: {len(wheels)} wheel(s) the board lacks")
    return [Item(w, f"{WHEELHOUSE_DIR}/{w.name}") for w in wheels]


def check_sudo(remote: Remote, env: RemoteEnv) -> None:
    """Stop at once, naming the sudoers rule to add, when the profile needs sudo and sudo wants a password."""
    if not env.sudo:
        return
    code, _, stderr = remote.run("sudo -n true", stream=False)
    if code == 0:
        return
    user = remote.check("id -un").strip()
    raise UserError(
        f"{remote.target}: `sudo -n` fails for {user} ({stderr.strip() or f'exit {code}'}); PYNQ needs root. "
        f"On the board run: echo '{sudoers_line(user)}' | sudo tee /etc/sudoers.d/zynpu "
        "(a lab board only), or use --profile plain"
    )


def install_notebooks(
    remote: Remote, env: RemoteEnv, remote_dir: str, notebooks_dir: str, root: Path, report: DeployReport
) -> str:
    """Sync the notebooks into the deploy folder, then copy them (under the profile's sudo) to Jupyter's.

    Root's Jupyter serves a folder the login user cannot write; a pointer file beside the notebooks
    names the deploy folder, so a notebook finds the overlay without any environment (zynpu.board.layout).
    """
    stage = f"{remote_dir}/{NOTEBOOKS_STAGE}"
    with tempfile.TemporaryDirectory(prefix="zynpu-nb-") as tmp:
        pointer = Path(tmp) / POINTER_NAME
        pointer.write_text(json.dumps({"remote_dir": remote_dir}) + "\n")
        items = [Item(i.local, f"{NOTEBOOKS_STAGE}/{i.remote}") for i in notebook_items(root)]
        sync(remote, remote_dir, [*items, Item(pointer, f"{NOTEBOOKS_STAGE}/{POINTER_NAME}")], report)
    dest = shlex.quote(notebooks_dir)
    command = f"mkdir -p {dest} && cp -f {shlex.quote(stage)}/* {dest}/ && cd {dest} && pwd"
    code, stdout, stderr = remote.run(env.wrap(command), stream=False)
    if code != 0:
        raise UserError(
            f"{remote.target}: copying the notebooks to {notebooks_dir} failed ({code}): {stderr.strip()}"
        )
    return stdout.strip().splitlines()[-1]


def deploy(
    remote: Remote,
    env: RemoteEnv,
    *,
    remote_dir: str,
    bitstream_dir: Path | None,
    with_tests: bool = False,
    into_env: bool = False,
    root: Path = REPO_ROOT,
    notebooks_dir: str | None = None,
    extras: Iterable[str] = (),
) -> DeployReport:
    """Ship wheel (+ overlay, + tests, + notebooks) to the board and install the package if it changed.

    The package goes into the deploy folder's lib/ (what hil and `zynpu board run` use) and, with
    `into_env` or when notebooks go to root's Jupyter (a sudo profile), into the board's Python
    environment too (what that Jupyter's kernel imports). Notebooks go where the image's Jupyter serves them.
    """
    check_sudo(remote, env)
    items: list[Item] = []
    if bitstream_dir is not None:
        items += bitstream_items(bitstream_dir)
    with tempfile.TemporaryDirectory(prefix="zynpu-deploy-") as tmp:
        wheel_path = build_wheel(Path(tmp), root)
        wheel = Item(wheel_path, f"dist/{wheel_path.name}")
        items.append(wheel)
        if with_tests:
            items += test_items(root)
        report = DeployReport(remote_dir=resolve_remote_dir(remote, remote_dir))
        print(f"deploying to {remote.target}:{report.remote_dir}")
        deps = wheelhouse_items(remote, env, report.remote_dir, root, list(extras))
        items += deps
        sync(remote, report.remote_dir, items, report)
        report.installed = install(remote, env, report.remote_dir, wheel, into_env=False, deps=deps)
        if into_env or (notebooks_dir is not None and env.sudo):  # root's Jupyter imports from the env
            report.installed |= install(remote, env, report.remote_dir, wheel, into_env=True, deps=deps)
        if notebooks_dir is not None:
            folder = install_notebooks(remote, env, report.remote_dir, notebooks_dir, root, report)
            print(f"notebooks in {remote.target}:{folder}")
    print(report.summary())
    return report
