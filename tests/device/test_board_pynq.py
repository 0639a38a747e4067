"""The board adapter with the real pynq package over real Vivado `.hwh` files.

pynq parses the hand-off file with its own metadata parser and binds its own `DMA` driver and our
`NpuTile` by VLNV; register accesses go through pynq's `MMIO` to the twin device (a simulated AXI DMA
with PG021's simple-mode semantics in front of the stream-level tile). Run in an environment with
pynq (CI: Python 3.10, numpy 1.26, pynq 3.0.1); skipped elsewhere.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from ..real_pynq import HLS_VLNV, hwh_folder, overlay_files, zynpu_hwh

pynq = pytest.importorskip("pynq", reason="real pynq not installed (CI installs pynq 3.0.1 on Python 3.10)")

from zynpu.device import board as board_device  # noqa: E402
from zynpu.device.pynq_twin import TwinDevice  # noqa: E402
from zynpu.npu import Npu, NpuTimeout, TileError  # noqa: E402
from zynpu.tile import reference  # noqa: E402
from zynpu.tile.manifest import load_manifest  # noqa: E402

MANIFEST = load_manifest()
VLNV = MANIFEST.raw["vlnv"]
# The cell names of overlays/zynpu_bd.tcl, and resizer's own: the adapter must not care.
NAMINGS = {"resizer": {}, "zynpu_bd": {"axi_dma_0": "dma", "resize_accel_0": "tile"}}


def parse(hwh: Path):  # type: ignore[no-untyped-def]
    """pynq's own metadata path for a .hwh (what Overlay() does, minus XRT's memory topology)."""
    from pynq.pl_server.embedded_device import Metadata, RuntimeMetadataParser

    parser = RuntimeMetadataParser(Metadata(input=hwh))
    parser.refresh_hierarchy_dict()
    return parser


def open_twin(tmp_path: Path, hwh: str, **options):  # type: ignore[no-untyped-def]
    """A real pynq Overlay on the twin, with zynpu's drivers registered, and the adapter over it."""
    import importlib

    driver = importlib.import_module("zynpu.overlays.pynq_driver")
    twin = TwinDevice(MANIFEST)
    overlay = driver.ZynpuOverlay(str(overlay_files(tmp_path, hwh)), download=False, device=twin)
    return overlay, twin


def test_finds_the_dma_and_the_stream_ip_of_a_real_vivado_design() -> None:
    parser = parse(hwh_folder() / "resizer.hwh")
    text = (hwh_folder() / "resizer.hwh").read_text()
    assert board_device.find_ips(parser.ip_dict, HLS_VLNV, hwh=text) == [("axi_dma_0", "resize_accel_0")]
    # The stream links, followed through the two axis_dwidth_converters Vivado placed between them.
    links = board_device.stream_targets(text)
    assert links["axi_dma_0/M_AXIS_MM2S"] == "resize_accel_0"
    assert links["resize_accel_0/dst"] == "axi_dma_0"


def test_a_design_without_the_tile_names_what_it_has() -> None:
    parser = parse(hwh_folder() / "resizer.hwh")
    with pytest.raises(board_device.OverlayMismatch) as caught:
        board_device.find_ips(parser.ip_dict, VLNV)
    message = str(caught.value)
    assert VLNV in message
    assert "axi_dma_0 (xilinx.com:ip:axi_dma:7.1)" in message
    assert f"resize_accel_0 ({HLS_VLNV})" in message


def test_a_design_without_a_dma_names_what_it_has() -> None:
    parser = parse(hwh_folder() / "rfsoc_sam.hwh")
    rf = next(n for n, d in parser.ip_dict.items() if "usp_rf_data_converter" in str(d.get("type")))
    with pytest.raises(board_device.OverlayMismatch, match=r"no AXI DMA .*" + rf):
        board_device.find_ips(parser.ip_dict, parser.ip_dict[rf]["type"])


def test_a_name_override_that_is_not_there_is_named(tmp_path: Path) -> None:
    parser = parse(hwh_folder() / "resizer.hwh")
    with pytest.raises(board_device.OverlayMismatch, match=r"no IP named 'axi_dma_1' .*axi_dma_0"):
        board_device.find_ips(parser.ip_dict, HLS_VLNV, dma="axi_dma_1")


