"""OAuth connect over real HTTP against the simulator: success, every callback error type, the chooser."""
from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text, update

from app.models import OAuthFlow


def _only(events, **match):
    found = events.all("basecamp_oauth_connect", **match)
    assert len(found) == 1, found
    return found[0]


def test_connect_success_stores_encrypted_tokens_and_emits_events(browser, server, sim, events):
    page = browser.connect()
    assert page.status_code == 200
    assert "Connected" in page.text and "<li>" in page.text  # the account's projects are listed
    initiate = events.all("basecamp_oauth_initiate")
    assert len(initiate) == 1 and initiate[0]["level"] == "INFO"
    assert initiate[0]["message"] == f"Basecamp OAuth connect initiated | user_id={initiate[0]['user_id']}"
    ok = _only(events, status="success")
    assert ok["level"] == "INFO" and ok["account_id"] and ok["duration_ms"] is not None
    assert ok["message"] == f"Basecamp OAuth connection successful | user_id={ok['user_id']} | account_id={ok['account_id']}"
    endpoints = [e["metadata"]["endpoint"] for e in events.all("basecamp_api_request")]
    assert endpoints[:2] == ["token", "identity"] and "api" in endpoints
    status = browser.status()
    assert status["state"] == "connected" and status["account_id"] == ok["account_id"]
    # tokens are stored encrypted (Fernet), never as issued
    engine = create_engine(server.db_url)
    with engine.connect() as db:
        stored = db.execute(text("SELECT access_token_enc, refresh_token_enc FROM basecamp_connections")).one()
    engine.dispose()
    issued = sim.app.extensions["basecamp_simulator"]
    with issued._lock:
        raw_tokens = [*issued._access, *issued._refresh]
    cipher = Fernet(server.config["TOKEN_ENCRYPTION_KEYS"])
    assert all(value.startswith("gAAAA") and not any(t in value for t in raw_tokens) for value in stored)
    assert cipher.decrypt(stored[0].encode()).decode() in raw_tokens


def test_deny_is_authorization_failed(browser, events):
    page = browser.connect(decision="deny")
    assert page.status_code == 403 and "authorization_failed" in page.text
    failure = _only(events, status="failure")
    assert failure["error_type"] == "authorization_failed" and failure["level"] == "ERROR"
    assert failure["message"].startswith(f"Basecamp OAuth callback exception | user_id={failure['user_id']} | error=")
    assert failure["duration_ms"] is not None


def test_unknown_state_is_invalid_state_without_duration(browser, events):
    page = browser.get("/integrations/basecamp/callback?code=x&state=forged-state-value")
    assert page.status_code == 400 and "invalid_state" in page.text
    failure = _only(events)
    assert failure["error_type"] == "invalid_state" and failure["duration_ms"] is None


def test_replayed_callback_is_invalid_state(browser, events):
    callback = browser.authorize(browser.start_connect())
    assert browser.get(callback).status_code == 200
    replay = browser.get(callback)
    assert replay.status_code == 400 and "invalid_state" in replay.text
    assert [e["status"] for e in events.all("basecamp_oauth_connect")] == ["success", "failure"]
    assert events.all("basecamp_oauth_connect")[1]["error_type"] == "invalid_state"


def test_state_from_another_session_is_invalid_state(browser, new_browser, events):
    callback = browser.authorize(browser.start_connect())
    other = new_browser()
    page = other.get(callback)
    assert page.status_code == 400 and "invalid_state" in page.text
    assert _only(events)["error_type"] == "invalid_state"


def test_flow_older_than_ten_minutes_is_session_expired(browser, server, events):
    callback = browser.authorize(browser.start_connect())
    engine = create_engine(server.db_url)
    with engine.begin() as db:
        db.execute(update(OAuthFlow).values(created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=11)))
    engine.dispose()
    page = browser.get(callback)
    assert page.status_code == 400 and "session_expired" in page.text
    failure = _only(events)
    assert failure["error_type"] == "session_expired" and failure["duration_ms"] >= 600_000


def test_flow_missing_from_session_is_session_expired(browser, events):
    callback = browser.authorize(browser.start_connect())
    browser.http.cookies.clear()  # the browser lost its session (cookie expired or cleared)
    page = browser.get(callback)
    assert page.status_code == 400 and "session_expired" in page.text
    assert _only(events)["error_type"] == "session_expired"


def test_signing_in_again_loses_the_flow_session_expired(browser, events):
    callback = browser.authorize(browser.start_connect())
    page = browser.get("/integrations/basecamp/")
    browser.post_form("/signout", {}, page=page.text)
    browser.post_form("/signin", {"email": browser.email, "password": browser.password})
    answer = browser.get(callback)
    assert answer.status_code == 400 and "session_expired" in answer.text
    failure = _only(events)
    assert failure["error_type"] == "session_expired" and failure["user_id"] is not None


