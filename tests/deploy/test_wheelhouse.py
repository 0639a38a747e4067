"""The board's wheelhouse: platform tags from what the board says, pins from its `pip freeze`, real pip."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from pytest import MonkeyPatch

from zynpu.board import wheelhouse as wh
from zynpu.errors import UserError

REPO = Path(__file__).resolve().parents[2]
KRIA = wh.BoardPlatform("aarch64", "3.10", "2.35")  # Kria-PYNQ 3.0.1: Ubuntu 22.04, Python 3.10
FREEZE = "numpy==1.26.4\npynq==3.0.1\ntqdm==4.66.1\n-e git+https://x/y#egg=z\nfoo @ file:///tmp/foo.whl\n"


def test_tags_cover_the_boards_glibc_down_to_manylinux2014() -> None:
    tags = KRIA.tags()
    assert tags[0] == "manylinux_2_35_aarch64"
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert "manylinux_2_28_aarch64" in tags and not any("x86_64" in t for t in tags)
    assert KRIA.abi == "cp310"
    # A board that does not say its glibc still gets the common manylinux_2_28 and 2014 wheels.
    assert wh.BoardPlatform("x86_64", "3.12", "").tags()[0] == "manylinux_2_28_x86_64"


def test_probe_line_is_found_among_other_output() -> None:
    board = wh.parse_probe('profile says hello\n["aarch64", "3.10", "2.35"]\nnumpy==1.26.4\n')
    assert board == KRIA
    with pytest.raises(UserError, match="did not say its platform"):
        wh.parse_probe("bash: python3: command not found\n")


def test_pins_come_from_pip_freeze_and_skip_what_the_board_has() -> None:
    pins = wh.constraints(FREEZE)
    assert pins == {"numpy": "1.26.4", "pynq": "3.0.1", "tqdm": "4.66.1"}
    assert wh.missing(["numpy>=1.17", "tqdm>=4.27", "gguf>=0.10"], pins) == ["gguf>=0.10"]
    assert wh.missing(["numpy>=2"], pins) == ["numpy>=2"]  # present but too old: still asked for
    assert wh.canonical("Typing_Extensions") == "typing-extensions"


def test_extras_come_from_pyproject() -> None:
    reqs = wh.extra_requirements(REPO / "pyproject.toml", ["model"])
    assert sorted(r.split(">")[0].split("=")[0] for r in reqs) == ["gguf", "safetensors", "tokenizers"]
    with pytest.raises(UserError, match=r"unknown extra nope; choose from .*model"):
        wh.extra_requirements(REPO / "pyproject.toml", ["nope"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_index_reachable_is_one_line_naming_the_fix(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    """Real pip against a closed port on loopback: what a host without network meets."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{_closed_port()}/simple")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    with pytest.raises(UserError) as caught:
        wh.build(KRIA, ["gguf>=0.10"], FREEZE)
    message = str(caught.value)
    assert "\n" not in message and "cannot download" in message and "cp310-aarch64" in message
    assert "connect this host to PyPI" in message and "--extras none" in message
    assert not list((tmp_path / "cache").rglob("complete")), "a failed download must not be cached"


@pytest.mark.slow
def test_model_wheelhouse_for_a_kria_board_keeps_its_numpy(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    """Real `pip download` of the model extra for aarch64 cp310 under the board's pins."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reqs = wh.extra_requirements(REPO / "pyproject.toml", ["model"])
    start = time.perf_counter()
    wheels = wh.build(KRIA, reqs, FREEZE)
    seconds = time.perf_counter() - start
    names = {wh.wheel_name_version(w)[0] for w in wheels}
    assert {"gguf", "safetensors", "tokenizers"} <= names
    assert "numpy" not in names and "tqdm" not in names  # the board's own, pinned and left out
    folder = wheels[0].parent
    assert "numpy==1.26.4" in (folder / "constraints.txt").read_text().splitlines()
    downloaded_numpy = list(folder.glob("numpy-*.whl"))
    assert all(w.name.startswith("numpy-1.26.4-cp310") for w in downloaded_numpy)  # pinned, never newer
    for wheel in wheels:
        tags = wheel.name[:-4].split("-")[-3:]
        assert tags[2] == "any" or tags[2].endswith("aarch64"), wheel.name
        assert tags[0] in ("py3", "cp310", "py2.py3") or tags[1] == "abi3", wheel.name
    size = sum(w.stat().st_size for w in wheels)
    print(f"\nwheelhouse cp310-aarch64 (model): {len(wheels)} wheels, {size / 1e6:.1f} MB, {seconds:.1f} s")
    assert wh.build(KRIA, reqs, FREEZE) == wheels  # cached: the same files, no download


def test_extras_option_parses_a_comma_list_and_none() -> None:
    from argparse import Namespace

    from zynpu.board.cli import _extras

    assert _extras(Namespace(extras="model")) == ["model"]
    assert _extras(Namespace(extras="model, deploy")) == ["model", "deploy"]
    assert _extras(Namespace(extras="none")) == [] and _extras(Namespace(extras="")) == []