def test_another_tile_version_is_reported_as_such() -> None:
    parser = parse(hwh_folder() / "resizer.hwh")
    newer = HLS_VLNV.rsplit(":", 1)[0] + ":2.0"
    with pytest.raises(board_device.OverlayMismatch, match=r"different version is there: resize_accel_0"):
        board_device.find_ips(parser.ip_dict, newer)


@pytest.mark.parametrize("naming", sorted(NAMINGS))
def test_real_pynq_drivers_run_a_matmul_on_the_twin(tmp_path: Path, naming: str) -> None:
    overlay, twin = open_twin(tmp_path, zynpu_hwh(VLNV, NAMINGS[naming]))
    from pynq.lib.dma import DMA

    dma_name, tile_name = (
        NAMINGS[naming].get("axi_dma_0", "axi_dma_0"),
        NAMINGS[naming].get("resize_accel_0", "resize_accel_0"),
    )
    assert isinstance(getattr(overlay, dma_name), DMA)  # pynq's own driver, bound by VLNV
    assert type(getattr(overlay, tile_name)).__name__ == "NpuTile"
    npu = overlay.npu
    assert npu is overlay.npu
    assert (npu.device.dma_name, npu.device.tile_name) == (dma_name, tile_name)
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 128, (3, 70), dtype=np.int8)
    w = rng.integers(-128, 128, (20, 70), dtype=np.int8)
    np.testing.assert_array_equal(npu.matmul(x, npu.load_weights(w)), reference.matmul(x, w))
    assert npu.last.jobs == 1
    assert twin.register_accesses > 0


def test_the_npu_property_does_not_fall_through_to_pynq(tmp_path: Path) -> None:
    text = (hwh_folder() / "resizer.hwh").read_text()  # no tile in it
    overlay, _ = open_twin(tmp_path, text)
    with pytest.raises(board_device.OverlayMismatch) as caught:
        _ = overlay.npu
    assert "Could not find IP or hierarchy" not in str(caught.value)
    assert "resize_accel_0" in str(caught.value)


def test_pynq_refuses_a_transfer_over_the_length_register(tmp_path: Path) -> None:
    # c_sg_length_width=14 is the IP's default: 16,383-byte transfers (docs/overlays.md sets 26).
    overlay, _ = open_twin(tmp_path, zynpu_hwh(VLNV, c_sg_length_width="14"))
    npu = overlay.npu
    rng = np.random.default_rng(6)
    w = rng.integers(-128, 128, (256, 128), dtype=np.int8)  # 32 KiB of weights in one packet
    x = rng.integers(-128, 128, (1, 128), dtype=np.int8)
    with pytest.raises(NpuTimeout, match="exceeds the maximum DMA buffer size 16383"):
        npu.matmul(x, npu.load_weights(w))


def wedge(twin: TwinDevice, beats: int) -> None:
    for tile in twin.tiles.values():
        tile.beats_sent, tile.stop_output_after = 0, beats


def test_a_job_abandoned_mid_output_is_recovered(tmp_path: Path) -> None:
    overlay, twin = open_twin(tmp_path, zynpu_hwh(VLNV))
    npu = Npu(overlay.npu.device, timeout=0.3)
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (4, 64), dtype=np.int8)
    w = rng.integers(-128, 128, (48, 64), dtype=np.int8)
    packed = npu.load_weights(w)
    wedge(twin, 5)  # the tile sends 5 of its result beats, then nothing
    start = time.monotonic()
    with pytest.raises(NpuTimeout, match=r"S2MM transfer did not complete within 0.3 s"):
        npu.matmul(x, packed)
    assert time.monotonic() - start < 5
    wedge(twin, None)  # type: ignore[arg-type]
    np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul(x, w))


def test_resetting_only_the_dma_would_prepend_the_old_packet(tmp_path: Path) -> None:
    """Why recovery soft-resets the tile first: the cut packet's remaining beats would start the next."""
    overlay, twin = open_twin(tmp_path, zynpu_hwh(VLNV))
    device = overlay.npu.device
    npu = Npu(device, timeout=0.3)
    rng = np.random.default_rng(8)
    x = rng.integers(-128, 128, (4, 64), dtype=np.int8)
    w = rng.integers(-128, 128, (48, 64), dtype=np.int8)
    packed = npu.load_weights(w)
    wedge(twin, 5)
    npu._recover = device.reset_dma  # type: ignore[method-assign]  # the DMA only, tile untouched
    with pytest.raises(NpuTimeout):
        npu.matmul(x, packed)
    wedge(twin, None)  # type: ignore[arg-type]
    try:
        result = npu.matmul(x, packed)
    except (TileError, NpuTimeout):
        return  # the stale beats broke the next job
    assert not np.array_equal(result, reference.matmul(x, w)), "stale beats went into the next result"


