"""The reliability and security suite records one row per scenario; at the end of the session
the rows are written to benchmarks/reliability.md (scenario, load or fault, expected, observed,
data lost), so the figures there are always those of the last run on this machine."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from benchmarks.machine import describe

REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "reliability.md"


@dataclass(frozen=True)
class Row:
    area: str  # "Load", "Faults" or "Attack and bad input"
    scenario: str
    load_or_fault: str
    expected: str
    observed: str
    data_lost: str
    passed: bool


class ReliabilityReport:
    """Rows recorded by the tests of this session, in the order they ran."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def record(self, area: str, scenario: str, load_or_fault: str, expected: str, observed: str,
               data_lost: str, passed: bool) -> None:
        """Add one row; call it before asserting, so a failing scenario is reported too."""
        self.rows.append(Row(area, scenario, load_or_fault, expected, observed, data_lost, passed))

    def markdown(self) -> str:
        lines = ["# Reliability and security results", "", describe(),
                 "Written by `make test` (tests/reliability); every figure was measured in that run.", ""]
        for area in dict.fromkeys(row.area for row in self.rows):
            lines += [f"## {area}", "", "| scenario | load or fault | expected | observed | data lost | result |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {r.scenario} | {r.load_or_fault} | {r.expected} | {r.observed} | {r.data_lost} | "
                      f"{'pass' if r.passed else 'FAIL'} |" for r in self.rows if r.area == area]
            lines.append("")
        return "\n".join(lines)


_REPORT = ReliabilityReport()


@pytest.fixture(scope="session")
def reliability_report() -> Iterator[ReliabilityReport]:
    yield _REPORT
    if _REPORT.rows:
        REPORT.write_text(_REPORT.markdown())
