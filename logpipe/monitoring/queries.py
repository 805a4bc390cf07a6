"""Every LogQL query of the project and every threshold number, written once.

The rule files, the dashboards, the runbook, the rule tests and `python -m logpipe
report` all take their queries and numbers from here (`python -m logpipe.monitoring.generate`).

Conventions:
- percentages are 0–100 (the spec's `* 100`); durations keep the unit of their metric name;
- quantile variants of a metric share its name and differ by a `quantile` label
  (`basecamp_oauth_flow_duration_seconds{quantile="0.95"}`), as Prometheus summaries do;
- a measured value is absent, never 0 or NaN, when its denominator has no events, so no
  alert fires on zero traffic; counts whose absence means 0 are zero-filled when recorded.
"""
from app.events.catalogue import Event, Level
from logpipe.monitoring.config import APP
from logpipe.monitoring.model import (
    COUNT, FACTOR, MILLISECONDS, PERCENT, SECONDS, Measure, Severity, Threshold, or_zero,
)

WARNING, CRITICAL = Severity.WARNING, Severity.CRITICAL

# Windows (spec: success rate "over 1-hour window", completion rate "over 24-hour window",
# rate limits "in 1-hour window", disconnections "per day").
REFRESH_WINDOW = "1h"
COMPLETION_WINDOW = "24h"
LATENCY_WINDOW = "1h"
RATE_LIMIT_WINDOW = "1h"
ERROR_WINDOW = "1h"
CONSECUTIVE_WINDOW = "1h"
NO_COMPLETION_WINDOW = "1h"
#: account_health is emitted every 5 min; three missed snapshots make the gauges absent.
SNAPSHOT_WINDOW = "15m"
DAY_WINDOW = "1d"
BASELINE_DAYS = 7
QUANTILES = ("0.5", "0.95", "0.99")
ALERT_QUANTILE = "0.95"


def selector(*events: Event, level: Level | None = None) -> str:
    """The stream selector of one event (or several, by regex) of our app."""
    event = f'event="{events[0]}"' if len(events) == 1 else f'event=~"{"|".join(events)}"'
    level_matcher = f', level="{level}"' if level else ""
    return f'{{app="{APP}", {event}{level_matcher}}}'


def json(**paths: str) -> str:
    """`| json a="a", b="metadata.b"`: extract only the fields a query needs."""
    return " | json " + ", ".join(f'{label}="{path}"' for label, path in paths.items())


def extract(**paths: str) -> str:
    """`json(…)` then `| __error__=""`: drop lines that are not JSON (Loki fails a metric query
    whose samples keep `__error__`)."""
    return json(**paths) + ' | __error__=""'


def count(pipeline: str, window: str, by: str = "", offset: str = "") -> str:
    """`sum [by (…)] (count_over_time(<pipeline> [window] [offset]))`."""
    grouping = f" by ({by}) " if by else ""
    shift = f" offset {offset}" if offset else ""
    return f"sum{grouping}(count_over_time({pipeline} [{window}]{shift}))"


def unwrapped(function: str, pipeline: str, label: str, window: str, by: str = "",
              param: str = "") -> str:
    """An unwrapped range aggregation that drops conversion errors, grouped `by (…)`."""
    head = f"{param}, " if param else ""
    return (f'{function}({head}{pipeline} | unwrap {label} | __error__="" [{window}])'
            f" by ({by})")


STATUS = extract(status="status")
SUCCEEDED = ' | status="success"'
FAILED = ' | status="failure"'

REFRESH = selector(Event.TOKEN_REFRESH)
INITIATE = selector(Event.OAUTH_INITIATE)
CONNECT = selector(Event.OAUTH_CONNECT)
API = selector(Event.API_REQUEST)
STATUS_CHECK = selector(Event.STATUS_CHECK)
DISCONNECT = selector(Event.DISCONNECT)
HEALTH = selector(Event.ACCOUNT_HEALTH)
#: The operations whose error types are rated (spec section 6): callbacks, refreshes, API calls.
OPERATIONS = selector(Event.OAUTH_CONNECT, Event.TOKEN_REFRESH, Event.API_REQUEST)
AUTH_OPERATIONS = selector(Event.TOKEN_REFRESH, Event.API_REQUEST)

