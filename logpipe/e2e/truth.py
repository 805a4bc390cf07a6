"""The metrics and alerts as the ground truth says they must be, computed without the app's log.

Inputs are the generator's own counts and timings and the simulator's answer counts (a
`Truth`); the thresholds and windows come from the monitoring definitions.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.events.catalogue import ErrorType, Event, Status
from logpipe.logql.evaluator import quantile
from logpipe.monitoring import queries as q
from logpipe.monitoring.alerts import ALERTS
from logpipe.monitoring.durations import seconds
from logpipe.e2e.traffic import SUCCESS, Truth

Labels = frozenset[tuple[str, str]]
Vector = dict[Labels, float]
APP_ENDPOINTS = ("token", "identity", "api")  # what the app calls; `authorize` is the browser's


def labels(**values: str) -> Labels:
    return frozenset(values.items())


def answer_type(endpoint: str, outcome: str) -> str | None:
    """The FR-016 error type the app's client gives one simulator answer (None: a success).

    The client's contract (app/integrations/basecamp/client.py): 429 rate_limited, 5xx
    server_error, a token 4xx with invalid_grant/authorization_expired invalid_grant, 401
    unauthorized, 404 not_found, other 4xx client_error, a 200 with broken JSON
    invalid_response, no answer network_error.
    """
    parts = outcome.split()
    code = next((part for part in parts if part.isdigit()), "")
    if outcome in ("connection_reset", "timeout"):
        return ErrorType.NETWORK_ERROR
    if outcome == "malformed_json":
        return ErrorType.INVALID_RESPONSE
    if code == "200":
        return None
    if code == "429":
        return ErrorType.RATE_LIMITED
    if code.startswith("5"):
        return ErrorType.SERVER_ERROR
    if endpoint == "token" and parts[-1] in ("invalid_grant", "authorization_expired"):
        return ErrorType.INVALID_GRANT
    if code == "401" and endpoint != "token":
        return ErrorType.UNAUTHORIZED
    if code == "404":
        return ErrorType.NOT_FOUND
    return ErrorType.CLIENT_ERROR


@dataclass(frozen=True)
class Events:
    """How many FR-016 events each (event, status, error_type) must have: one per thing done."""

    counts: dict[tuple[str, str, str], int]


def api_attempts(truth: Truth) -> Counter[str]:
    """Every answer the simulator gave the app, by error type ("" for success)."""
    out: Counter[str] = Counter()
    for endpoint in APP_ENDPOINTS:
        for outcome, n in truth.sim_counts.get(endpoint, {}).items():
            out[str(answer_type(endpoint, outcome) or "")] += n
    return out


def refresh_outcomes(truth: Truth) -> Counter[str]:
    """Refresh operations by outcome: invalid_grant answers, successful grants, and the rest of
    what was due, which failed after three 429s (refresh grants get no other fault)."""
    ok = sum(p.answers["refresh_token 200"] for p in truth.refresh_passes)
    return +Counter({"": ok, ErrorType.INVALID_GRANT: truth.expired,
                     ErrorType.RATE_LIMITED: truth.refresh_ops - ok - truth.expired})


def expected_events(truth: Truth) -> Events:
    """(event, status, error_type) -> number of events, from what the generator did."""
    counts: Counter[tuple[str, str, str]] = Counter()

    def add(event: Event, outcomes: Counter[str]) -> None:
        for error_type, n in outcomes.items():
            status = Status.FAILURE if error_type else Status.SUCCESS
            counts[(str(event), str(status), str(error_type))] += n

    add(Event.OAUTH_INITIATE, Counter({"": truth.initiated}))
    add(Event.OAUTH_CONNECT, Counter({("" if k == SUCCESS else k): n for k, n in truth.callbacks.items()}))
    add(Event.STATUS_CHECK, Counter({"": len(truth.status_ms)}))
    add(Event.DISCONNECT, Counter({"": truth.disconnects}))
    add(Event.TOKEN_REFRESH, refresh_outcomes(truth))
    add(Event.API_REQUEST, api_attempts(truth))
    add(Event.ACCOUNT_HEALTH, Counter({"": truth.snapshots}))
    return Events({k: n for k, n in counts.items() if n})


def _share(failures: Counter[str], total: int, event: Event) -> Vector:
    return {labels(error_type=t, event=str(event)): 100 * n / total for t, n in failures.items() if t and n}


def count_metrics(truth: Truth) -> dict[str, Vector]:
    """The count-based recorded metrics (recording rule name -> series), from the ground truth."""
    refresh = refresh_outcomes(truth)
    api = api_attempts(truth)
    callbacks = Counter({k: n for k, n in truth.callbacks.items() if k != SUCCESS})
    out: dict[str, Vector] = {
        "basecamp_rate_limit_hits": {labels(): api[ErrorType.RATE_LIMITED]},
        "basecamp_oauth_errors_by_type": {labels(error_type=t): n for t, n in callbacks.items()},
        "basecamp_auth_errors_by_type": {
            **{labels(event=str(Event.TOKEN_REFRESH), error_type=t): n for t, n in refresh.items() if t},
            **{labels(event=str(Event.API_REQUEST), error_type=t): n for t, n in api.items() if t}},
        "basecamp_connected_accounts_total": {labels(): truth.live},
        "basecamp_expired_accounts_total": {labels(): truth.expired},
        "basecamp_disconnection_rate": {labels(): truth.disconnects},
        "basecamp_error_rate_percent": {
            **_share(callbacks, sum(truth.callbacks.values()), Event.OAUTH_CONNECT),
            **_share(refresh, truth.refresh_ops, Event.TOKEN_REFRESH),
            **_share(api, sum(api.values()), Event.API_REQUEST)},
    }
    if truth.refresh_ops:
        out["basecamp_token_refresh_success_rate"] = {labels(): 100 * refresh[""] / truth.refresh_ops}
    if truth.initiated:
        out["basecamp_oauth_completion_rate"] = {labels(): 100 * truth.callbacks[SUCCESS] / truth.initiated}
    if truth.ever_connected:
        out["basecamp_expired_accounts_percent"] = {labels(): 100 * truth.expired / len(truth.ever_connected)}
    return out


def client_quantiles(truth: Truth) -> dict[str, Vector]:
    """Client-side quantiles of the same samples the duration metrics read (Prometheus interpolation)."""
    out: dict[str, Vector] = {}
    for record, timed in (("basecamp_status_check_duration_ms", truth.status_ms),
                          ("basecamp_oauth_flow_duration_seconds", truth.flow_seconds)):
        values = [value for _, value in timed]
        if values:
            out[record] = {labels(quantile=level): quantile(float(level), values) for level in q.QUANTILES}
    return out


AlertKey = tuple[str, str, Labels]  # alertname, severity, the query's labels


def _measured(truth: Truth, eval_unix_s: float) -> dict[str, Vector]:
    """Each alert's measured value at the evaluation time, as the ground truth has it.

    The run is shorter than every window but the snapshot one: totals count. The last
    account-health snapshot is gone from the window once it is older than SNAPSHOT_WINDOW;
    with no disconnection in the 7 days before today, the spike ratio has no baseline.
    """
    metrics = count_metrics(truth)
    quantiles = client_quantiles(truth)
    snapshot_visible = eval_unix_s - truth.last_snapshot_at < seconds(q.SNAPSHOT_WINDOW)
    p95 = labels(quantile=q.ALERT_QUANTILE)
    success = truth.callbacks[SUCCESS]
    return {
        "BasecampTokenRefreshSuccessRateLow": metrics.get("basecamp_token_refresh_success_rate", {}),
        "BasecampTokenRefreshConsecutiveFailures": {
            labels(user_id=str(user)): n for user, n in truth.consecutive_failures.items()},
        "BasecampOAuthCompletionRateLow": metrics.get("basecamp_oauth_completion_rate", {}),
        "BasecampOAuthNoCompletions": {labels(): truth.initiated} if truth.initiated and not success else {},
        "BasecampOAuthFlowSlow": {labels(): v for k, v in quantiles.get(
            "basecamp_oauth_flow_duration_seconds", {}).items() if k == p95},
        "BasecampStatusCheckSlow": {labels(): v for k, v in quantiles.get(
            "basecamp_status_check_duration_ms", {}).items() if k == p95},
        "BasecampRateLimited": {k: v for k, v in metrics["basecamp_rate_limit_hits"].items() if v},
        "BasecampErrorRateHigh": metrics["basecamp_error_rate_percent"],
        "BasecampExpiredAccountsHigh": metrics.get("basecamp_expired_accounts_percent", {})
        if snapshot_visible else {},
        "BasecampDisconnectionSpike": {},
    }


def expected_alerts(truth: Truth, eval_unix_s: float) -> set[AlertKey]:
    """The alerts that must be firing at the evaluation time (every `for` has been met by then)."""
    measured = _measured(truth, eval_unix_s)
    missing = {a.name for a in ALERTS} - set(measured)
    if missing:
        raise KeyError(f"no ground-truth model for alert(s) {sorted(missing)}")
    out: set[AlertKey] = set()
    for alert in ALERTS:
        for rule in alert.rules:
            for key, value in measured[alert.name].items():
                if rule.threshold is None or rule.threshold.breached(value):
                    out.add((alert.name, str(rule.severity), key))
    return out
