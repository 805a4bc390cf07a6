"""CSRF on every state-changing route: every non-GET rule of the url_map refuses a request without a
valid token (none, forged, or another session's) with 400, and nothing changes."""
from __future__ import annotations

import re

import requests
from sqlalchemy import create_engine, text

from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    AppServer, Browser, browser, csrf_token, new_browser, server, sim,
)

AREA = "Attack and bad input"
SAFE = {"GET", "HEAD", "OPTIONS"}


def _routes(browser: Browser, account_id: str) -> dict[str, tuple[str, dict[str, str]]]:
    """endpoint -> (path, the form fields an honest client would send)."""
    return {
        "auth.signup": ("/signup", {"email": "csrf-victim@example.com", "password": "pw-csrf-123456",
                                    "confirm": "pw-csrf-123456"}),
        "auth.signin": ("/signin", {"email": browser.email, "password": browser.password}),
        "auth.signout": ("/signout", {}),
        "basecamp.choose": ("/integrations/basecamp/choose", {"account_id": account_id}),
        "basecamp.disconnect": ("/integrations/basecamp/disconnect", {}),
        "basecamp_api.disconnect": ("/api/integrations/basecamp/disconnect", {}),
    }


def _snapshot(db_url: str) -> dict[str, list[tuple]]:
    engine = create_engine(db_url)
    with engine.connect() as db:
        rows = {table: sorted(map(tuple, db.execute(text(f"SELECT * FROM {table}")).all()), key=repr)
                for table in ("users", "basecamp_connections", "oauth_flows")}
    engine.dispose()
    return rows


def _post(browser: Browser, url: str, fields: dict[str, str], token: str | None) -> requests.Response:
    """POST as the signed-in browser: a form (token as csrf_token), or JSON under /api/ (token as X-CSRFToken)."""
    if "/api/" in url:
        headers = {"X-CSRFToken": token} if token else {}
        return browser.http.post(url, json={}, headers=headers, timeout=10, allow_redirects=False)
    data = {**fields, **({"csrf_token": token} if token else {})}
    return browser.http.post(url, data=data, timeout=10, allow_redirects=False)


def _pending_chooser(browser: Browser, sim) -> str:
    """Connect with three bc3 accounts: a choice waits in the session; returns the chooser page."""
    sim.reset(accounts_per_identity=3)
    page = browser.connect()
    assert page.status_code == 200 and "Choose a Basecamp account" in page.text
    return page.text


def test_every_state_changing_route_requires_a_valid_csrf_token(server: AppServer, browser: Browser, new_browser,
                                                               sim, reliability_report) -> None:
    changing = {rule.endpoint for rule in server.app.url_map.iter_rules() if set(rule.methods or ()) - SAFE}
    chooser = _pending_chooser(browser, sim)
    account_id = re.findall(r'name="account_id" value="(\w+)"', chooser)[0]
    routes = _routes(browser, account_id)
    other_token = csrf_token(new_browser().get("/integrations/basecamp/").text)
    tokens = {"no token": None, "forged token": "forged." + "A" * 40, "another session's token": other_token}
    before = _snapshot(server.db_url)
    refused = {(endpoint, label): _post(browser, server.url + path, fields, token).status_code
               for endpoint, (path, fields) in sorted(routes.items()) for label, token in tokens.items()}
    attempts = list(refused)
    after = _snapshot(server.db_url)
    still_signed_in = browser.get("/api/integrations/basecamp/status/").status_code == 200
    wrong = {k: v for k, v in refused.items() if v != 400}
    passed = changing == set(routes) and not wrong and before == after and still_signed_in
    reliability_report.record(
        AREA, "CSRF on every state-changing route",
        f"{len(attempts)} POSTs to the {len(changing)} non-GET routes of the url_map "
        f"({', '.join(sorted(changing))}) without a token, with a forged one, with another session's",
        "400 each; no row of users, connections or OAuth flows changes; the session survives",
        f"{len(attempts) - len(wrong)}/{len(attempts)} answered 400{'; others: ' + repr(wrong) if wrong else ''}; "
        f"database {'unchanged' if before == after else 'CHANGED'}; session {'kept' if still_signed_in else 'lost'}",
        "none" if before == after else "rows changed", passed)
    assert changing == set(routes), f"new state-changing routes need a CSRF case: {changing ^ set(routes)}"
    assert not wrong and before == after and still_signed_in
    # With the token the same requests work: the refusal above was the CSRF check, not a broken route.
    done = browser.post_form("/integrations/basecamp/choose", {"account_id": account_id}, page=chooser)
    assert done.status_code == 200 and browser.status()["account_id"] == account_id
