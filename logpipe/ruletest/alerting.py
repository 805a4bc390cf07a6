"""Alert states as Prometheus' rule manager keeps them: inactive → pending → firing."""
from collections.abc import Mapping
from dataclasses import dataclass

from logpipe.ruletest.gotemplate import TemplateData, expand_or_error
from logpipe.ruletest.rulefile import Rule

PENDING, FIRING, INACTIVE = "pending", "firing", "inactive"
RESOLVED_RETENTION_NS = 15 * 60 * 10**9  # how long a resolved alert is kept (Prometheus: 15m)

Labels = Mapping[str, str]
Vector = list[tuple[dict[str, str], float]]


class EvalError(Exception):
    """A rule evaluation that fails (as Prometheus reports it in `rule: …, err: …`)."""


@dataclass
class Alert:
    """One alert instance, identified by its label set."""

    labels: dict[str, str]
    annotations: dict[str, str]
    value: float
    active_at: int
    state: str = PENDING
    resolved_at: int | None = None


def _key(labels: Labels) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


class AlertingRule:
    """The alerts of one alerting rule across evaluations."""

    def __init__(self, rule: Rule, external_labels: Labels, external_url: str = "") -> None:
        self.rule = rule
        self.external_labels = dict(external_labels)
        self.external_url = external_url
        self.active: dict[tuple[tuple[str, str], ...], Alert] = {}

    def eval(self, ts_ns: int, vector: Vector, limit: int = 0) -> None:
        """Advance the alerts with the query result at ts_ns (Prometheus AlertingRule.Eval)."""
        results: dict[tuple[tuple[str, str], ...], Alert] = {}
        for metric, value in vector:
            data = TemplateData(metric, value, self.external_labels, self.external_url)
            labels = {k: v for k, v in metric.items() if k != "__name__"}
            for name, template in self.rule.label_templates.items():
                expanded = expand_or_error(template, data)
                if expanded:
                    labels[name] = expanded
                else:
                    labels.pop(name, None)
            labels["alertname"] = self.rule.name
            annotations = {k: expand_or_error(t, data) for k, t in self.rule.annotation_templates.items()}
            key = _key(labels)
            if key in results:
                raise EvalError("vector contains metrics with the same labelset after applying alert labels")
            results[key] = Alert(labels, annotations, value, active_at=ts_ns)
        for key, alert in results.items():
            known = self.active.get(key)
            if known is not None and known.state != INACTIVE:
                known.value, known.annotations = alert.value, alert.annotations
            else:
                self.active[key] = alert
        active_pending = 0
        for key, alert in list(self.active.items()):
            if key not in results:
                if alert.state == PENDING or (
                        alert.resolved_at is not None and ts_ns - alert.resolved_at > RESOLVED_RETENTION_NS):
                    del self.active[key]
                if alert.state != INACTIVE:
                    alert.state, alert.resolved_at = INACTIVE, ts_ns
                continue
            active_pending += 1
            if alert.state == PENDING and ts_ns - alert.active_at >= self.rule.hold_ns:
                alert.state = FIRING
        if limit and active_pending > limit:
            self.active = {}
            raise EvalError(f"exceeded limit of {limit} with {active_pending} alerts")

    def firing(self) -> list[Alert]:
        """The alerts in the firing state now."""
        return [a for a in self.active.values() if a.state == FIRING]
