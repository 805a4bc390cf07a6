"""The definitions implement the spec's thresholds; helpers behave as documented."""
import pytest

from logpipe.monitoring import queries as q
from logpipe.monitoring.durations import duration, seconds
from logpipe.monitoring.model import PERCENT, Severity, Threshold
from logpipe.monitoring.ruletests import expand, humanize, prom_quantile

W, C = Severity.WARNING, Severity.CRITICAL

#: The spec's alert conditions (monitoring-and-alerting.md), in the measures' units.
SPEC = {
    "refresh_success_rate": {(W, "<", 95), (C, "<", 90)},
    "consecutive_refresh_failures": {(C, ">=", 5)},
    "oauth_completion_rate": {(W, "<", 90), (C, "<", 85)},
    "oauth_flow_duration_p95": {(W, ">", 120), (C, ">", 180)},
    "status_check_duration_p95": {(W, ">", 1000), (C, ">", 2000)},
    "rate_limit_hits": {(W, ">", 0), (C, ">=", 10)},
    "error_rate": {(W, ">", 10), (C, ">", 25)},
    "expired_accounts_percent": {(W, ">", 5), (C, ">", 10)},
    "disconnection_spike": {(W, ">", 3)},
}


def test_thresholds_are_the_spec_s() -> None:
    measures = [q.REFRESH_SUCCESS_RATE, q.CONSECUTIVE_REFRESH_FAILURES, q.OAUTH_COMPLETION_RATE,
                q.OAUTH_FLOW_DURATION_P95, q.STATUS_CHECK_P95, q.RATE_LIMIT_HITS, q.ERROR_RATE,
                q.EXPIRED_ACCOUNTS_PERCENT, q.DISCONNECTION_SPIKE]
    found = {m.key: {(t.severity, t.op, t.number) for t in m.thresholds} for m in measures}
    assert found == SPEC


@pytest.mark.parametrize("op, number, inside, outside", [
    ("<", 95, 94.9, 95), (">", 5, 5.1, 5), (">=", 10, 10, 9.9)])
def test_threshold_breach_is_strict_as_the_spec_words_it(op, number, inside, outside) -> None:
    threshold = Threshold(W, op, number)
    assert threshold.breached(inside) and not threshold.breached(outside)


def test_target_text_is_the_negated_warning_threshold() -> None:
    assert Threshold(W, "<", 95).target_text(PERCENT) == "≥ 95%"
    assert Threshold(W, ">", 0).target_text(PERCENT) == "0"
    assert Threshold(W, ">=", 10).text(PERCENT) == "≥ 10%"


def test_severity_of_picks_the_worst() -> None:
    assert q.REFRESH_SUCCESS_RATE.severity_of(89.9) is C
    assert q.REFRESH_SUCCESS_RATE.severity_of(90) is W
    assert q.REFRESH_SUCCESS_RATE.severity_of(95) is None


def test_durations_round_trip() -> None:
    assert seconds("7d12h") == 7 * 86400 + 12 * 3600
    assert duration(seconds("1h30m5s")) == "1h30m5s"
    assert duration(0) == "0s"
    with pytest.raises(ValueError):
        seconds("5 minutes")


def test_prometheus_quantile_interpolates_between_ranks() -> None:
    # rank 0.95 * (4 - 1) = 2.85: 30 + 0.85 * (40 - 30)
    assert prom_quantile([40, 10, 30, 20], 0.95) == pytest.approx(38.5)
    assert prom_quantile([7], 0.5) == 7


def test_expected_annotations_expand_only_known_templates() -> None:
    assert expand("{{ $value | humanize }}% for {{ $labels.user_id }}", 94.0,
                  {"user_id": "42"}) == "94% for 42"
    assert humanize(120.5) == "120.5"
    with pytest.raises(ValueError):
        humanize(1001)
    with pytest.raises(ValueError):
        expand("{{ $labels.missing }}", 1, {})
