"""Response security headers and brute-force rate limits (sign-in per IP and per account, connect per user).

The limiter is an in-process sliding window: with several gunicorn workers each worker
counts on its own, so an attacker spreading requests over W workers gets at most W times
the configured limit (the Dockerfile runs 2 workers: set the limits to half of the wanted
total there). Keys are hashed; passwords and emails are never stored or logged.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NoReturn

from flask import Flask, current_app, request, session
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # keeps the callback's code out of other sites' logs; CSRF's referrer check works
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
Rate = tuple[int, float]  # (requests, window seconds); (0, 0) disables the limit
_SWEEP_EVERY = 1024


class SlidingWindowLimiter:
    """Per key, the times of the counted hits inside the window; thread-safe, expired keys swept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._since_sweep = 0

    def retry_after(self, key: str, rate: Rate) -> int | None:
        """Seconds until `key` may try again under `rate`, or None if it may now."""
        limit, window = rate
        if limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                return None
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) < limit:
                return None
            return max(1, math.ceil(hits[0] + window - now))

    def hit(self, key: str, rate: Rate) -> None:
        """Count one hit for `key`."""
        limit, window = rate
        if limit <= 0:
            return
        now = self._clock()
        with self._lock:
            self._hits.setdefault(key, deque()).append(now)
            self._since_sweep += 1
            if self._since_sweep >= _SWEEP_EVERY:
                self._since_sweep = 0
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - window}


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _limiter() -> SlidingWindowLimiter:
    limiter: SlidingWindowLimiter = current_app.extensions["rate_limiter"]
    return limiter


def _refuse(rule: str, retry_after: int) -> NoReturn:
    current_app.logger.warning("rate limit %s exceeded by %s; retry after %ss", rule, request.remote_addr, retry_after)
    raise TooManyRequests("Too many attempts. Wait a moment, then try again.", retry_after=retry_after)


def check_signin(email: str) -> None:
    """429 when this IP or this account used up its failed sign-in attempts."""
    ip_rate, account_rate = current_app.config["SIGNIN_IP_RATE_LIMIT"], current_app.config["SIGNIN_RATE_LIMIT"]
    for rule, key, rate in (("signin-ip", _key("ip", request.remote_addr or ""), ip_rate),
                            ("signin-account", _key("account", email), account_rate)):
        wait = _limiter().retry_after(key, rate)
        if wait is not None:
            _refuse(rule, wait)


def signin_failed(email: str) -> None:
    """Count a failed sign-in against this IP and this account."""
    _limiter().hit(_key("ip", request.remote_addr or ""), current_app.config["SIGNIN_IP_RATE_LIMIT"])
    _limiter().hit(_key("account", email), current_app.config["SIGNIN_RATE_LIMIT"])


def check_connect(user_id: int) -> None:
    """429 when this user started too many connect flows; else count this one."""
    key, rate = _key("connect", str(user_id)), current_app.config["CONNECT_RATE_LIMIT"]
    wait = _limiter().retry_after(key, rate)
    if wait is not None:
        _refuse("connect", wait)
    _limiter().hit(key, rate)


_ALWAYS = [(name.lower(), name, value) for name, value in HEADERS.items()]
_IN_PRODUCTION = [*_ALWAYS, ("strict-transport-security", "Strict-Transport-Security", HSTS)]


def _set_headers(response: Response) -> Response:
    """Add each security header the view did not set itself (one pass: this runs on every response)."""
    wanted = _IN_PRODUCTION if current_app.config["APP_ENV"] == "production" else _ALWAYS
    present = {name.lower() for name, _ in response.headers.items()}
    response.headers.extend([(name, value) for lower, name, value in wanted if lower not in present])
    # A signed-in session (Flask-Login keeps the user id under `_user_id`), read without
    # loading the user: that would cost a database query on every response (static files, /livez).
    if request.path.startswith("/api/") or session.get("_user_id") is not None:
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    return response


def init_security(app: Flask) -> None:
    """Install the limiter and the response headers."""
    app.extensions["rate_limiter"] = SlidingWindowLimiter()
    app.after_request(_set_headers)