CONNECT_OK = CONNECT + STATUS + SUCCEEDED
CONNECT_OK_DURATION = CONNECT + extract(status="status", duration_ms="duration_ms") + SUCCEEDED
FAILURES_BY_TYPE = extract(status="status", error_type="error_type") + FAILED
#: A string match: a numeric `== 429` sets `__error__` (LabelFilterErr) on the `http_status`
#: of null (network errors), which fails the metric query in Loki.
RATE_LIMITED = API + extract(http_status="metadata.http_status") + ' | http_status="429"'


def flow_duration(quantile: str) -> str:
    """Quantile of successful OAuth flows' initiate→callback time, in seconds."""
    return unwrapped("quantile_over_time", CONNECT_OK_DURATION, "duration_ms",
                     LATENCY_WINDOW, param=quantile) + " / 1000"


def status_check_duration(quantile: str) -> str:
    """Quantile of the status endpoint's response time, in ms."""
    return unwrapped("quantile_over_time", STATUS_CHECK + extract(duration_ms="duration_ms"),
                     "duration_ms", LATENCY_WINDOW, param=quantile)


def api_duration(quantile: str) -> str:
    """Quantile of Basecamp HTTP attempts' response time, in ms."""
    return unwrapped("quantile_over_time", API + extract(duration_ms="duration_ms"),
                     "duration_ms", LATENCY_WINDOW, param=quantile)


def snapshot(field: str) -> str:
    """A counter of the latest `basecamp_account_health` event (`metadata.<field>`)."""
    return unwrapped("last_over_time", HEALTH + extract(**{field: f"metadata.{field}"}), field,
                     SNAPSHOT_WINDOW)


# --- Measures: the value, its unit and its thresholds (each number written here only) ---

REFRESH_SUCCESS_RATE = Measure(
    "refresh_success_rate", "Token Refresh Success Rate",
    f"100 * {or_zero(count(REFRESH + STATUS + SUCCEEDED, REFRESH_WINDOW))}"
    f" / {count(REFRESH, REFRESH_WINDOW)}",
    PERCENT, (Threshold(WARNING, "<", 95), Threshold(CRITICAL, "<", 90)))

CONSECUTIVE_REFRESH_FAILURES = Measure(
    "consecutive_refresh_failures", "Consecutive Token Refresh Failures (per user)",
    unwrapped("last_over_time",
              REFRESH + extract(user_id="user_id",
                             consecutive_failures="metadata.consecutive_failures"),
              "consecutive_failures", CONSECUTIVE_WINDOW, by="user_id"),
    COUNT, (Threshold(CRITICAL, ">=", 5),))

OAUTH_COMPLETION_RATE = Measure(
    "oauth_completion_rate", "OAuth Completion Rate",
    f"100 * {or_zero(count(CONNECT_OK, COMPLETION_WINDOW))}"
    f" / {count(INITIATE, COMPLETION_WINDOW)}",
    PERCENT, (Threshold(WARNING, "<", 90), Threshold(CRITICAL, "<", 85)))

#: Connections initiated in the past hour, while none completed (absent otherwise).
OAUTH_NO_COMPLETIONS = Measure(
    "oauth_no_completions", "OAuth flows initiated, none completed",
    f"({count(INITIATE, NO_COMPLETION_WINDOW)} > 0)"
    f" unless on () {count(CONNECT_OK, NO_COMPLETION_WINDOW)}",
    COUNT)

OAUTH_FLOW_DURATION_P95 = Measure(
    "oauth_flow_duration_p95", "OAuth Flow Duration (P95)", flow_duration(ALERT_QUANTILE),
    SECONDS, (Threshold(WARNING, ">", 120), Threshold(CRITICAL, ">", 180)))

