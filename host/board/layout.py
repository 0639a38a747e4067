"""Where a deployed build lives on the board: the one definition deploy, hil, the adapter and notebooks use.

`zynpu board deploy` fills a deploy folder (default `zynpu` under the login user's home) with `lib/`,
`dist/`, `overlay/zynpu.bit|hwh|manifest.json`, `tests/` and `results/`. Remote commands get
`ZYNPU_REMOTE_DIR` (and `ZYNPU_BITSTREAM_DIR`); a notebook served by root's Jupyter gets neither, so
deploy also leaves `zynpu_board.json` naming the deploy folder beside the notebooks. Under sudo `~`
is root's home, so the fallback is the home of `$SUDO_USER`, the user who logged in. Stdlib only:
this runs on the board before anything else is importable.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
from collections.abc import Mapping
from pathlib import Path

DEFAULT_REMOTE_DIR = "zynpu"
OVERLAY_DIR = "overlay"
BIT_NAME = "zynpu.bit"
POINTER_NAME = "zynpu_board.json"  # beside the notebooks: {"remote_dir": "/home/ubuntu/zynpu"}
ENV_BITSTREAM = "ZYNPU_BITSTREAM"  # a .bit file
ENV_BITSTREAM_DIR = "ZYNPU_BITSTREAM_DIR"  # the folder holding zynpu.bit
ENV_REMOTE_DIR = "ZYNPU_REMOTE_DIR"  # the deploy folder


def overlay_dir(remote_dir: str) -> str:
    """The overlay folder inside a deploy folder (a remote path: plain string arithmetic)."""
    return f"{remote_dir.rstrip('/')}/{OVERLAY_DIR}"


def login_home(environ: Mapping[str, str] = os.environ) -> Path:
    """The home of the user who logged in, also under sudo (where `~` is /root)."""
    user = environ.get("SUDO_USER")
    if user and user != "root":
        try:
            return Path(pwd.getpwnam(user).pw_dir)
        except KeyError:
            pass
    return Path(environ["HOME"]) if environ.get("HOME") else Path.home()


def bitstream_candidates(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> list[Path]:
    """Every place a deployed `zynpu.bit` may be, most specific first."""
    found: list[Path] = []
    if environ.get(ENV_BITSTREAM):
        found.append(Path(environ[ENV_BITSTREAM]))
    if environ.get(ENV_BITSTREAM_DIR):
        found.append(Path(environ[ENV_BITSTREAM_DIR]) / BIT_NAME)
    if environ.get(ENV_REMOTE_DIR):
        found.append(Path(overlay_dir(environ[ENV_REMOTE_DIR])) / BIT_NAME)
    pointer = (cwd or Path.cwd()) / POINTER_NAME
    if pointer.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            found.append(Path(overlay_dir(json.loads(pointer.read_text())["remote_dir"])) / BIT_NAME)
    found.append(login_home(environ) / DEFAULT_REMOTE_DIR / OVERLAY_DIR / BIT_NAME)
    return found


def deployed_bitstream(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    """The first candidate that exists; FileNotFoundError lists every place looked at."""
    candidates = bitstream_candidates(environ, cwd)
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(
        f"no deployed zynpu.bit (looked at {looked}): run `zynpu board deploy` or set {ENV_BITSTREAM}"
    )
