"""The one HTTP client for Launchpad and the bc3 API.

Every attempt sends the User-Agent, has a timeout and emits one `basecamp_api_request`
event. Network errors, 5xx and 429 are retried (at most `max_attempts` in all) with
full-jitter exponential backoff; a 429's `Retry-After` is honoured up to a cap.
404, 401, invalid_grant and other 4xx are never retried here. A `RateLimiter` paces every
attempt of the process's client to Basecamp's limit (50 requests per 10 s by default), and a
429's `Retry-After` pauses all of them, so a well-behaved loop never causes a 429 itself.
"""
from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from app.events import Endpoint, ErrorType, Event, Level, Status, emit


@dataclass
class ApiError(Exception):
    """A request that finally failed; `error_type` is an FR-016 ErrorType."""

    error_type: ErrorType
    error: str
    http_status: int | None
    attempts: int

    def __str__(self) -> str:
        return self.error


@dataclass
class ApiResult:
    """A successful answer: the decoded JSON and how many attempts it took."""

    data: Any
    attempts: int
    http_status: int


@dataclass
class _Attempt:
    """What one HTTP attempt produced, before deciding whether to retry."""

    http_status: int | None
    data: Any = None
    error_type: ErrorType | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.error_type in (ErrorType.RATE_LIMITED, ErrorType.SERVER_ERROR, ErrorType.NETWORK_ERROR)