STATUS_CHECK_P95 = Measure(
    "status_check_duration_p95", "Status Check Time (P95)",
    status_check_duration(ALERT_QUANTILE),
    MILLISECONDS, (Threshold(WARNING, ">", 1000), Threshold(CRITICAL, ">", 2000)))

RATE_LIMIT_HITS = Measure(
    "rate_limit_hits", "Rate Limit Hits (1h)", count(RATE_LIMITED, RATE_LIMIT_WINDOW),
    COUNT, (Threshold(WARNING, ">", 0), Threshold(CRITICAL, ">=", 10)), absent_is_zero=True)

ERROR_RATE = Measure(
    "error_rate", "Error Rate by Type",
    f"100 * {count(OPERATIONS + FAILURES_BY_TYPE, ERROR_WINDOW, by='event, error_type')}"
    f" / on (event) group_left {count(OPERATIONS, ERROR_WINDOW, by='event')}",
    PERCENT, (Threshold(WARNING, ">", 10), Threshold(CRITICAL, ">", 25)))

EXPIRED_ACCOUNTS_PERCENT = Measure(
    "expired_accounts_percent", "Expired Accounts",
    f"100 * {snapshot('expired_accounts')} / ({snapshot('total_accounts')} > 0)",
    PERCENT, (Threshold(WARNING, ">", 5), Threshold(CRITICAL, ">", 10)))

DISCONNECTIONS_PER_DAY = count(DISCONNECT, DAY_WINDOW)

#: Today's disconnections over the average day of the 7 days before (absent without history).
DISCONNECTION_SPIKE = Measure(
    "disconnection_spike", "Disconnections vs 7-day average",
    f"{DISCONNECTIONS_PER_DAY}"
    f" / ({count(DISCONNECT, f'{BASELINE_DAYS}d', offset=DAY_WINDOW)} / {BASELINE_DAYS})",
    FACTOR, (Threshold(WARNING, ">", 3),))

#: The spec's "Performance Targets Summary" rows, in its order.
PERFORMANCE_TARGETS = (
    REFRESH_SUCCESS_RATE, OAUTH_COMPLETION_RATE, OAUTH_FLOW_DURATION_P95, STATUS_CHECK_P95,
    RATE_LIMIT_HITS, EXPIRED_ACCOUNTS_PERCENT,
)

# --- Dashboard-only queries ---

CONNECTED_ACCOUNTS = snapshot("connected_accounts")
EXPIRED_ACCOUNTS = snapshot("expired_accounts")
OAUTH_ERRORS_BY_TYPE = count(CONNECT + FAILURES_BY_TYPE, ERROR_WINDOW, by="error_type")
AUTH_ERRORS_BY_TYPE = count(AUTH_OPERATIONS + FAILURES_BY_TYPE, ERROR_WINDOW,
                            by="event, error_type")
#: One sample per successful flow: 1-minute windows at a 1-minute step do not overlap.
FLOW_DURATIONS = unwrapped(
    "max_over_time",
    CONNECT + extract(status="status", duration_ms="duration_ms", user_id="user_id") + SUCCEEDED,
    "duration_ms", "1m", by="user_id") + " / 1000"
CONNECT_OUTCOMES_BY_HOUR = count(CONNECT + STATUS, "1h", by="status")
RECENT_FAILED_CONNECTIONS = (
    CONNECT + extract(status="status", error_type="error_type", user_id="user_id", error="error")
    + FAILED + ' | line_format "{{.error}}"')
STATE_VALIDATION_FAILURES = or_zero(
    count(CONNECT + extract(error_type="error_type") + ' | error_type="invalid_state"', "24h"))
SESSION_EXPIRATION_RATE = (
    "100 * " + or_zero(count(CONNECT + extract(error_type="error_type")
                             + ' | error_type="session_expired"', ERROR_WINDOW))
    + f" / {count(CONNECT, ERROR_WINDOW)}")
RATE_LIMIT_HITS_HOURLY = RATE_LIMIT_HITS.value_expr

# --- Runbook investigation queries ---

