"""Evaluate the project's rules over a log store: the spec's Performance Targets Summary, the
recorded metrics and the alerts firing (the rule test runner's alert state machine)."""
from dataclasses import dataclass

from logpipe.logql import LogStore, instant_query
from logpipe.monitoring.config import ALERTS_FILE, RECORDING_FILE
from logpipe.monitoring.model import Measure
from logpipe.monitoring.queries import PERFORMANCE_TARGETS
from logpipe.ruletest.alerting import Alert, AlertingRule, Vector
from logpipe.ruletest.rulefile import Group, load_rule_file

DEFAULT_INTERVAL_NS = 60 * 10**9


@dataclass(frozen=True)
class TargetRow:
    """One row of the Performance Targets Summary; `value` None when there is no data."""

    measure: Measure
    value: float | None

    @property
    def status(self) -> str:
        """OK, WARNING, CRITICAL or NO DATA."""
        if self.value is None:
            return "NO DATA"
        severity = self.measure.severity_of(self.value)
        return "OK" if severity is None else severity.upper()


def vector(store: LogStore, expr: str, ts_ns: int) -> Vector:
    """An instant query's samples as (labels, value) pairs."""
    result = instant_query(store, expr, ts_ns)
    if result.result_type == "scalar":
        return [({}, float(result.scalar))]
    return [(dict(sample.labels), float(sample.value)) for sample in result.samples]


def targets(store: LogStore, ts_ns: int) -> list[TargetRow]:
    """The spec's rows, each measured at ts_ns (label-free measures: one sample or none)."""
    rows = []
    for measure in PERFORMANCE_TARGETS:
        samples = vector(store, measure.value_expr, ts_ns)
        rows.append(TargetRow(measure, samples[0][1] if samples else None))
    return rows


def recorded(store: LogStore, ts_ns: int) -> list[tuple[str, dict[str, str], float]]:
    """Every recording rule's series at ts_ns: (record, labels, value)."""
    out = []
    for group in load_rule_file(RECORDING_FILE):
        for rule in group.rules:
            for labels, value in vector(store, rule.expr, ts_ns):
                out.append((rule.name, {**labels, **rule.labels}, value))
    return out


def _evaluation_times(group: Group, ts_ns: int) -> list[int]:
    """The group's evaluations ending at ts_ns, reaching back far enough for every `for`."""
    interval = group.interval_ns or DEFAULT_INTERVAL_NS
    lookback = max(rule.hold_ns for rule in group.rules) + interval
    return [ts_ns - k * interval for k in range(lookback // interval, -1, -1)]


def firing_alerts(store: LogStore, ts_ns: int) -> list[Alert]:
    """The alerts firing at ts_ns when each group has been evaluated at its interval before."""
    out = []
    for group in load_rule_file(ALERTS_FILE):
        rules = [AlertingRule(rule, {}) for rule in group.rules if rule.kind == "alert"]
        for ts in _evaluation_times(group, ts_ns):
            for rule in rules:
                rule.eval(ts, vector(store, rule.rule.expr, ts), group.limit)
        out += [alert for rule in rules for alert in rule.firing()]
    return out
