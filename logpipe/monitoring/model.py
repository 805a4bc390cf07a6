"""The vocabulary of the monitoring definitions: units, thresholds, metrics, alerts."""
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Op = Literal["<", ">", ">="]
_NEGATION: dict[str, str] = {"<": "≥", ">": "≤", ">=": "<"}


class Severity(StrEnum):
    """Alertmanager routes on these (`severity` label)."""

    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Unit:
    """How a measured value is printed and which Grafana unit shows it."""

    suffix: str
    grafana: str
    decimals: int

    def format(self, value: float) -> str:
        """`94.7%`, `121.5 s`, `3` – the value as the report prints it."""
        text = f"{value:.{self.decimals}f}"
        return f"{text}{self.suffix}"


PERCENT = Unit("%", "percent", 1)
SECONDS = Unit(" s", "s", 1)
MILLISECONDS = Unit(" ms", "ms", 0)
COUNT = Unit("", "short", 0)
FACTOR = Unit("×", "x", 2)


@dataclass(frozen=True)
class Threshold:
    """One alert threshold: the value is bad when `value <op> number` holds."""

    severity: Severity
    op: Op
    number: float

    def breached(self, value: float) -> bool:
        """Whether a measured value crosses this threshold."""
        if self.op == "<":
            return value < self.number
        if self.op == ">":
            return value > self.number
        return value >= self.number

    @property
    def literal(self) -> str:
        """The number as LogQL and the docs print it (`95`, `0.5`)."""
        return f"{self.number:g}"

    def text(self, unit: Unit) -> str:
        """`< 95%`, `> 120 s`, `≥ 10`."""
        op = "≥" if self.op == ">=" else self.op
        return f"{op} {self.literal}{unit.suffix}"

    def target_text(self, unit: Unit) -> str:
        """The target this (warning) threshold guards: its negation, `≥ 95%`, `≤ 120 s`, `0`."""
        if self.op == ">" and self.number == 0:
            return "0"
        return f"{_NEGATION[self.op]} {self.literal}{unit.suffix}"


def or_zero(expr: str) -> str:
    """`(expr or vector(0))`: a label-less count that is 0 rather than absent."""
    return f"({expr} or vector(0))"


@dataclass(frozen=True)
class Measure:
    """A LogQL expression whose samples are the measured value.

    `expr` is absent without events (alerts compare it); a count whose absence means 0 sets
    `absent_is_zero`, and `value_expr` (recorded, reported) is then zero-filled.
    """

    key: str
    title: str
    expr: str
    unit: Unit
    thresholds: tuple[Threshold, ...] = ()
    absent_is_zero: bool = False

    @property
    def value_expr(self) -> str:
        """The expression whose value is recorded and reported."""
        return or_zero(self.expr) if self.absent_is_zero else self.expr

    def condition(self, threshold: Threshold) -> str:
        """The alert expression for one threshold."""
        return f"{self.expr} {threshold.op} {threshold.literal}"

    def severity_of(self, value: float) -> Severity | None:
        """The worst severity whose threshold the value breaches (None: OK)."""
        for severity in (Severity.CRITICAL, Severity.WARNING):
            if any(t.severity is severity and t.breached(value) for t in self.thresholds):
                return severity
        return None

    def threshold(self, severity: Severity) -> Threshold:
        """This measure's threshold at one severity."""
        return next(t for t in self.thresholds if t.severity is severity)


@dataclass(frozen=True)
class RecordingRule:
    """A Loki recording rule; quantile variants share `record` and differ by `labels`."""

    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)
    help: str = ""


@dataclass(frozen=True)
class RunbookEntry:
    """The runbook section of one alert (spec wording, turned into steps)."""

    meaning: str
    investigation: tuple[str, ...]
    resolution: tuple[str, ...]
    queries: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlertRule:
    """One rule of the alerting file: an alertname at one severity."""

    severity: Severity
    expr: str
    summary: str
    threshold: Threshold | None = None


@dataclass(frozen=True)
class Alert:
    """An alertname with its rules (one per severity), `for`, annotations and runbook."""

    name: str
    group: str
    for_: str
    rules: tuple[AlertRule, ...]
    description: str
    runbook: RunbookEntry
    for_reason: str

    @property
    def anchor(self) -> str:
        """The runbook section's anchor (GitHub lowercases heading text)."""
        return self.name.lower()
