"""Suite-wide options: `--target` picks the devices the device-level tests run on.

By default every device test runs on `sim` (the RTL in Verilator), `ref` (the numpy model) and `shim`
(the board adapter's own code over pynq's API, backed by the simulator). On a board,
`pytest --target board` runs the same tests on the hardware.
"""

from __future__ import annotations

import pytest

from zynpu.device.select import NPU_DEVICES

# The NPU devices of the registry, plus `shim`: the board adapter over pynq's API, backed by the simulator.
KNOWN_TARGETS = (*NPU_DEVICES, "shim")
DEFAULT_TARGETS = ",".join(t for t in KNOWN_TARGETS if t != "board")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default=DEFAULT_TARGETS,
        help=f"comma-separated devices: {', '.join(KNOWN_TARGETS)} (default {DEFAULT_TARGETS})",
    )


def targets(config: pytest.Config) -> list[str]:
    chosen = [t.strip() for t in config.getoption("--target").split(",") if t.strip()]
    unknown = sorted(set(chosen) - set(KNOWN_TARGETS))
    if unknown:
        known = ", ".join(KNOWN_TARGETS)
        raise pytest.UsageError(f"unknown --target {', '.join(unknown)}; choose from {known}")
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", targets(metafunc.config), scope="session")
