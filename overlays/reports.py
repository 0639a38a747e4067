"""Parse the Vivado text reports the overlay flow writes: timing summary, utilization, version.

Only the stable parts are read: the "Design Timing Summary" table and the "Site Type | Used |
Available" tables, whose layout has been the same from Vivado 2019 to 2025.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

# Site types of report_utilization on UltraScale+, and the short names the manifest uses.
UTILIZATION_SITES = {
    "CLB LUTs": "LUT",
    "CLB Registers": "FF",
    "Block RAM Tile": "BRAM36",
    "URAM": "URAM",
    "DSPs": "DSP",
}


class ReportError(ValueError):
    """A report lacks the table the manifest needs (a failed run or a changed report format)."""


@dataclass(frozen=True)
class TimingSummary:
    wns_ns: float  # worst negative slack, setup: the clock target is met when >= 0
    tns_ns: float
    whs_ns: float  # worst hold slack
    ths_ns: float
    failing_endpoints: int
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_timing_summary(text: str) -> TimingSummary:
    """WNS/TNS/WHS/THS from report_timing_summary's "Design Timing Summary" table."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if "WNS(ns)" in line and "WHS(ns)" in line:
            headers = re.split(r"\s{2,}", line.strip())
            for row in lines[index + 1 : index + 5]:
                values = row.split()
                if len(values) == len(headers) and not set(row.strip()) <= {"-", " "}:
                    table = dict(zip(headers, values, strict=True))
                    try:
                        wns = float(table["WNS(ns)"])
                        whs = float(table["WHS(ns)"])
                        return TimingSummary(
                            wns_ns=wns,
                            tns_ns=float(table["TNS(ns)"]),
                            whs_ns=whs,
                            ths_ns=float(table["THS(ns)"]),
                            failing_endpoints=int(table["TNS Failing Endpoints"])
                            + int(table["THS Failing Endpoints"]),
                            met=wns >= 0 and whs >= 0 and "constraints are not met" not in text,
                        )
                    except (KeyError, ValueError) as error:
                        raise ReportError(f"unreadable Design Timing Summary row: {row!r}") from error
            break
    raise ReportError("no Design Timing Summary table (WNS/WHS) in the timing report")


def parse_utilization(text: str) -> dict[str, dict[str, float]]:
    """Used/available/percent of LUT, FF, BRAM36, URAM and DSP from report_utilization."""
    found: dict[str, dict[str, float]] = {}
    columns: list[str] = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "Site Type":
            columns = cells
            continue
        if not columns or len(cells) != len(columns):
            continue
        name = cells[0].rstrip("*").strip()
        short = UTILIZATION_SITES.get(name)
        if short is None or short in found or line[1:].startswith("   "):
            continue
        row = dict(zip(columns, cells, strict=True))
        try:
            used = float(row["Used"])
            available = float(row["Available"])
        except (KeyError, ValueError):
            continue
        percent = row.get("Util%", "")
        found[short] = {
            "used": _number(used),
            "available": _number(available),
            "percent": float(percent.lstrip("<")) if re.fullmatch(r"<?[\d.]+", percent) else 0.0,
        }
    if "LUT" not in found:
        raise ReportError("no 'CLB LUTs' row in the utilization report")
    return found


def _number(value: float) -> float:
    return int(value) if value.is_integer() else value


def parse_vivado_version(text: str) -> str:
    """'2022.1' from `vivado -version` ("vivado v2022.1 (64-bit)") or Tcl `version -short`."""
    match = re.search(r"\bv?(20\d\d\.\d)(?:\.\d+)?\b", text)
    if not match:
        raise ReportError(f"cannot read a Vivado version from {text.strip()[:200]!r}")
    return match.group(1)
