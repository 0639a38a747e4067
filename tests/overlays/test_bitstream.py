"""Bitstream manifests: written from Vivado's text reports, verified against the host's tile manifest."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from zynpu.overlays import bitstream as bs
from zynpu.overlays.reports import ReportError, parse_timing_summary, parse_utilization, parse_vivado_version

# Written in the layout of report_timing_summary (Vivado 2022.1 / 2025.2); numbers made up.
TIMING_MET = """\
------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints
    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------
      0.412        0.000                      0                41234        0.011        0.000                      0                41234        1.458        0.000                       0                 17001


All user specified timing constraints are met.
"""  # noqa: E501

TIMING_FAILED = TIMING_MET.replace(
    "      0.412        0.000                      0", "     -0.734     -112.500                    231"
).replace("All user specified timing constraints are met.", "Timing constraints are not met.")

UTILIZATION = """\
1. CLB Logic
------------

+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| CLB LUTs*                  | 14321 |     0 |          0 |    117120 | 12.23 |
|   LUT as Logic             | 13001 |     0 |          0 |    117120 | 11.10 |
| CLB Registers              | 20555 |     0 |          0 |    234240 |  8.78 |
+----------------------------+-------+-------+------------+-----------+-------+

3. BLOCKRAM
-----------

+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    | 36.5 |     0 |          0 |       144 | 25.35 |
|   RAMB36/FIFO*    |   36 |     0 |          0 |       144 | 25.00 |
| URAM              |    0 |     0 |          0 |        64 |  0.00 |
+-------------------+------+-------+------------+-----------+-------+

4. ARITHMETIC
-------------

+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |   64 |     0 |          0 |      1248 |  5.13 |
|   DSP48E2 only |   64 |       |            |           |       |
+----------------+------+-------+------------+-----------+-------+
"""


def test_timing_summary_met() -> None:
    timing = parse_timing_summary(TIMING_MET)
    assert (timing.wns_ns, timing.tns_ns, timing.whs_ns, timing.failing_endpoints) == (0.412, 0.0, 0.011, 0)
    assert timing.met


def test_timing_summary_failed() -> None:
    timing = parse_timing_summary(TIMING_FAILED)
    assert (timing.wns_ns, timing.tns_ns, timing.failing_endpoints) == (-0.734, -112.5, 231)
    assert not timing.met


def test_timing_summary_without_table_is_an_error() -> None:
    with pytest.raises(ReportError, match="Design Timing Summary"):
        parse_timing_summary("ERROR: [Common 17-69] Command failed: no open design\n")


def test_utilization_top_rows_only() -> None:
    used = parse_utilization(UTILIZATION)
    assert used["LUT"] == {"used": 14321, "available": 117120, "percent": 12.23}
    assert used["FF"]["used"] == 20555
    assert used["BRAM36"] == {"used": 36.5, "available": 144, "percent": 25.35}
    assert used["URAM"]["used"] == 0
    assert used["DSP"] == {"used": 64, "available": 1248, "percent": 5.13}


def test_vivado_version() -> None:
    assert (
        parse_vivado_version("vivado v2022.1 (64-bit)\nSW Build 3526262 on Mon Apr 18 15:47:01 MDT 2022")
        == "2022.1"
    )
    assert parse_vivado_version("2025.2") == "2025.2"
    with pytest.raises(ReportError):
        parse_vivado_version("command not found")


def _build(folder: Path, hw: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / bs.BIT_NAME).write_bytes(bytes(range(256)) * 8)
    (folder / bs.HWH_NAME).write_text("<EDKSYSTEM/>")
    timing = parse_timing_summary(TIMING_MET).as_dict()
    bs.write_manifest(
        folder, board=folder.name, hw_manifest=hw, vivado_version="2022.1", expected_vivado="2022.1",
        clock_mhz=250.0, timing=timing, utilization=parse_utilization(UTILIZATION),
    )  # fmt: skip
    return folder


def test_manifest_records_the_build_and_verifies(tmp_path: Path) -> None:
    hw = bs.host_manifest()
    folder = _build(tmp_path / "kv260", hw)
    manifest = json.loads((folder / bs.MANIFEST_NAME).read_text())
    assert manifest["config_hash"] == hw["config_hash"]
    assert manifest["tile"]["rows"] == hw["tile"]["rows"] and manifest["tile"]["lanes"] == hw["tile"]["lanes"]
    assert manifest["vivado"]["version"] == "2022.1"
    assert manifest["timing"]["wns_ns"] == 0.412
    assert manifest["clock"] == {"target_mhz": 250.0, "fmax_mhz_estimate": round(1000 / (4.0 - 0.412), 1)}
    assert manifest["utilization"]["DSP"]["used"] == 64
    assert manifest["files"]["zynpu.bit"]["sha256"] == bs.sha256(folder / bs.BIT_NAME)
    loaded = bs.load_bitstream(folder, hw)
    assert loaded.board == "kv260" and loaded.hwh.read_text() == "<EDKSYSTEM/>"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda hw: hw.update(config_hash="0" * 64),
            r"config_hash: bitstream '[0-9a-f]{64}' != host '0{64}'",
        ),
        (lambda hw: hw["tile"].update(rows=4), r"tile.rows: bitstream \d+ != host 4"),
        (lambda hw: hw["tile"].update(lanes=32), r"tile.lanes: bitstream 16 != host 32"),
    ],
)
def test_refuses_another_rtl_configuration(tmp_path: Path, edit, message: str) -> None:
    folder = _build(tmp_path / "zcu104", bs.host_manifest())
    host = copy.deepcopy(bs.host_manifest())
    edit(host)
    with pytest.raises(bs.BitstreamError, match=message) as error:
        bs.load_bitstream(folder, host)
    assert "make overlay BOARD=zcu104" in str(error.value)


def test_refuses_a_changed_file(tmp_path: Path) -> None:
    folder = _build(tmp_path / "ultra96v2", bs.host_manifest())
    (folder / bs.HWH_NAME).write_text("<EDKSYSTEM edited='yes'/>")
    with pytest.raises(
        bs.BitstreamError, match=r"zynpu.hwh: sha256 .* != manifest .*make overlay BOARD=ultra96v2"
    ):
        bs.load_bitstream(folder)


def test_missing_folder_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(bs.BitstreamError, match=r"no bitstream for kv260: .*make overlay BOARD=kv260"):
        bs.load_bitstream(tmp_path / "kv260")