def test_token_endpoint_failure_is_token_exchange_failed(browser, sim, events):
    sim.faults({"endpoint": "token", "kind": "invalid_grant", "count": 1})
    page = browser.connect()
    assert page.status_code == 502 and "token_exchange_failed" in page.text
    assert _only(events)["error_type"] == "token_exchange_failed"
    token_attempts = events.all("basecamp_api_request", endpoint="token")
    assert len(token_attempts) == 1 and token_attempts[0]["error_type"] == "invalid_grant"  # never retried


def test_token_endpoint_5xx_exhausted_is_token_exchange_failed(browser, sim, events):
    sim.faults({"endpoint": "token", "kind": "server_error", "count": 3, "status": 503})
    page = browser.connect()
    assert page.status_code == 502
    attempts = events.all("basecamp_api_request", endpoint="token")
    assert [a["level"] for a in attempts] == ["WARNING", "WARNING", "ERROR"]
    assert attempts[-1]["message"].startswith("Basecamp API request failed after 3 attempts | error=")
    assert _only(events)["error_type"] == "token_exchange_failed"


def test_identity_without_bc3_account_is_no_basecamp_account(browser, sim, events):
    sim.reset(accounts_per_identity=0)
    page = browser.connect()
    assert page.status_code == 422 and "no_basecamp_account" in page.text
    assert _only(events)["error_type"] == "no_basecamp_account"
    assert browser.status()["state"] == "disconnected"


def test_account_connected_by_someone_else_is_account_already_connected(browser, new_browser, events):
    email = "shared-login@example.com"
    assert browser.connect(email=email).status_code == 200
    other = new_browser()
    page = other.connect(email=email)
    assert page.status_code == 409 and "account_already_connected" in page.text
    failure = events.all("basecamp_oauth_connect", status="failure")
    assert len(failure) == 1 and failure[0]["error_type"] == "account_already_connected"
    assert failure[0]["level"] == "WARNING"
    assert other.status()["state"] == "disconnected"


def test_several_accounts_user_chooses_one(browser, sim, events):
    sim.reset(accounts_per_identity=3)
    chooser = browser.connect()
    assert chooser.status_code == 200 and "Choose a Basecamp account" in chooser.text
    assert events.all("basecamp_oauth_connect") == []  # nothing decided yet
    import re

    ids = re.findall(r'name="account_id" value="(\w+)"', chooser.text)
    assert len(ids) == 3
    page = browser.post_form("/integrations/basecamp/choose", {"account_id": ids[2]}, page=chooser.text)
    assert page.status_code == 200 and "Connected" in page.text
    ok = _only(events)
    assert ok["status"] == "success" and ok["account_id"] == ids[2] and ok["duration_ms"] > 0
    assert browser.status()["account_id"] == ids[2]
    again = browser.get("/integrations/basecamp/choose")  # the choice is single use
    assert again.status_code == 400 and "session_expired" in again.text


def test_authorize_redirect_carries_launchpad_parameters(browser, sim):
    location = browser.start_connect()
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == sim.url and parts.path == "/authorization/new"
    assert query["response_type"] == ["code"] and query["client_id"] == ["sim-client-id"]
    assert query["redirect_uri"][0].endswith("/integrations/basecamp/callback")
    assert len(query["state"][0]) >= 32 and "scope" not in query and "code_challenge" not in query



def test_flow_ttl_is_configurable(browser_on, events):
    """OAUTH_FLOW_TTL shortens the flow's life: a callback after it is session_expired."""
    client = browser_on(OAUTH_FLOW_TTL="1s")
    callback = client.authorize(client.start_connect())
    time.sleep(1.2)
    page = client.get(callback)
    assert page.status_code == 400 and "session_expired" in page.text
    failure = _only(events)
    assert failure["error_type"] == "session_expired" and failure["error"] == "the OAuth flow is older than 1 s"


def test_browser_facing_authorize_url_differs_from_the_server_url(browser_on, sim, events):
    """BASECAMP_LAUNCHPAD_PUBLIC_URL (what the browser reaches) serves the authorize page; the code
    exchange and identity calls still go to BASECAMP_LAUNCHPAD_URL."""
    public = sim.url.replace("127.0.0.1", "localhost")
    client = browser_on(BASECAMP_LAUNCHPAD_PUBLIC_URL=public)
    authorize = client.start_connect()
    assert authorize.startswith(f"{public}/authorization/new?")
    page = client.get(client.authorize(authorize))
    assert page.status_code == 200 and "Connected" in page.text
    assert _only(events, status="success")["account_id"]
