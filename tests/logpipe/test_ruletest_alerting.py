"""The alert state machine, step by step, as Prometheus' rule manager (rules/alerting.go) keeps it."""
import pytest

from logpipe.ruletest.alerting import FIRING, INACTIVE, PENDING, AlertingRule, EvalError
from logpipe.ruletest.gotemplate import Template
from logpipe.ruletest.rulefile import Rule

MIN = 60 * 10**9
SERIES = ({"event": "basecamp_token_refresh"}, 0.5)


def rule(hold_min: int, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> AlertingRule:
    labels, annotations = labels or {}, annotations or {}
    return AlertingRule(Rule(
        kind="alert", name="Failing", expr="unused", hold_ns=hold_min * MIN, labels=labels,
        annotations=annotations, label_templates={k: Template(v) for k, v in labels.items()},
        annotation_templates={k: Template(v) for k, v in annotations.items()}), {"cluster": "c1"})


def states(alerting: AlertingRule) -> list[str]:
    return [a.state for a in alerting.active.values()]


def test_for_counts_from_first_evaluation_that_held() -> None:
    alerting = rule(hold_min=2)
    alerting.eval(0, [SERIES])
    assert states(alerting) == [PENDING]
    alerting.eval(1 * MIN, [SERIES])
    assert states(alerting) == [PENDING] and alerting.firing() == []
    alerting.eval(2 * MIN, [SERIES])  # 2m - 0m >= for
    assert [a.active_at for a in alerting.firing()] == [0]


def test_holds_breaks_holds_again_restarts_the_clock() -> None:
    alerting = rule(hold_min=2)
    alerting.eval(0, [SERIES])
    alerting.eval(1 * MIN, [SERIES])
    alerting.eval(2 * MIN, [])  # breaks while pending: the alert is dropped
    assert alerting.active == {}
    alerting.eval(3 * MIN, [SERIES])
    alerting.eval(4 * MIN, [SERIES])
    assert alerting.firing() == []  # 4m - 3m < 2m
    alerting.eval(5 * MIN, [SERIES])
    assert [a.active_at for a in alerting.firing()] == [3 * MIN]


def test_firing_alert_resolves_then_comes_back_pending() -> None:
    alerting = rule(hold_min=1)
    for minute in range(3):
        alerting.eval(minute * MIN, [SERIES])
    assert len(alerting.firing()) == 1
    alerting.eval(3 * MIN, [])
    assert states(alerting) == [INACTIVE] and alerting.firing() == []
    alerting.eval(4 * MIN, [SERIES])  # back: a new alert, pending from 4m
    assert states(alerting) == [PENDING]
    assert next(iter(alerting.active.values())).active_at == 4 * MIN


def test_resolved_alert_is_forgotten_after_15_minutes() -> None:
    alerting = rule(hold_min=0)
    alerting.eval(0, [SERIES])
    alerting.eval(1 * MIN, [])
    alerting.eval(16 * MIN, [])
    assert states(alerting) == [INACTIVE]  # 16m - 1m is not > 15m
    alerting.eval(17 * MIN, [])
    assert alerting.active == {}


def test_for_zero_fires_at_the_first_evaluation() -> None:
    alerting = rule(hold_min=0)
    alerting.eval(0, [SERIES])
    assert states(alerting) == [FIRING]


def test_labels_annotations_and_value_are_refreshed() -> None:
    alerting = rule(hold_min=0, labels={"severity": "critical", "what": "{{ $labels.event }}"},
                    annotations={"summary": "{{ $value | humanizePercentage }} in {{ $externalLabels.cluster }}"})
    alerting.eval(0, [SERIES])
    alerting.eval(MIN, [({"event": "basecamp_token_refresh"}, 0.25)])
    (alert,) = alerting.firing()
    assert alert.labels == {"event": "basecamp_token_refresh", "severity": "critical",
                            "what": "basecamp_token_refresh", "alertname": "Failing"}
    assert alert.annotations == {"summary": "25% in c1"}
    assert alert.value == 0.25 and alert.active_at == 0


def test_same_labelset_after_rule_labels_is_an_error() -> None:
    alerting = rule(hold_min=0, labels={"event": "x"})
    with pytest.raises(EvalError, match="same labelset after applying alert labels"):
        alerting.eval(0, [({"event": "a"}, 1.0), ({"event": "b"}, 1.0)])


def test_limit_counts_pending_and_firing_alerts() -> None:
    alerting = rule(hold_min=5)
    with pytest.raises(EvalError, match="exceeded limit of 1 with 2 alerts"):
        alerting.eval(0, [({"a": "1"}, 1.0), ({"a": "2"}, 1.0)], limit=1)
    assert alerting.active == {}
