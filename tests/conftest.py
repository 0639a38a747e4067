"""Suite-wide options: `--target` picks the devices the device-level tests run on.

By default every device test runs on `sim` (the RTL in Verilator), `ref` (the numpy model) and `twin`
(the board adapter over the real pynq package, its DMA driver and MMIO, on a simulated AXI DMA and
tile; skipped where pynq is not installed). On a board,
`pytest --target board` runs the same tests on the hardware.
"""

from __future__ import annotations

import pytest

from zynpu.device.select import NPU_DEVICES

# The NPU devices of the registry, plus `twin`: the board adapter over the real pynq package on a
# simulated AXI DMA and tile (skipped where pynq is not installed).
KNOWN_TARGETS = (*NPU_DEVICES, "twin")
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
