"""A tiny suite that `zynpu board hil` runs on the (loopback) board; it also passes locally.

On the board, ZYNPU_REMOTE_DIR and ZYNPU_BITSTREAM_DIR point at what deploy shipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def test_package_comes_from_the_deploy_folder() -> None:
    import zynpu

    remote_dir = os.environ.get("ZYNPU_REMOTE_DIR")
    if remote_dir is None:
        pytest.skip("not on a board: ZYNPU_REMOTE_DIR unset")
    assert Path(zynpu.__file__).resolve().is_relative_to(Path(remote_dir).resolve() / "lib")


def test_installed_manifest_matches_its_source() -> None:
    from zynpu.hw import manifest

    shipped = json.loads(manifest.DEFAULT_MANIFEST_PATH.read_text())
    assert shipped["config_hash"] == manifest.build_manifest()["config_hash"]


def test_overlay_matches_the_package() -> None:
    folder = os.environ.get("ZYNPU_BITSTREAM_DIR")
    if folder is None:
        pytest.skip("no overlay deployed: ZYNPU_BITSTREAM_DIR unset")
    from zynpu.overlays.bitstream import load_bitstream

    bitstream = load_bitstream(Path(folder))
    assert bitstream.bit.stat().st_size > 0


def test_fails_on_request() -> None:
    """Lets the HIL test prove that a remote failure comes back in the JUnit summary and exit code."""
    assert not os.environ.get("ZYNPU_SMOKE_FAIL"), "failing on request (ZYNPU_SMOKE_FAIL is set)"
