"""FR-016 records and the scenarios the rule tests replay (lines without `timestamp`: the
rule test runner sets it from `at`)."""
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from app.events.catalogue import Endpoint, ErrorType, Event, Level, Status
from logpipe.monitoring.config import APP

USER = 42
ACCOUNT = "888888"
ENV = "test"
Record = dict[str, Any]
_HTTP_STATUS = {ErrorType.INVALID_GRANT: 400, ErrorType.RATE_LIMITED: 429,
                ErrorType.SERVER_ERROR: 502, ErrorType.UNAUTHORIZED: 401}


def record(event: Event, level: Level, status: Status, message: str, *,
           user_id: int | None = USER, account_id: str | None = ACCOUNT,
           duration_ms: float | None = None, error_type: ErrorType | None = None,
           error: str | None = None, **metadata: Any) -> Record:
    """One FR-016 record (fields in the schema's order, `timestamp` left to the runner)."""
    return {
        "level": str(level), "event": str(event), "user_id": user_id, "account_id": account_id,
        "status": str(status), "duration_ms": duration_ms, "error": error,
        "error_type": None if error_type is None else str(error_type), "message": message,
        "metadata": {"attempt": None, "max_retries": None, "http_status": None, **metadata},
    }


def refresh_ok(user_id: int = USER) -> Record:
    return record(Event.TOKEN_REFRESH, Level.INFO, Status.SUCCESS,
                  f"Basecamp token refresh successful | user_id={user_id} | account_id={ACCOUNT}",
                  user_id=user_id, duration_ms=240, attempt=1, max_retries=3, http_status=200,
                  endpoint=str(Endpoint.TOKEN), consecutive_failures=0)


def refresh_failed(consecutive: int = 1, error_type: ErrorType = ErrorType.INVALID_GRANT,
                   user_id: int = USER) -> Record:
    return record(Event.TOKEN_REFRESH, Level.ERROR, Status.FAILURE,
                  f"Basecamp token refresh failed | user_id={user_id} | error={error_type}",
                  user_id=user_id, duration_ms=310, error_type=error_type,
                  error=f"{error_type}: refresh rejected", attempt=3, max_retries=3,
                  http_status=_HTTP_STATUS.get(error_type), endpoint=str(Endpoint.TOKEN),
                  consecutive_failures=consecutive)


def initiate(user_id: int = USER) -> Record:
    return record(Event.OAUTH_INITIATE, Level.INFO, Status.SUCCESS,
                  f"Basecamp OAuth connect initiated | user_id={user_id}",
                  user_id=user_id, account_id=None)


def connected(duration_ms: float, user_id: int = USER) -> Record:
    return record(Event.OAUTH_CONNECT, Level.INFO, Status.SUCCESS,
                  f"Basecamp OAuth connection successful | user_id={user_id} | "
                  f"account_id={ACCOUNT}", user_id=user_id, duration_ms=duration_ms)


def connect_failed(error_type: ErrorType, duration_ms: float = 45_000,
                   user_id: int = USER) -> Record:
    level = Level.WARNING if error_type is ErrorType.ACCOUNT_ALREADY_CONNECTED else Level.ERROR
    return record(Event.OAUTH_CONNECT, level, Status.FAILURE,
                  f"Basecamp OAuth callback exception | user_id={user_id} | error={error_type}",
                  user_id=user_id, account_id=None, duration_ms=duration_ms,
                  error_type=error_type, error=f"{error_type}: callback rejected")


def api_ok(duration_ms: float, endpoint: Endpoint = Endpoint.API) -> Record:
    return record(Event.API_REQUEST, Level.INFO, Status.SUCCESS,
                  f"Basecamp API request succeeded | endpoint={endpoint} | http_status=200",
                  duration_ms=duration_ms, attempt=1, max_retries=3, http_status=200,
                  endpoint=str(endpoint))


def api_rate_limited(attempt: int = 1, retry_after: float = 30, duration_ms: float = 50,
                     endpoint: Endpoint = Endpoint.API) -> Record:
    return record(Event.API_REQUEST, Level.WARNING, Status.FAILURE,
                  f"Basecamp rate limit hit (429) | attempt={attempt}/3 | "
                  f"retry_after={retry_after:g}",
                  duration_ms=duration_ms, error_type=ErrorType.RATE_LIMITED,
                  error="HTTP 429 Too Many Requests", attempt=attempt, max_retries=3,
                  http_status=429, endpoint=str(endpoint), retry_after=retry_after)


def api_network_error(attempt: int = 1) -> Record:
    """A retryable attempt that got no HTTP response (`http_status` null)."""
    return record(Event.API_REQUEST, Level.WARNING, Status.FAILURE,
                  f"Basecamp API request failed | attempt={attempt}/3 | error=network_error",
                  duration_ms=5000, error_type=ErrorType.NETWORK_ERROR,
                  error="connection timed out", attempt=attempt, max_retries=3,
                  endpoint=str(Endpoint.API))


def status_check(duration_ms: float, cache_hit: bool = True) -> Record:
    return record(Event.STATUS_CHECK, Level.INFO, Status.SUCCESS,
                  f"Integration status check | provider=basecamp | duration_ms={duration_ms:g}",
                  account_id=None, duration_ms=duration_ms, cache_hit=cache_hit)


def disconnected(user_id: int = USER) -> Record:
    return record(Event.DISCONNECT, Level.INFO, Status.SUCCESS,
                  f"Basecamp account disconnected | user_id={user_id} | account_id={ACCOUNT}",
                  user_id=user_id)


def health(total: int, connected_accounts: int, expired: int) -> Record:
    return record(Event.ACCOUNT_HEALTH, Level.INFO, Status.SUCCESS,
                  f"Basecamp account health | total={total} | connected={connected_accounts} | "
                  f"expired={expired}", user_id=None, account_id=None,
                  total_accounts=total, connected_accounts=connected_accounts,
                  expired_accounts=expired)


def stream_labels(rec: Record) -> str:
    """The stream labels our Vector remap program gives the record."""
    return (f'{{app="{APP}", env="{ENV}", level="{rec["level"]}", '
            f'event="{rec["event"]}"}}')


@dataclass(frozen=True)
class Lines:
    """`repeat` copies of a record at `at`, `at+every`, … (durations as the format writes them)."""

    at: str
    rec: Record
    repeat: int = 1
    every: str = "10s"


@dataclass
class Scenario:
    """One test group: input lines and what the rules must give at `eval_time`s."""

    name: str
    lines: list[Lines]
    alert_tests: list[dict[str, Any]] = field(default_factory=list)
    expr_tests: list[dict[str, Any]] = field(default_factory=list)

    def streams(self) -> dict[str, list[Lines]]:
        """Lines grouped by stream labels, in order of first appearance."""
        out: dict[str, list[Lines]] = {}
        for item in self.lines:
            out.setdefault(stream_labels(item.rec), []).append(item)
        return out


def jsonl(lines: list[Lines], origin_ns: int) -> str:
    """The lines as the app's event log (JSON lines in time order), `at` counted from origin_ns."""
    from logpipe.monitoring.durations import seconds

    timed = []
    for item in lines:
        for i in range(item.repeat):
            ts = origin_ns + (seconds(item.at) + i * seconds(item.every)) * 10**9
            moment = datetime.fromtimestamp(ts // 10**9, tz=timezone.utc)
            stamp = f"{moment:%Y-%m-%dT%H:%M:%S}.{ts % 10**9 // 1000:06d}Z"
            timed.append((ts, json.dumps({"timestamp": stamp, **item.rec})))
    return "".join(text + "\n" for _, text in sorted(timed, key=lambda t: t[0]))
