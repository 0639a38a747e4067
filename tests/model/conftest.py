"""Shared fixtures: the tiny models of each family, generated once per session in both formats."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gguf", reason="model tests need the model extra (pip install .[model]); not on a board")
from zynpu.model import testmodels


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny")


@pytest.fixture(scope="session")
def tiny_paths(tiny_dir: Path):  # type: ignore[no-untyped-def]
    """family -> (gguf file, HF folder) holding the same weights."""

    def make(family: str) -> tuple[Path, Path]:
        return (
            testmodels.make(family, "gguf", tiny_dir / family, seed=0),
            testmodels.make(family, "hf", tiny_dir / family, seed=0),
        )

    cache: dict[str, tuple[Path, Path]] = {}

    def get(family: str) -> tuple[Path, Path]:
        if family not in cache:
            cache[family] = make(family)
        return cache[family]

    return get


@pytest.fixture(scope="session")
def loaded(tiny_paths):  # type: ignore[no-untyped-def]
    """family -> (config, weights, tokenizer) of its tiny GGUF model, read once per session."""
    from zynpu.model.load import read_checkpoint

    cache: dict = {}

    def get(family: str):  # type: ignore[no-untyped-def]
        if family not in cache:
            cache[family] = read_checkpoint(tiny_paths(family)[0])
        return cache[family]

    return get
