"""Brute force is rate-limited: failed sign-ins per account and per IP, connect attempts per user;
429 with Retry-After, and the limiter logs neither the password nor the email."""
from __future__ import annotations

import re
import secrets

import pytest
from flask.testing import FlaskClient

from app.config import ConfigError, parse_rate
from app.security import SlidingWindowLimiter
from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    CAPTURED, AppServer, Browser, browser, csrf_token, server, sim,
)

AREA = "Attack and bad input"


def _signin(client: FlaskClient, ip: str, email: str, password: str) -> tuple[int, str | None, str]:
    """One sign-in from `ip` with the page's CSRF token: (status, Retry-After, body)."""
    env = {"REMOTE_ADDR": ip}
    token = csrf_token(client.get("/signin", environ_base=env).get_data(as_text=True))
    response = client.post("/signin", data={"csrf_token": token, "email": email, "password": password},
                           environ_base=env)
    return response.status_code, response.headers.get("Retry-After"), response.get_data(as_text=True)


def _guess() -> str:
    guess = f"guess-{secrets.token_hex(6)}"
    CAPTURED.secrets.add(guess)  # the log guard fails if any attempted password reaches a log line
    return guess


def test_signin_is_limited_per_account(server: AppServer, browser: Browser, reliability_report) -> None:
    start = len(CAPTURED.other.lines)
    failures = [_signin(server.app.test_client(), f"10.0.1.{i}", browser.email, _guess())[0] for i in range(5)]
    status, retry, body = _signin(server.app.test_client(), "10.0.1.99", browser.email, browser.password)
    other_ok = _signin(server.app.test_client(), "10.0.1.99", "nobody@example.com", _guess())[0]
    # distinct lines: each test module importing the capture fixture adds its own root handler
    logged = sorted({line for line in CAPTURED.other.lines[start:] if "rate limit" in line})
    clean = all(browser.email not in line for line in logged)
    passed = (failures == [401] * 5 and status == 429 and retry is not None and 0 < int(retry) <= 900
              and "Too many attempts" in body and other_ok == 401 and len(logged) == 1 and clean)
    reliability_report.record(
        AREA, "Sign-in brute force, per account", "5 wrong passwords for one account from 5 IPs, then the right "
        "one from a 6th IP (SIGNIN_RATE_LIMIT=5/15m, counted per worker process)",
        "401 ×5, then 429 with Retry-After ≤ 900 s even for the right password; other accounts unaffected; "
        "one log line without email or password",
        f"{failures} then {status} Retry-After={retry}; other account {other_ok}; "
        f"{len(logged)} limiter log line(s), {'no' if clean else 'WITH'} email; passwords never logged (guard)",
        "none", passed)
    assert passed


def test_signin_is_limited_per_ip(server: AppServer, browser: Browser, reliability_report) -> None:
    client = server.app.test_client()
    failures = [_signin(client, "10.0.2.1", f"probe-{i}@example.com", _guess())[0] for i in range(20)]
    blocked, retry, _ = _signin(client, "10.0.2.1", browser.email, browser.password)
    elsewhere = _signin(server.app.test_client(), "10.0.2.2", browser.email, browser.password)[0]
    passed = failures == [401] * 20 and blocked == 429 and retry is not None and elsewhere == 302
    reliability_report.record(
        AREA, "Sign-in brute force, per IP", "20 wrong sign-ins over 20 accounts from one IP, then a valid one "
        "from it and from another IP (SIGNIN_IP_RATE_LIMIT=20/15m)",
        "401 ×20, then 429 with Retry-After from that IP; the other IP signs in",
        f"{failures.count(401)}×401, then {blocked} Retry-After={retry}; other IP {elsewhere}", "none", passed)
    assert passed


def test_connect_is_limited_per_user(server: AppServer, browser: Browser, reliability_report) -> None:
    answers = [browser.get("/integrations/basecamp/connect", allow_redirects=False) for _ in range(11)]
    codes = [r.status_code for r in answers]
    other = Browser(server)
    other.signup()
    other_code = other.get("/integrations/basecamp/connect", allow_redirects=False).status_code
    last = answers[-1]
    passed = (codes == [302] * 10 + [429] and int(last.headers.get("Retry-After", "0")) > 0
              and re.search(r"Too many attempts", last.text) is not None and other_code == 302)
    reliability_report.record(
        AREA, "Connect brute force, per user", "11 connect attempts by one user (CONNECT_RATE_LIMIT=10/15m)",
        "302 ×10 to Launchpad, then a 429 page with Retry-After; another user unaffected",
        f"{codes.count(302)}×302, then {codes[-1]} Retry-After={last.headers.get('Retry-After')}; "
        f"other user {other_code}", "none", passed)
    assert passed


def test_sliding_window_forgets_old_hits() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(clock=lambda: now[0])
    rate = (2, 60.0)
    limiter.hit("k", rate)
    now[0] = 30.0
    limiter.hit("k", rate)
    assert limiter.retry_after("k", rate) == 30
    now[0] = 60.0
    assert limiter.retry_after("k", rate) is None  # the first hit left the window
    assert limiter.retry_after("k", (0, 0.0)) is None  # "off"


def test_rate_settings_are_validated() -> None:
    assert parse_rate("X", "5/15m") == (5, 900.0) and parse_rate("X", "off") == parse_rate("X", "0") == (0, 0.0)
    for bad in ("5", "five/1m", "0/1m", "5/0s", "5/soon", "-1/1m"):
        with pytest.raises(ConfigError, match="X="):
            parse_rate("X", bad)
