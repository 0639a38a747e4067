"""`zynpu board deploy` then `zynpu board hil` on a twin of the PYNQ image (tests/deploy/pynq_image.py).

The default `pynq` profile runs: sudo -n, the image's profile script, its venv's Python 3.10 with
pynq 3.0.1, an offline install, notebooks copied where root's Jupyter serves them, the suite run on
the "board" (the twin PL behind the real pynq) and its JUnit XML fetched back.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

pytest.importorskip("fabric")

from zynpu.board.junit import summarize
from zynpu.errors import UserError
from zynpu.overlays import bitstream as bs

from .pynq_image import image_twin
from .snapshot import snapshot_checkout
from .test_board_ssh import board

pytestmark = pytest.mark.slow  # builds pynq's venv once (minutes), then ~1 min per run


def image_root() -> Path:
    return Path(os.environ.get("ZYNPU_CACHE", Path.cwd() / ".cache" / "zynpu")).resolve() / "pynq-image-twin"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frozen copy of the checkout with its tests (others edit the live tree meanwhile)."""
    return snapshot_checkout(tmp_path_factory.mktemp("checkout"), ["tests", "notebooks"])


def twin_bitstream(folder: Path, venv_hwhs: Path) -> Path:
    """kv260/: a .bit header and a real Vivado .hwh carrying the tile's VLNV, with a matching manifest."""
    from zynpu.device.bit_header import write_bitfile

    from ..real_pynq import zynpu_hwh

    folder.mkdir(parents=True, exist_ok=True)
    (folder / bs.HWH_NAME).write_text(zynpu_hwh(bs.host_manifest()["vlnv"], folder=venv_hwhs))
    write_bitfile(folder / bs.BIT_NAME)
    bs.write_manifest(
        folder, board=folder.name, hw_manifest=bs.host_manifest(), vivado_version="2022.1",
        expected_vivado="2022.1", clock_mhz=250.0,
        timing={"wns_ns": 0.1, "tns_ns": 0.0, "whs_ns": 0.01, "ths_ns": 0.0, "failing_endpoints": 0,
                "met": True},
        utilization={"LUT": {"used": 1, "available": 2, "percent": 50.0}},
    )  # fmt: skip
    return folder


def test_deploy_and_hil_on_the_kria_pynq_twin(checkout: Path, tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    root = image_root()
    with image_twin("kria-pynq", "zynpu-twin-ubuntu", root, nopasswd=True) as twin:
        hwhs = next(
            (root / "usr/local/share/pynq-venv/lib").glob("python3.*/site-packages/pynqmetadata/tests/hwhs")
        )
        overlay = twin_bitstream(tmp_path / "kv260", hwhs)
        argv = [*twin.connection(), "--board", "kv260", "--source", str(checkout),
                "--bitstreams", str(overlay), "--timeout", "600"]  # fmt: skip
        assert board(["deploy", *argv]) == 0
        remote_dir = twin.home / "zynpu"
        # The package: in the deploy folder (hil) and in pynq's venv (root's Jupyter kernel).
        assert (remote_dir / "lib" / "zynpu" / "hw" / "manifest.json").is_file()
        venv_site = next((root / "usr/local/share/pynq-venv/lib").glob("python3.*/site-packages"))
        assert (venv_site / "zynpu" / "device" / "board.py").is_file()
        # Notebooks where root's Jupyter serves them, with the pointer to the deploy folder.
        served = root / "root" / "jupyter_notebooks" / "zynpu"
        shipped = sorted(p.name for p in (checkout / "notebooks").glob("*.ipynb"))
        assert sorted(p.name for p in served.glob("*.ipynb")) == shipped and shipped
        assert json.loads((served / "zynpu_board.json").read_text()) == {"remote_dir": str(remote_dir)}
        capfd.readouterr()

        assert board(["deploy", *argv]) == 0  # unchanged: nothing copied, nothing installed
        assert "0 copied" in capfd.readouterr().out

        # The doctor reads the same board: versions, sudo, the deployed overlay, CMA and clock.
        code = board(["doctor", *twin.connection(), "--board", "kv260"])
        out = capfd.readouterr().out
        assert "ok   python: Python 3.10." in out and "ok   pynq: pynq 3.0.1" in out, out
        assert "ok   sudo: passwordless" in out
        assert "ok   bitstream: " in out and "matches its manifest, built from this RTL" in out
        cma = re.search(r"^CmaTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        cma_mb = int(cma.group(1)) // 1024 if cma else 0
        assert f"cma: CMA pool {cma_mb} MB" in out
        hwh_clock = re.search(
            r'NAME="PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ" VALUE="([0-9.]+)"', (overlay / "zynpu.hwh").read_text()
        )
        assert hwh_clock and f"pl_clk0 {float(hwh_clock.group(1))} MHz in the .hwh, 250.0 MHz targeted" in out
        assert code == (0 if cma_mb >= 256 else 1)

        junit = tmp_path / "junit.xml"
        code = board(["hil", *argv, "--junit-out", str(junit), "--",
                      "tests/device", "tests/deploy/remote_smoke", "--target", "board", "-q"])  # fmt: skip
        summary = summarize(junit)
        assert code == 0, summary.failed_names
        assert summary.failures == summary.errors == 0
        assert summary.passed >= 30  # the device suite ran on the twin PL through pynq 3.0.1
        names = junit.read_text()
        assert "[board" in names and "test_package_comes_from_the_deploy_folder" in names

        # The whole suite collects in the image's environment (numpy 1.26, pynq, pytest only).
        collect = tmp_path / "collect.xml"
        code = board(["hil", *argv, "--junit-out", str(collect), "--", "tests", "--target", "board",
                      "--collect-only", "-q"])  # fmt: skip
        assert code == 0, capfd.readouterr().out[-3000:]


def test_sudo_with_a_password_stops_with_the_sudoers_line(checkout: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with image_twin("pynq", "zynpu-twin-xilinx", image_root(), nopasswd=False) as twin:
        argv = [*twin.connection(), "--board", "zcu104", "--source", str(checkout), "--no-bitstream"]
        with pytest.raises(UserError) as caught:
            board(["deploy", *argv])
        message = str(caught.value)
        assert "echo 'zynpu-twin-xilinx ALL=(ALL) NOPASSWD: ALL' | sudo tee /etc/sudoers.d/zynpu" in message
        assert not (twin.home / "zynpu").exists(), "nothing may be copied before sudo works"
        assert board(["doctor", *twin.connection(), "--board", "zcu104"]) == 1
        out = capsys.readouterr().out
        assert "FAIL sudo: " in out and "zynpu-twin-xilinx ALL=(ALL) NOPASSWD: ALL" in out
        assert "FAIL bitstream: no deployed overlay" in out
