"""Token refresh and the API client against the simulator: 401 refresh, invalid_grant, 429, 5xx, backoff."""
from __future__ import annotations

import time

from app.integrations.basecamp.client import ApiError, BasecampClient


def refresh_all(server) -> dict[str, int]:
    """One in-process refresh-due pass over every connection (margin 30 days: all are due)."""
    with server.app.app_context():
        return server.app.extensions["basecamp"].refresh_due(30 * 86400)


def access_token(server, user_id: int) -> str:
    with server.app.app_context():
        svc = server.app.extensions["basecamp"]
        return svc.cipher.decrypt(svc.connection(user_id).access_token_enc)


def the_refresh(events) -> dict:
    found = events.all("basecamp_token_refresh")
    assert len(found) == 1, found
    return found[0]


def test_401_on_api_call_refreshes_once_and_retries(browser, sim, events):
    browser.connect(email="expiring@example.com")
    sim.admin("POST", "identities/expiring@example.com/expire-access-token")
    events.mark()
    page = browser.get("/integrations/basecamp/")
    assert "Connected" in page.text and "<li>" in page.text
    api = events.all("basecamp_api_request")
    assert [(e["metadata"]["endpoint"], e["metadata"]["http_status"], e["level"]) for e in api] == [
        ("api", 401, "WARNING"), ("token", 200, "INFO"), ("api", 200, "INFO")]
    assert api[0]["error_type"] == "unauthorized"
    refresh = the_refresh(events)
    assert refresh["status"] == "success" and refresh["level"] == "INFO"
    assert refresh["metadata"]["attempt"] == 1 and refresh["metadata"]["max_retries"] == 3
    assert refresh["metadata"]["consecutive_failures"] == 0
    assert refresh["message"] == (f"Basecamp token refresh successful | user_id={refresh['user_id']}"
                                  f" | account_id={refresh['account_id']}")
    assert sim.counts()["token"]["refresh_token 200"] == 1


def test_invalid_grant_is_never_retried_and_marks_expired(browser, server, sim, events):
    browser.connect(email="changed@example.com")
    sim.admin("POST", "identities/changed@example.com/password-change")
    events.mark()
    done = server.cli("refresh-due", "--margin", "30d")
    from tests.app.conftest import CAPTURED

    records = [r for r in CAPTURED.event_records(events.start) if r["event"] == "basecamp_token_refresh"]
    assert len(records) == 1
    failed = records[0]
    assert failed["status"] == "failure" and failed["level"] == "ERROR" and failed["error_type"] == "invalid_grant"
    assert failed["metadata"]["attempt"] == 1 and failed["metadata"]["http_status"] == 400
    assert failed["metadata"]["consecutive_failures"] == 1
    assert failed["message"].startswith(f"Basecamp token refresh failed | user_id={failed['user_id']} | error=")
    assert "refreshed=0" in done.stderr and "failed=1" in done.stderr
    server.cli("refresh-due", "--margin", "30d")  # an expired connection is not tried again
    token_counts = sim.counts()["token"]
    refused = sum(n for outcome, n in token_counts.items() if outcome.startswith("refresh_token 400"))
    assert refused == 1
    assert browser.status()["state"] == "expired"
    assert browser.get("/healthz").json()["integrations"] == {"connected": 0, "expired": 1}


def test_429_retry_after_is_honoured(browser, server, sim, events):
    browser.connect()
    events.mark()
    sim.faults({"endpoint": "token", "kind": "rate_limit", "count": 1, "retry_after": 1, "grant": "refresh_token"})
    started = time.monotonic()
    assert refresh_all(server)["refreshed"] == 1
    assert time.monotonic() - started >= 1.0
    limited, ok = events.all("basecamp_api_request", endpoint="token")
    assert limited["level"] == "WARNING" and limited["error_type"] == "rate_limited"
    assert limited["message"] == "Basecamp rate limit hit (429) | attempt=1/3 | retry_after=1"
    assert limited["metadata"]["retry_after"] == 1 and limited["metadata"]["http_status"] == 429
    assert ok["status"] == "success" and ok["metadata"]["attempt"] == 2
    refresh = the_refresh(events)
    assert refresh["metadata"]["attempt"] == 2 and refresh["metadata"]["http_status"] == 200


def test_5xx_is_retried_until_success(browser, server, sim, events):
    browser.connect()
    events.mark()
    sim.faults({"endpoint": "token", "kind": "server_error", "count": 2, "status": 502, "grant": "refresh_token"})
    assert refresh_all(server)["refreshed"] == 1
    attempts = events.all("basecamp_api_request", endpoint="token")
    assert [(a["metadata"]["http_status"], a["level"]) for a in attempts] == [
        (502, "WARNING"), (502, "WARNING"), (200, "INFO")]
    assert attempts[0]["error_type"] == "server_error"
    assert the_refresh(events)["metadata"]["attempt"] == 3


