"""`zynpu radio` commands: esptool command construction, clear errors, bench output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from zynpu.errors import UserError
from zynpu.radio import cli, wire
from zynpu.radio.flash import FlashError, esptool_command

from .conftest import needs_gcc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zynpu")
    cli.register(parser.add_subparsers(dest="command"))
    return parser


def _fake_build(tmp_path: Path, **overrides: object) -> Path:
    build = tmp_path / "build"
    for rel in ("bootloader/bootloader.bin", "partition_table/partition-table.bin", "zynpu_radio.bin"):
        (build / rel).parent.mkdir(parents=True, exist_ok=True)
        (build / rel).write_bytes(b"\xe9" + bytes(15))
    spec = {
        "write_flash_args": ["--flash_mode", "dio", "--flash_size", "4MB", "--flash_freq", "40m"],
        "flash_files": {"0x10000": "zynpu_radio.bin", "0x1000": "bootloader/bootloader.bin",
                        "0x8000": "partition_table/partition-table.bin"},
        "extra_esptool_args": {"after": "hard_reset", "before": "default_reset", "stub": True,
                               "chip": "esp32"},
    }
    spec.update(overrides)
    (build / "flasher_args.json").write_text(json.dumps(spec))
    return build


def test_esptool_command_from_build_outputs(tmp_path: Path) -> None:
    build = _fake_build(tmp_path)
    cmd = esptool_command("/dev/ttyUSB0", build, baud=460800, python="py")
    assert cmd[:12] == ["py", "-m", "esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud",
                        "460800", "--before", "default_reset", "--after"]
    i = cmd.index("write_flash")
    assert cmd[i + 1 : i + 7] == ["--flash_mode", "dio", "--flash_size", "4MB", "--flash_freq", "40m"]
    assert cmd[i + 7 :] == ["0x1000", str(build / "bootloader/bootloader.bin"),
                            "0x8000", str(build / "partition_table/partition-table.bin"),
                            "0x10000", str(build / "zynpu_radio.bin")]


def test_missing_build_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FlashError, match=r"not found: run `idf.py build` in firmware_esp32/"):
        esptool_command("/dev/ttyUSB0", tmp_path / "nope")


def test_missing_image_and_bad_json(tmp_path: Path) -> None:
    build = _fake_build(tmp_path)
    (build / "zynpu_radio.bin").unlink()
    with pytest.raises(FlashError, match=r"zynpu_radio.bin \(offset 0x10000\) is missing"):
        esptool_command("/dev/ttyUSB0", build)
    (build / "flasher_args.json").write_text("{")
    with pytest.raises(FlashError, match=r"not a valid ESP-IDF flasher_args\.json"):
        esptool_command("/dev/ttyUSB0", build)


def test_cli_flash_dry_run_and_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = _fake_build(tmp_path)
    args = _parser().parse_args(
        ["radio", "flash", "--port", "/dev/ttyUSB0", "--build-dir", str(build), "--dry-run"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(sys.executable + " -m esptool --chip esp32 --port /dev/ttyUSB0")
    args = _parser().parse_args(
        ["radio", "flash", "--port", "/dev/ttyUSB0", "--build-dir", str(tmp_path / "x")])
    with pytest.raises(UserError, match=r"idf\.py build"):
        args.func(args)


def test_cli_console_bad_port_is_a_command_error() -> None:
    pytest.importorskip("serial", reason="needs pyserial (pip install .[radio])")
    args = _parser().parse_args(["radio", "console", "--port", "/dev/does-not-exist", "--seconds", "0.1"])
    with pytest.raises(UserError, match="cannot open /dev/does-not-exist"):
        args.func(args)


@needs_gcc
def test_bench_reports_the_clocked_figures() -> None:
    """The figures and their bounds are reported; the targets themselves live in docs/radio.md."""
    from zynpu.radio import bench

    r = bench.run(n_bulk=200, n_small=200)
    assert r["spi_clock_hz"] == 10_000_000 and r["transaction_gap_us"] == 50.0
    assert r["transaction_time_us"] == 8 * 1600 / 10 + 50  # 1.33 ms per transaction at 10 MHz
    assert r["payload_ceiling_mbit_per_s"] == round(8 * wire.MAX_PAYLOAD / 1330e-6 / 1e6, 3)
    assert r["bulk_datagrams_received"] == 200
    assert r["payload_efficiency"] >= 0.85  # bits on the bus, not time: one max-size frame per transaction
    # the simulated bus cannot be beaten: nothing runs faster than its clock allows
    assert 0 < r["bulk_vs_ceiling"] <= 1.0 and 0 < r["messages_vs_bound"] <= 1.0
    assert r["ping_rtt_ms"] >= 2 * 1.33  # a request and its response take two transactions at least


@needs_gcc
def test_cli_ping_sim(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["radio", "ping", "--count", "2"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "ESP32 firmware: zynpu-esp32" in out and out.count("ping:") == 2
