"""Summarise a pytest JUnit XML file: the one artefact a HIL run brings back from the board."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class JUnitSummary:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    failed_names: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.errors == 0

    def line(self) -> str:
        return f"{self.passed} passed, {self.failures + self.errors} failed, {self.skipped} skipped"


def summarize(path: Path) -> JUnitSummary:
    """Counts from the testcase elements (not the suite attributes, which some writers omit)."""
    root = ET.parse(path).getroot()
    summary = JUnitSummary()
    for case in root.iter("testcase"):
        summary.tests += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
        if case.find("failure") is not None:
            summary.failures += 1
            summary.failed_names.append(name)
        elif case.find("error") is not None:
            summary.errors += 1
            summary.failed_names.append(name)
        elif case.find("skipped") is not None:
            summary.skipped += 1
    return summary
