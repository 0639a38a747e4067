"""The firmware's portable core, compiled with gcc under ASan/UBSan, against the shared vectors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zynpu.radio import vectors

TEST_DIR = Path(__file__).resolve().parents[2] / "firmware_esp32" / "components" / "zynpu_link" / "test"


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None, reason="needs gcc and make")
def test_core_unit_tests_with_sanitizers(tmp_path: Path) -> None:
    proc = subprocess.run(["make", "-s", "-C", str(TEST_DIR), f"OUT={tmp_path}", "CC=gcc", "test"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ALL OK" in proc.stdout
    assert f"vectors: {len(vectors.load())} checked" in proc.stdout
    for group in ("link: ok", "boot counter: ok", "copy field: ok"):
        assert group in proc.stdout
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang (apt-get install clang) for libFuzzer")
def test_libfuzzer_30s(tmp_path: Path) -> None:
    proc = subprocess.run(["make", "-s", "-C", str(TEST_DIR), f"OUT={tmp_path}", "FUZZ_SECONDS=30", "fuzz"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Done" in proc.stderr and "ERROR" not in proc.stderr
