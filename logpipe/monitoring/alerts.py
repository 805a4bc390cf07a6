"""The alerting rules of issue 4's table: names, severities, `for`, annotations, runbook.

Thresholds come from the measures in `queries`; the runbook text is the spec's runbook and
recommended actions, one section per alert.
"""
from logpipe.monitoring import queries as q
from logpipe.monitoring.model import Alert, AlertRule, Measure, RunbookEntry, Severity

VALUE = "{{ $value | humanize }}"
#: Durations print as Go's %.0f (humanize would print 1001 ms as `1.001k`).
VALUE_INT = '{{ printf "%.0f" $value }}'

#: Group name → evaluation interval. Account health changes every 5-min snapshot and
#: disconnections are counted per day, so that group is evaluated every 5 minutes.
GROUP_INTERVALS = {
    "basecamp-token-refresh": "1m",
    "basecamp-oauth": "1m",
    "basecamp-api": "1m",
    "basecamp-accounts": "5m",
}


def label(name: str) -> str:
    """A `{{ $labels.<name> }}` template."""
    return f"{{{{ $labels.{name} }}}}"


def thresholds_text(measure: Measure) -> str:
    """`warning < 95%, critical < 90%`."""
    return ", ".join(f"{t.severity} {t.text(measure.unit)}" for t in measure.thresholds)


def _target(measure: Measure) -> str:
    """The target its warning threshold guards: `≥ 95%`."""
    return measure.threshold(Severity.WARNING).target_text(measure.unit)


def _rules(measure: Measure, summary) -> tuple[AlertRule, ...]:
    """One rule per threshold of the measure; `summary(threshold)` words it."""
    return tuple(AlertRule(t.severity, measure.condition(t), summary(t), t)
                 for t in measure.thresholds)


REFRESH_INVESTIGATION = (
    "Check Basecamp API status: https://status.basecamp.com",
    "Review error logs for common error messages (queries below): rate limiting, "
    "network issues, `invalid_grant`",
    "Verify OAuth credentials are valid",
    "Check network connectivity to Basecamp API",
)
REFRESH_RESOLUTION = (
    "If Basecamp API down: wait for recovery; users can re-authenticate",
    "If credentials invalid: rotate OAuth credentials",
    "If network issues: check firewall/proxy configuration",
    "If failures are transient (rate limits, 5xx): consider increasing exponential backoff delays",
)
OAUTH_INVESTIGATION = (
    "Check recent failed callback logs (queries below); common causes: state parameter "
    "mismatch (CSRF, `invalid_state`), session expiration, invalid OAuth credentials, "
    "user cancellation",
    "Verify OAuth redirect URI matches registered value",
    "Check session middleware configuration",
    "Test OAuth flow manually",
)
OAUTH_RESOLUTION = (
    "Update redirect URI if changed",
    "Verify session configuration (cookies, secure flag)",
    "Clear affected user sessions if state mismatch",
)
STATUS_INVESTIGATION = (
    "Check database query performance",
    "Verify status cache is working (ttl_seconds=600) and monitor the cache hit rate",
    "Review database connection pool",
)
STATUS_RESOLUTION = (
    "Add database indexes if missing",
    "Increase cache TTL if appropriate",
    "Scale database connections if needed",
)
Q = q.INVESTIGATION