class RateLimiter:
    """At most `limit` requests in any `window` seconds, shared by every thread of the process.

    A request's slot is held from `acquire()` until `release()` (its answer arrived) and then
    for `window` seconds more: the server saw it no later than its answer, so a server-side
    sliding window of the same size never counts more than `limit`. `limit` 0 means no pacing;
    `pause` (a 429's Retry-After) holds every request either way.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window = limit, window
        self._clock = clock
        self._done: deque[float] = deque()
        self._in_flight = 0
        self._paused_until = 0.0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        """Wait for a free slot (and out any pause)."""
        with self._cond:
            while True:
                now = self._clock()
                wait = self._paused_until - now
                if self.limit:
                    while self._done and self._done[0] <= now - self.window:
                        self._done.popleft()
                    if len(self._done) + self._in_flight >= self.limit:
                        wait = max(wait, self._done[0] + self.window - now if self._done else self.window)
                if wait <= 0:
                    self._in_flight += 1
                    return
                self._cond.wait(wait)

    def release(self) -> None:
        """The request's answer (or failure) arrived."""
        with self._cond:
            self._in_flight -= 1
            if self.limit:
                self._done.append(self._clock())
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Hold every request for `seconds` (a 429's Retry-After applies to the whole client)."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
        return str(body.get("error") or "") if isinstance(body, dict) else ""
    except ValueError:
        return ""


class BasecampClient:
    """Launchpad token/identity calls and bc3 API calls with retries and FR-016 events."""

    def __init__(
        self,
        *,
        launchpad_url: str,
        client_id: str,
        client_secret: str,
        user_agent: str,
        timeout: float = 10.0,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.token_url = f"{launchpad_url}/authorization/token"
        self.identity_url = f"{launchpad_url}/authorization.json"
        self._client_id = client_id
        self._client_secret = client_secret
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(0, 0.0)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.headers["Accept"] = "application/json"

    # ---- public calls -------------------------------------------------------------
    def exchange_code(self, code: str, redirect_uri: str, *, user_id: int | None) -> ApiResult:
        """Trade an authorization code for tokens (grant_type=authorization_code)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self._client_id, "client_secret": self._client_secret}
        return self._call("POST", self.token_url, Endpoint.TOKEN, user_id=user_id, data=form)

    def refresh(self, refresh_token: str, *, user_id: int | None, account_id: str | None) -> ApiResult:
        """Refresh grant; the caller stores the returned refresh token or keeps the old one."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": self._client_id, "client_secret": self._client_secret}
        return self._call("POST", self.token_url, Endpoint.TOKEN, user_id=user_id, account_id=account_id, data=form)

    def identity(self, access_token: str, *, user_id: int | None, account_id: str | None = None) -> ApiResult:
        """GET authorization.json: identity, accounts and the token's expiry."""
        return self._call("GET", self.identity_url, Endpoint.IDENTITY, user_id=user_id, account_id=account_id,
                          headers={"Authorization": f"Bearer {access_token}"})

    def api_get(self, url: str, access_token: str, *, user_id: int | None, account_id: str | None) -> ApiResult:
        """GET a bc3 API resource (e.g. `{href}/projects.json`)."""
        return self._call("GET", url, Endpoint.API, user_id=user_id, account_id=account_id,
                          headers={"Authorization": f"Bearer {access_token}"})

    # ---- machinery ----------------------------------------------------------------
    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        cap = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, cap)  # nosec B311 - backoff jitter, not a secret

    def _call(self, method: str, url: str, endpoint: Endpoint, *, user_id: int | None,
              account_id: str | None = None, **kwargs: Any) -> ApiResult:
        for attempt in range(1, self.max_attempts + 1):
            self.limiter.acquire()  # the wait for a slot is not part of the attempt's duration
            started = time.perf_counter()
            try:
                outcome = self._attempt(method, url, endpoint, **kwargs)
            finally:
                self.limiter.release()
            duration_ms = (time.perf_counter() - started) * 1000
            last = attempt == self.max_attempts or not outcome.retryable
            self._emit(endpoint, outcome, attempt, last, duration_ms, user_id, account_id)
            if outcome.error_type is None:
                return ApiResult(outcome.data, attempt, outcome.http_status or 200)
            if outcome.error_type is ErrorType.RATE_LIMITED and outcome.retry_after is not None:
                self.limiter.pause(min(outcome.retry_after, self.retry_after_max))
            if last:
                raise ApiError(outcome.error_type, outcome.error or "request failed", outcome.http_status, attempt)
            self._sleep(self.backoff(attempt, outcome.retry_after))
        raise AssertionError("unreachable")

    def _attempt(self, method: str, url: str, endpoint: Endpoint, **kwargs: Any) -> _Attempt:
        try:
            response = self._session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            return _Attempt(None, error_type=ErrorType.NETWORK_ERROR, error=f"{type(exc).__name__}: network error")
        status = response.status_code
        if status == 429:
            return _Attempt(status, error_type=ErrorType.RATE_LIMITED, error="HTTP 429 rate limited",
                            retry_after=_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            return _Attempt(status, error_type=ErrorType.SERVER_ERROR, error=f"HTTP {status} server error")
        if status == 401:
            return _Attempt(status, error_type=ErrorType.UNAUTHORIZED, error="HTTP 401 unauthorized")
        if status == 404:
            return _Attempt(status, error_type=ErrorType.NOT_FOUND, error="HTTP 404 not found")
        if status >= 400:
            oauth_error = _oauth_error(response) if endpoint is Endpoint.TOKEN else ""
            if oauth_error in ("invalid_grant", "authorization_expired"):
                return _Attempt(status, error_type=ErrorType.INVALID_GRANT, error=f"HTTP {status} {oauth_error}")
            detail = f" {oauth_error}" if oauth_error else ""
            return _Attempt(status, error_type=ErrorType.CLIENT_ERROR, error=f"HTTP {status}{detail}")
        try:
            data = response.json()
        except ValueError:
            return _Attempt(status, error_type=ErrorType.INVALID_RESPONSE, error=f"HTTP {status} malformed JSON body")
        return _Attempt(status, data=data)

    def _emit(self, endpoint: Endpoint, outcome: _Attempt, attempt: int, last: bool, duration_ms: float,
              user_id: int | None, account_id: str | None) -> None:
        common = dict(user_id=user_id, account_id=account_id, duration_ms=duration_ms, attempt=attempt,
                      max_retries=self.max_attempts, http_status=outcome.http_status, endpoint=endpoint.value,
                      retry_after=outcome.retry_after)
        if outcome.error_type is None:
            emit(Event.API_REQUEST, status=Status.SUCCESS,
                 message=f"Basecamp API request | endpoint={endpoint.value} | http_status={outcome.http_status}"
                         f" | attempt={attempt}/{self.max_attempts}", **common)
            return
        if outcome.retryable and last:
            message = f"Basecamp API request failed after {attempt} attempts | error={outcome.error}"
            level = Level.ERROR
        elif outcome.error_type is ErrorType.RATE_LIMITED:
            shown = "none" if outcome.retry_after is None else f"{outcome.retry_after:g}"
            message = f"Basecamp rate limit hit (429) | attempt={attempt}/{self.max_attempts} | retry_after={shown}"
            level = Level.WARNING
        elif outcome.retryable:
            message = (f"Basecamp API request failed, retrying | endpoint={endpoint.value}"
                       f" | attempt={attempt}/{self.max_attempts} | error={outcome.error}")
            level = Level.WARNING
        else:
            message = f"Basecamp API request failed | endpoint={endpoint.value} | error={outcome.error}"
            level = Level.WARNING if outcome.error_type is ErrorType.UNAUTHORIZED and endpoint is not Endpoint.TOKEN \
                else Level.ERROR
        emit(Event.API_REQUEST, status=Status.FAILURE, level=level, message=message, error=outcome.error,
             error_type=outcome.error_type, **common)
