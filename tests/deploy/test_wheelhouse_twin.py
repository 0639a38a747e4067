"""On the PYNQ image twin (no internet for the board): deploy ships the model extra's wheels for the
board's platform, and a decode runs there over SSH with the image's numpy untouched.

The twin is x86_64 cp310, a Kria aarch64 cp310: the same code path with another platform tag
(tests/deploy/test_wheelhouse.py downloads the aarch64 set).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("fabric")

from .pynq_image import image_twin
from .test_board_ssh import board
from .test_pynq_image_twin import checkout, image_root

__all__ = ["checkout"]  # the fixture, used below
pytestmark = pytest.mark.slow
STOCK_LACKS = ("gguf", "safetensors", "tokenizers")  # what the PYNQ image does not have


def test_deploy_ships_the_model_wheels_and_a_decode_runs_on_the_twin(checkout: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    root = image_root()
    with image_twin("kria-pynq", "zynpu-twin-ubuntu", root, nopasswd=True) as twin:
        venv_python = root / "usr/local/share/pynq-venv/bin/python"
        # Back to the stock image (another test may have installed the extras into the venv).
        subprocess.run([str(venv_python), "-m", "pip", "uninstall", "-y", "-q", *STOCK_LACKS],
                       capture_output=True, timeout=300)  # fmt: skip
        argv = [*twin.connection(), "--board", "kv260", "--source", str(checkout), "--no-bitstream",
                "--no-notebooks", "--timeout", "600"]  # fmt: skip
        capfd.readouterr()
        assert board(["deploy", *argv]) == 0
        out = capfd.readouterr().out
        assert "wheelhouse cp310-x86_64:" in out, out
        lib = twin.home / "zynpu" / "lib"
        shipped = sorted(p.name for p in (twin.home / "zynpu" / "wheelhouse").glob("*.whl"))
        assert any(n.startswith("tokenizers-") for n in shipped)
        assert not any(n.startswith("numpy-") for n in shipped)
        assert not (lib / "numpy").exists(), "the image's numpy must not be shadowed"

        assert board(["deploy", *argv]) == 0  # unchanged: nothing copied, nothing installed
        assert "0 copied" in capfd.readouterr().out

        probe = ("import gguf, tokenizers, safetensors, numpy; assert numpy.__version__ == '1.26.4', "
                 "numpy.__version__; assert '/pynq-venv/' in numpy.__file__, numpy.__file__; "
                 "assert '/zynpu/lib/' in gguf.__file__, gguf.__file__; print('imports ok')")  # fmt: skip
        assert board(["run", *twin.connection(), "--", "python3", "-c", probe]) == 0
        assert "imports ok" in capfd.readouterr().out

        decode = ["python3", "-m", "zynpu.cli", "generate", "--model", "tiny-qwen2", "--device", "numpy",
                  "--tokens", "4", "--prompt", "hello", "--json"]  # fmt: skip
        code = board(["run", *twin.connection(), "--", *decode])
        out = capfd.readouterr().out
        assert code == 0, out[-3000:]
        report = json.loads(next(ln for ln in out.splitlines() if ln.startswith("{")))
        assert report["device"] == "numpy" and 1 <= report["tokens"] <= 4 and report["prompt"] == "hello"
        assert len(report["token_ids"]) == report["tokens"]