def test_a_dma_reset_that_never_completes_is_bounded(tmp_path: Path) -> None:
    overlay, twin = open_twin(tmp_path, zynpu_hwh(VLNV))
    device = overlay.npu.device
    device.reset_timeout = 0.2
    for dma in twin.dmas.values():
        dma.reset_ticks = 10**9  # DMACR.Reset never clears
    start = time.monotonic()
    with pytest.raises(Exception, match=r"DMACR.Reset did not clear within 0.2 s .*Reload the overlay"):
        device.reset_dma()
    assert time.monotonic() - start < 3


def test_deployed_bitstream_opens_as_the_board_device(tmp_path: Path, monkeypatch) -> None:
    """BoardDevice with no arguments finds the deploy folder's overlay (as `zynpu board hil` sets it)."""
    overlay_files(tmp_path / "deploy" / "overlay", zynpu_hwh(VLNV))
    monkeypatch.setenv("ZYNPU_REMOTE_DIR", str(tmp_path / "deploy"))
    for name in ("ZYNPU_BITSTREAM", "ZYNPU_BITSTREAM_DIR"):
        monkeypatch.delenv(name, raising=False)
    twin = TwinDevice(MANIFEST)
    monkeypatch.setattr(pynq.Device, "_active_device", twin, raising=False)
    device = board_device.BoardDevice(download=False)
    assert Path(device.overlay.bitfile_name) == tmp_path / "deploy" / "overlay" / "zynpu.bit"
    assert Npu(device).identity["ID"] == MANIFEST.id_magic


def test_pynq_dma_driver_sees_the_pg021_states(tmp_path: Path) -> None:
    overlay, _ = open_twin(tmp_path, zynpu_hwh(VLNV))
    device = overlay.npu.device
    send, recv = overlay.axi_dma_0.sendchannel, overlay.axi_dma_0.recvchannel
    # pynq's constructor set RS; PG021's Idle reads 0 until a transfer completes (pynq's first-transfer flag).
    assert send.running and recv.running and not send.idle and not send.error
    send.stop()  # RS=0 with nothing in flight: halted at once
    assert not send.running
    device.reset_dma()  # DMACR.Reset (both channels back to halted), then RS on both, all bounded
    assert send.running and recv.running
    rng = np.random.default_rng(9)
    x = rng.integers(-128, 128, (2, 32), dtype=np.int8)
    w = rng.integers(-128, 128, (16, 32), dtype=np.int8)
    npu = overlay.npu
    np.testing.assert_array_equal(npu.matmul(x, npu.load_weights(w)), reference.matmul(x, w))
    assert send.idle and recv.idle and recv.transferred == 2 * 16 * 4


def test_results_come_back_through_a_cacheable_buffer(tmp_path: Path) -> None:
    """CPU reads of pynq's default (non-cacheable) memory are slow on a board, so the driver reads
    results from a cacheable buffer it invalidates first; the twin keeps the CPU's cached copy apart
    from the DDR the DMA writes, so a missing invalidate would return stale zeros here."""
    overlay, _ = open_twin(tmp_path, zynpu_hwh(VLNV, {}))
    npu = overlay.npu
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 128, (2, 40), dtype=np.int8)
    w = rng.integers(-128, 128, (24, 40), dtype=np.int8)
    packed = npu.pack_weights(w)
    (part,) = packed.parts
    assert part.output.coherent is False  # cacheable: needs (and gets) an invalidate before reads
    assert part.buffer.coherent is True  # the large, write-only weights buffer stays non-cacheable
    for _ in range(2):  # the second job's results must not be the first job's cached bytes
        x = rng.integers(-128, 128, (2, 40), dtype=np.int8)
        np.testing.assert_array_equal(npu.matmul(x, packed), reference.matmul(x, w))