INVESTIGATION = {
    "refresh_failures": REFRESH + extract(status="status", user_id="user_id",
                                       error_type="error_type", error="error") + FAILED,
    "refresh_failures_by_type": count(REFRESH + FAILURES_BY_TYPE, REFRESH_WINDOW,
                                      by="error_type"),
    "refresh_history_of_user": REFRESH + extract(user_id="user_id") + ' | user_id="USER_ID"',
    "failed_callbacks": RECENT_FAILED_CONNECTIONS,
    "callback_failures_by_type": OAUTH_ERRORS_BY_TYPE,
    "initiations_per_hour": count(INITIATE, "1h"),
    "slow_flows": CONNECT + extract(status="status", duration_ms="duration_ms") + SUCCEEDED
    + f" | duration_ms > {OAUTH_FLOW_DURATION_P95.threshold(WARNING).number * 1000:g}",
    "slow_status_checks": STATUS_CHECK + extract(duration_ms="duration_ms",
                                              cache_hit="metadata.cache_hit")
    + f" | duration_ms > {STATUS_CHECK_P95.threshold(WARNING).literal}",
    "status_cache_hit_rate": "100 * " + or_zero(count(
        STATUS_CHECK + extract(cache_hit="metadata.cache_hit") + ' | cache_hit="true"',
        LATENCY_WINDOW)) + f" / {count(STATUS_CHECK, LATENCY_WINDOW)}",
    "rate_limit_events": API + extract(http_status="metadata.http_status",
                                    endpoint="metadata.endpoint",
                                    retry_after="metadata.retry_after")
    + ' | http_status="429"',
    "rate_limits_by_endpoint": count(
        API + extract(http_status="metadata.http_status", endpoint="metadata.endpoint")
        + ' | http_status="429"', RATE_LIMIT_WINDOW, by="endpoint"),
    "api_final_failures": selector(Event.API_REQUEST, level=Level.ERROR),
    "errors_by_operation": AUTH_ERRORS_BY_TYPE,
    "account_health": HEALTH,
    "disconnections": DISCONNECT + extract(user_id="user_id", account_id="account_id"),
    "disconnections_per_day": DISCONNECTIONS_PER_DAY,
}

#: Every query above by name, for `python -m logpipe lint` (alert conditions are these
#: measures compared with their thresholds; the rule files and dashboards are linted too).
LOGQL_QUERIES: dict[str, str] = {
    **{m.key: m.expr for m in (
        REFRESH_SUCCESS_RATE, CONSECUTIVE_REFRESH_FAILURES, OAUTH_COMPLETION_RATE,
        OAUTH_NO_COMPLETIONS, OAUTH_FLOW_DURATION_P95, STATUS_CHECK_P95, RATE_LIMIT_HITS,
        ERROR_RATE, EXPIRED_ACCOUNTS_PERCENT, DISCONNECTION_SPIKE)},
    **{f"{name}_q{quantile}": fn(quantile) for quantile in QUANTILES
       for name, fn in (("flow_duration", flow_duration),
                        ("status_check_duration", status_check_duration),
                        ("api_duration", api_duration))},
    "connected_accounts": CONNECTED_ACCOUNTS,
    "expired_accounts": EXPIRED_ACCOUNTS,
    "oauth_errors_by_type": OAUTH_ERRORS_BY_TYPE,
    "auth_errors_by_type": AUTH_ERRORS_BY_TYPE,
    "flow_durations": FLOW_DURATIONS,
    "connect_outcomes_by_hour": CONNECT_OUTCOMES_BY_HOUR,
    "recent_failed_connections": RECENT_FAILED_CONNECTIONS,
    "state_validation_failures": STATE_VALIDATION_FAILURES,
    "session_expiration_rate": SESSION_EXPIRATION_RATE,
    "rate_limit_hits_hourly": RATE_LIMIT_HITS_HOURLY,
    "disconnections_per_day": DISCONNECTIONS_PER_DAY,
    **{f"investigate_{name}": expr for name, expr in INVESTIGATION.items()},
}
