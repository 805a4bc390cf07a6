"""The Loki recording rules: every metric the spec names, under its name (remote-written
to Prometheus by the ruler). Quantile variants carry a `quantile` label."""
from logpipe.monitoring import queries as q
from logpipe.monitoring.model import RecordingRule, or_zero

RECORDING_GROUP = "basecamp-recording"
RECORDING_INTERVAL = "1m"


def _quantiles(record: str, expr_of, help_text: str) -> tuple[RecordingRule, ...]:
    return tuple(RecordingRule(record, expr_of(quantile), {"quantile": quantile}, help_text)
                 for quantile in q.QUANTILES)


RECORDING_RULES: tuple[RecordingRule, ...] = (
    RecordingRule("basecamp_token_refresh_success_rate", q.REFRESH_SUCCESS_RATE.expr,
                  help="% of token refreshes that succeeded over 1h (SC-003)"),
    RecordingRule("basecamp_oauth_completion_rate", q.OAUTH_COMPLETION_RATE.expr,
                  help="successful connections per initiated connection over 24h, % (SC-006)"),
    *_quantiles("basecamp_oauth_flow_duration_seconds", q.flow_duration,
                "successful OAuth flow duration over 1h, seconds (SC-001)"),
    *_quantiles("basecamp_status_check_duration_ms", q.status_check_duration,
                "status endpoint response time over 1h, ms (SC-002)"),
    RecordingRule("basecamp_rate_limit_hits", q.RATE_LIMIT_HITS.value_expr,
                  help="HTTP 429 responses from Basecamp over 1h"),
    RecordingRule("basecamp_oauth_errors_by_type", q.OAUTH_ERRORS_BY_TYPE,
                  help="failed OAuth callbacks over 1h by error_type"),
    RecordingRule("basecamp_auth_errors_by_type", q.AUTH_ERRORS_BY_TYPE,
                  help="failed token refreshes and API attempts over 1h by event, error_type"),
    RecordingRule("basecamp_connected_accounts_total", q.CONNECTED_ACCOUNTS,
                  help="connected accounts in the latest account_health snapshot"),
    RecordingRule("basecamp_expired_accounts_total", q.EXPIRED_ACCOUNTS,
                  help="accounts with expired tokens in the latest account_health snapshot"),
    RecordingRule("basecamp_disconnection_rate", or_zero(q.DISCONNECTIONS_PER_DAY),
                  help="accounts disconnected over the past day"),
    # Supporting series for the dashboards in Prometheus and the alerts' measured values.
    *_quantiles("basecamp_api_request_duration_ms", q.api_duration,
                "Basecamp HTTP attempt response time over 1h, ms"),
    RecordingRule("basecamp_error_rate_percent", q.ERROR_RATE.expr,
                  help="% of an operation's events failing with one error_type over 1h"),
    RecordingRule("basecamp_expired_accounts_percent", q.EXPIRED_ACCOUNTS_PERCENT.expr,
                  help="% of accounts with expired tokens in the latest snapshot"),
)
