"""The rule files hold issue 4's metrics and alerts, with annotations and runbook links."""
import yaml

from logpipe.monitoring import config

#: Issue 4's alert table: alertname → severities.
ISSUE_ALERTS = {
    "BasecampTokenRefreshSuccessRateLow": {"warning", "critical"},
    "BasecampTokenRefreshConsecutiveFailures": {"critical"},
    "BasecampOAuthCompletionRateLow": {"warning", "critical"},
    "BasecampOAuthNoCompletions": {"critical"},
    "BasecampOAuthFlowSlow": {"warning", "critical"},
    "BasecampStatusCheckSlow": {"warning", "critical"},
    "BasecampRateLimited": {"warning", "critical"},
    "BasecampErrorRateHigh": {"warning", "critical"},
    "BasecampExpiredAccountsHigh": {"warning", "critical"},
    "BasecampDisconnectionSpike": {"warning"},
}
#: Issue 4's recording rule names.
ISSUE_METRICS = {
    "basecamp_token_refresh_success_rate", "basecamp_oauth_completion_rate",
    "basecamp_oauth_flow_duration_seconds", "basecamp_status_check_duration_ms",
    "basecamp_rate_limit_hits", "basecamp_oauth_errors_by_type", "basecamp_auth_errors_by_type",
    "basecamp_connected_accounts_total", "basecamp_expired_accounts_total",
    "basecamp_disconnection_rate",
}


def _rules(path) -> list[dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert all(set(g) == {"name", "interval", "rules"} for g in doc["groups"])
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_alert_of_the_issue_with_its_severities() -> None:
    found: dict[str, set[str]] = {}
    for rule in _rules(config.ALERTS_FILE):
        found.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    assert found == ISSUE_ALERTS


def test_every_alert_rule_is_annotated() -> None:
    for rule in _rules(config.ALERTS_FILE):
        notes = rule["annotations"]
        assert set(notes) == {"summary", "description", "runbook_url"}, rule["alert"]
        assert "$value" in notes["description"], rule["alert"]
        assert notes["runbook_url"] == f"{config.RUNBOOK_URL}#{rule['alert'].lower()}"


def test_alert_labels_come_from_the_query() -> None:
    exprs = {r["alert"]: r["expr"] for r in _rules(config.ALERTS_FILE)}
    assert "by (user_id) >= 5" in exprs["BasecampTokenRefreshConsecutiveFailures"]
    assert "sum by (event, error_type) " in exprs["BasecampErrorRateHigh"]
    assert "user_id" not in {k for r in _rules(config.ALERTS_FILE) for k in r["labels"]}


def test_every_metric_of_the_issue_is_recorded_quantiles_as_labels() -> None:
    rules = _rules(config.RECORDING_FILE)
    assert ISSUE_METRICS <= {r["record"] for r in rules}
    quantiles = {(r["record"], r["labels"]["quantile"]) for r in rules if "labels" in r}
    for name in ("basecamp_oauth_flow_duration_seconds", "basecamp_status_check_duration_ms"):
        assert {q for n, q in quantiles if n == name} == {"0.5", "0.95", "0.99"}