ALERTS: tuple[Alert, ...] = (
    Alert(
        "BasecampTokenRefreshSuccessRateLow", "basecamp-token-refresh", "5m",
        _rules(q.REFRESH_SUCCESS_RATE,
               lambda t: f"Token refresh success rate below {t.literal}% "
                         f"over {q.REFRESH_WINDOW}"),
        f"{VALUE}% of Basecamp token refreshes succeeded over the past {q.REFRESH_WINDOW} "
        f"(SC-003; {thresholds_text(q.REFRESH_SUCCESS_RATE)}).",
        RunbookEntry(
            f"Fewer token refreshes than SC-003's target "
            f"({_target(q.REFRESH_SUCCESS_RATE)}) succeed: connections will expire and "
            "users will have to reconnect Basecamp.",
            REFRESH_INVESTIGATION, REFRESH_RESOLUTION,
            (("Failures by error type", Q["refresh_failures_by_type"]),
             ("Failed refreshes with their error", Q["refresh_failures"]))),
        "the rate already spans 1h; 5m more keeps one failed burst from paging"),
    Alert(
        "BasecampTokenRefreshConsecutiveFailures", "basecamp-token-refresh", "0m",
        _rules(q.CONSECUTIVE_REFRESH_FAILURES,
               lambda t: f"Token refresh failed {t.literal}+ times in a row for user "
                         f"{label('user_id')}"),
        f"User {label('user_id')}'s Basecamp connection has failed its last {VALUE} token "
        f"refreshes ({thresholds_text(q.CONSECUTIVE_REFRESH_FAILURES)}).",
        RunbookEntry(
            "One user's connection keeps failing to refresh (`metadata.consecutive_failures` "
            "of their latest refresh event); without a fix their token expires.",
            (*REFRESH_INVESTIGATION,
             "Read that user's refresh history (replace USER_ID) for the error of each attempt"),
            (*REFRESH_RESOLUTION,
             "If the refresh token was revoked (`invalid_grant`): the user must reconnect"),
            (("Refresh history of the user", Q["refresh_history_of_user"]),
             ("Failures by error type", Q["refresh_failures_by_type"]))),
        "consecutive failures already are persistence; the count resets on success"),
    Alert(
        "BasecampOAuthCompletionRateLow", "basecamp-oauth", "15m",
        _rules(q.OAUTH_COMPLETION_RATE,
               lambda t: f"OAuth completion rate below {t.literal}% over "
                         f"{q.COMPLETION_WINDOW}"),
        f"Only {VALUE}% of initiated Basecamp connections completed over the past "
        f"{q.COMPLETION_WINDOW} (SC-006; {thresholds_text(q.OAUTH_COMPLETION_RATE)}).",
        RunbookEntry(
            f"Users start connecting Basecamp but fewer than SC-006's target "
            f"({_target(q.OAUTH_COMPLETION_RATE)}) finish.",
            OAUTH_INVESTIGATION, OAUTH_RESOLUTION,
            (("Failed callbacks by error type", Q["callback_failures_by_type"]),
             ("Recent failed callbacks", Q["failed_callbacks"]))),
        "a 24h ratio moves slowly; 15m rides out flows still in progress"),
    Alert(
        "BasecampOAuthNoCompletions", "basecamp-oauth", "10m",
        (AlertRule(Severity.CRITICAL, q.OAUTH_NO_COMPLETIONS.expr,
                   f"No Basecamp connection completed in the past {q.NO_COMPLETION_WINDOW}"),),
        f"{VALUE} Basecamp connections were initiated in the past {q.NO_COMPLETION_WINDOW} "
        "and none completed. Alertmanager mutes this alert outside business hours.",
        RunbookEntry(
            "Nobody who started connecting Basecamp in the past hour got through: the flow "
            "is probably broken. It only fires when connections were initiated (no traffic "
            "is not an outage) and Alertmanager mutes it outside business hours.",
            OAUTH_INVESTIGATION, OAUTH_RESOLUTION,
            (("Initiations per hour", Q["initiations_per_hour"]),
             ("Recent failed callbacks", Q["failed_callbacks"]))),
        "several times the flow's duration target, so a flow in progress never pages"),
    Alert(
        "BasecampOAuthFlowSlow", "basecamp-oauth", "10m",
        _rules(q.OAUTH_FLOW_DURATION_P95,
               lambda t: f"OAuth flow p95 duration above {t.literal}s"),
        f"The p95 of successful OAuth flows (initiate to callback) is {VALUE}s over "
        f"the past {q.LATENCY_WINDOW} (SC-001; "
        f"{thresholds_text(q.OAUTH_FLOW_DURATION_P95)}).",
        RunbookEntry(
            f"Connecting Basecamp takes longer than SC-001's target "
            f"({_target(q.OAUTH_FLOW_DURATION_P95)}) for the slowest 5 % of users.",
            ("List the slow flows (query below) and see whether one step (token exchange, "
             "identity lookup) dominates: compare `basecamp_api_request` durations by "
             "`metadata.endpoint`",
             "Check Basecamp API status: https://status.basecamp.com"),
            ("Reduce token exchange timeout", "Optimize database writes",
             "Cache OAuth credentials lookup"),
            (("Slow successful flows", Q["slow_flows"]),)),
        "a p95 over 1h of a low-volume flow jumps with single users; 10m confirms a trend"),
    Alert(
        "BasecampStatusCheckSlow", "basecamp-api", "10m",
        _rules(q.STATUS_CHECK_P95,
               lambda t: f"Status check p95 above {t.literal}ms"),
        f"The p95 response time of /api/integrations/basecamp/status/ is {VALUE_INT}ms over "
        f"the past {q.LATENCY_WINDOW} (SC-002; {thresholds_text(q.STATUS_CHECK_P95)}).",
        RunbookEntry(
            f"The status endpoint is slower than SC-002's target "
            f"({_target(q.STATUS_CHECK_P95)}) for the slowest 5 % of calls.",
            STATUS_INVESTIGATION, STATUS_RESOLUTION,
            (("Slow status checks", Q["slow_status_checks"]),
             ("Cache hit rate, %", Q["status_cache_hit_rate"]))),
        "as for the flow p95: 10m separates a slow period from a few slow requests"),
    Alert(
        "BasecampRateLimited", "basecamp-api", "0m",
        _rules(q.RATE_LIMIT_HITS,
               lambda t: "Basecamp rate limit (HTTP 429) hit" if t.number == 0 else
               f"{t.literal}+ Basecamp rate limit hits (HTTP 429) in {q.RATE_LIMIT_WINDOW}"),
        f"Basecamp answered {VALUE} requests with HTTP 429 in the past "
        f"{q.RATE_LIMIT_WINDOW} ({thresholds_text(q.RATE_LIMIT_HITS)}).",
        RunbookEntry(
            "Basecamp throttles us. Requests are retried after `retry_after`, but users wait "
            "and refreshes may fail.",
            ("Find which endpoint (`metadata.endpoint`: token, identity, api) is throttled",
             "Check for excessive API calls in application logic"),
            ("Review exponential backoff implementation", "Consider request throttling",
             "Check for excessive API calls in application logic"),
            (("429s by endpoint", Q["rate_limits_by_endpoint"]),
             ("429 responses with retry_after", Q["rate_limit_events"]),
             ("Requests that failed after all retries", Q["api_final_failures"]))),
        "the spec warns on any 429; the critical count already spans 1h"),
    Alert(
        "BasecampErrorRateHigh", "basecamp-api", "5m",
        _rules(q.ERROR_RATE,
               lambda t: f"{label('error_type')} above {t.literal}% of {label('event')}"),
        f"{VALUE}% of {label('event')} events failed with {label('error_type')} over the "
        f"past {q.ERROR_WINDOW} ({thresholds_text(q.ERROR_RATE)}).",
        RunbookEntry(
            "One error type makes up too large a share of an operation's events "
            "(`event`: OAuth callbacks, token refreshes or Basecamp API attempts). "
            "`invalid_state`: CSRF validation failures; `token_exchange_failed`: OAuth code "
            "exchange failures; `session_expired`: session timeout during OAuth; "
            "`account_already_connected`: duplicate connection attempts; "
            "`authorization_failed`: user denied access.",
            ("For `basecamp_oauth_connect`: follow BasecampOAuthCompletionRateLow's "
             "investigation",
             "For `basecamp_token_refresh`: follow BasecampTokenRefreshSuccessRateLow's",
             "For `basecamp_api_request` with `rate_limited`: follow BasecampRateLimited's"),
            ("Resolve per the section of the operation above",),
            (("Callback failures by type", Q["callback_failures_by_type"]),
             ("Refresh and API failures by type", Q["errors_by_operation"]))),
        "a 1h share already smooths; 5m keeps a single burst from paging"),
    Alert(
        "BasecampExpiredAccountsHigh", "basecamp-accounts", "15m",
        _rules(q.EXPIRED_ACCOUNTS_PERCENT,
               lambda t: f"More than {t.literal}% of Basecamp accounts have expired tokens"),
        f"{VALUE}% of Basecamp accounts have expired tokens in the latest health snapshot "
        f"({thresholds_text(q.EXPIRED_ACCOUNTS_PERCENT)}).",
        RunbookEntry(
            "Too many connected accounts hold expired tokens: refreshes are failing or not "
            "running, and those users' Basecamp features are broken until they reconnect.",
            ("Check that the refresh loop runs: account_health events every 5 minutes",
             *REFRESH_INVESTIGATION),
            REFRESH_RESOLUTION,
            (("Latest account health snapshots", Q["account_health"]),
             ("Refresh failures by error type", Q["refresh_failures_by_type"]))),
        "three 5-minute snapshots, so one refresh pass in flight does not page"),
    Alert(
        "BasecampDisconnectionSpike", "basecamp-accounts", "0m",
        _rules(q.DISCONNECTION_SPIKE,
               lambda t: f"Basecamp disconnections above {t.literal}× the "
                         f"{q.BASELINE_DAYS}-day average"),
        f"Disconnections over the past day are {VALUE}× the average day of the "
        f"{q.BASELINE_DAYS} days before ({thresholds_text(q.DISCONNECTION_SPIKE)}).",
        RunbookEntry(
            "Many more users than usual disconnected Basecamp today: a product change, "
            "broken connections users give up on, or an automated disconnect.",
            ("List today's disconnections: one user or many, one account or many",
             "Correlate with expired accounts and token refresh failures",
             "Check recent releases touching the integration"),
            ("If connections broke: resolve the refresh or OAuth problem (see those sections) "
             "and ask affected users to reconnect",
             "If an automated process disconnects accounts: stop it"),
            (("Disconnections per day", Q["disconnections_per_day"]),
             ("Disconnections", Q["disconnections"]))),
        "a day's count changes slowly; waiting would only delay the warning"),
)
