"""The tiny models of each family (tests/model's generator), read once per session."""

from __future__ import annotations

import pytest

pytest.importorskip("gguf", reason="native model tests need the model extra (pip install .[model])")
from zynpu.model import testmodels


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """family -> (config, weights, tokenizer) of its tiny GGUF model."""
    from zynpu.model.load import read_checkpoint

    folder = tmp_path_factory.mktemp("native-tiny")
    cache: dict = {}

    def get(family: str):  # type: ignore[no-untyped-def]
        if family not in cache:
            cache[family] = read_checkpoint(testmodels.make(family, "gguf", folder / family, seed=0))
        return cache[family]

    return get