def test_network_error_is_retried(browser, server, sim, events):
    browser.connect()
    events.mark()
    sim.faults({"endpoint": "token", "kind": "connection_reset", "count": 1, "grant": "refresh_token"})
    assert refresh_all(server)["refreshed"] == 1
    first = events.all("basecamp_api_request", endpoint="token")[0]
    assert first["error_type"] == "network_error" and first["metadata"]["http_status"] is None
    assert first["level"] == "WARNING"


def test_consecutive_failures_are_counted_and_reset(browser, server, sim, events):
    browser.connect()
    events.mark()
    for expected in (1, 2):
        sim.faults({"endpoint": "token", "kind": "server_error", "count": 3, "grant": "refresh_token"})
        assert refresh_all(server)["failed"] == 1
        last = events.all("basecamp_token_refresh")[-1]
        assert last["error_type"] == "server_error" and last["metadata"]["consecutive_failures"] == expected
        assert last["metadata"]["attempt"] == 3 and last["level"] == "ERROR"
    exhausted = events.all("basecamp_api_request", endpoint="token")[-1]
    assert exhausted["level"] == "ERROR"
    assert exhausted["message"].startswith("Basecamp API request failed after 3 attempts | error=")
    status = browser.status()
    assert status["consecutive_failures"] == 2 and status["last_refresh_result"] == "server_error"
    assert status["state"] == "connected"
    assert refresh_all(server)["refreshed"] == 1
    assert events.all("basecamp_token_refresh")[-1]["metadata"]["consecutive_failures"] == 0
    assert browser.status()["consecutive_failures"] == 0


def test_404_is_never_retried(browser, server, sim, events):
    browser.connect()
    events.mark()
    client = server.app.extensions["basecamp"].client
    try:
        client.api_get(f"{sim.url}/999999/projects.json", access_token(server, browser_user_id(server)),
                       user_id=None, account_id="999999")
    except ApiError as exc:
        assert exc.error_type.value == "not_found" and exc.attempts == 1
    else:
        raise AssertionError("404 expected")
    [attempt] = events.all("basecamp_api_request", http_status=404)
    assert attempt["level"] == "ERROR" and attempt["error_type"] == "not_found"
    assert sim.counts()["api"]["404"] == 1


def test_malformed_json_is_invalid_response(browser, sim, events):
    browser.connect()
    events.mark()
    sim.faults({"endpoint": "api", "kind": "malformed_json", "count": 1})
    page = browser.get("/integrations/basecamp/")
    assert "invalid_response" in page.text
    [bad] = events.all("basecamp_api_request", endpoint="api", status="failure")
    assert bad["error_type"] == "invalid_response" and bad["level"] == "ERROR"


def test_retry_after_wait_is_capped(sim, events):
    client = BasecampClient(launchpad_url=sim.url, client_id="sim-client-id", client_secret="sim-client-secret",
                            user_agent="tests (tests@example.com)", timeout=3, retry_after_max=0.2)
    sim.reset()
    sim.faults({"endpoint": "token", "kind": "rate_limit", "count": 1, "retry_after": 30})
    started = time.monotonic()
    try:
        client.refresh("not-a-real-refresh-token", user_id=None, account_id=None)
    except ApiError as exc:
        assert exc.error_type.value == "invalid_grant" and exc.attempts == 2  # 429 retried, invalid_grant not
    else:
        raise AssertionError("invalid_grant expected")
    assert time.monotonic() - started < 3


def test_backoff_is_full_jitter_and_capped():
    client = BasecampClient(launchpad_url="http://127.0.0.1:9", client_id="x", client_secret="y",
                            user_agent="tests", backoff_base=10, backoff_max=0.05, retry_after_max=7)
    waits = [client.backoff(attempt, None) for attempt in (1, 2, 3) for _ in range(200)]
    assert all(0 <= w <= 0.05 for w in waits) and len(set(waits)) > 100
    small = BasecampClient(launchpad_url="http://127.0.0.1:9", client_id="x", client_secret="y",
                           user_agent="tests", backoff_base=0.1, backoff_max=10)
    assert max(small.backoff(1, None) for _ in range(300)) <= 0.1
    assert max(small.backoff(3, None) for _ in range(300)) <= 0.4
    assert client.backoff(1, 3) == 3 and client.backoff(1, 60) == 7


def browser_user_id(server) -> int:
    from sqlalchemy import select

    from app.models import BasecampConnection

    with server.app.app_context():
        return server.app.extensions["basecamp"].db.scalar(select(BasecampConnection.user_id))
