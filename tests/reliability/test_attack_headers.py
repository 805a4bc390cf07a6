"""Security headers on every response: every GET route of the url_map (anonymous and signed in), error
pages (400, 401, 404, 405, 429) and static files; HSTS in production; no-store on authenticated pages and the API."""
from __future__ import annotations

import requests

from app import create_app
from app.security import CSP, HSTS
from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    CAPTURED, FERNET_KEY, SECRET_KEY, AppServer, Browser, browser, server, sim,
)

AREA = "Attack and bad input"
REQUIRED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _problems(label: str, response: requests.Response, *, private: bool) -> list[str]:
    found = [f"{label}: {name}={response.headers.get(name)!r}" for name, value in REQUIRED.items()
             if response.headers.get(name) != value]
    if "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", ""):
        found.append(f"{label}: no frame-ancestors")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        found.append(f"{label}: Permissions-Policy missing")
    if private and response.headers.get("Cache-Control") != "no-store":
        found.append(f"{label}: Cache-Control={response.headers.get('Cache-Control')!r}")
    if "Strict-Transport-Security" in response.headers:
        found.append(f"{label}: HSTS in development")
    return found


def _paths(server: AppServer) -> list[str]:
    """One concrete path per GET rule of the url_map."""
    paths = []
    for rule in server.app.url_map.iter_rules():
        if "GET" in (rule.methods or ()):
            paths.append(rule.rule.replace("<path:filename>", "style.css"))
    return sorted(paths)


def test_security_headers_on_every_response(server: AppServer, browser: Browser, reliability_report) -> None:
    anonymous = Browser(server)
    paths = _paths(server)
    problems: list[str] = []
    checked = 0
    for path in paths:
        for who, client in (("anonymous", anonymous), ("signed in", browser)):
            response = client.get(path, allow_redirects=False)
            private = who == "signed in" and not path.startswith("/static/") or path.startswith("/api/")
            problems += _problems(f"{who} GET {path} ({response.status_code})", response, private=private)
            checked += 1
    errors = {
        "400 CSRF": browser.http.post(server.url + "/signout", timeout=10),
        "401 API": anonymous.get("/api/integrations/basecamp/status/"),
        "404": browser.get("/no-such-page"),
        "405": browser.http.put(server.url + "/api/integrations/basecamp/status/", timeout=10),
    }
    for _ in range(11):
        errors["429"] = browser.get("/integrations/basecamp/connect", allow_redirects=False)
    for label, response in errors.items():
        problems += _problems(f"{label} ({response.status_code})", response, private=True)
        checked += 1
    prod = create_app({"APP_ENV": "production", "SECRET_KEY": SECRET_KEY, "TOKEN_ENCRYPTION_KEYS": FERNET_KEY,
                       "DATABASE_URL": server.db_url, "EVENT_STREAM": CAPTURED.events})
    hsts = [prod.test_client().get(path).headers.get("Strict-Transport-Security") for path in ("/signin", "/livez")]
    prod.extensions["db_engine"].dispose()
    passed = not problems and hsts == [HSTS, HSTS] and [e.status_code for e in errors.values()] == [400, 401, 404,
                                                                                                    405, 429]
    reliability_report.record(
        AREA, "Security headers set", f"{checked} responses: every GET route ({len(paths)}) anonymous and signed "
        "in, 400/401/404/405/429 errors, a static file; production app",
        "CSP (frame-ancestors 'none'), nosniff, X-Frame-Options DENY, Referrer-Policy, Permissions-Policy on all; "
        "Cache-Control no-store signed in and on the API; HSTS only in production",
        f"{checked - len({p.split(':')[0] for p in problems})}/{checked} responses complete"
        + (f"; problems: {problems[:3]}" if problems else "") + f"; production HSTS: {hsts[0]!r}", "none", passed)
    assert passed, problems or hsts
