"""Status API: live verification, per-user cache, invalidation by connect, disconnect and refresh in any process."""
from __future__ import annotations

import requests


def test_status_disconnected_then_connected_and_cached(browser, sim, events):
    first = browser.status()
    assert first["state"] == "disconnected" and first["provider"] == "basecamp" and first["cache_hit"] is False
    assert browser.status()["cache_hit"] is True
    browser.connect()  # connect invalidates
    live = browser.status()
    assert live["state"] == "connected" and live["cache_hit"] is False and live["verified"] is True
    assert set(live) >= {"provider", "state", "account_id", "account_name", "expires_at", "last_refresh_at",
                         "last_refresh_result", "consecutive_failures", "checked_at", "cache_hit"}
    identity_calls = sim.counts()["identity"].get("200", 0)
    warm = browser.status()
    assert warm["cache_hit"] is True and warm["checked_at"] == live["checked_at"]
    assert sim.counts()["identity"].get("200", 0) == identity_calls  # a hit does not call Launchpad
    checks = events.all("basecamp_status_check")
    assert [c["metadata"]["cache_hit"] for c in checks] == [False, True, False, True]
    for check in checks:
        assert check["level"] == "INFO" and check["status"] == "success" and check["duration_ms"] is not None
        assert check["message"] == f"Integration status check | provider=basecamp | duration_ms={round(check['duration_ms'])}"


def test_disconnect_api_needs_csrf_and_invalidates_cache(browser, events):
    browser.connect()
    assert browser.status()["state"] == "connected"
    assert browser.status()["cache_hit"] is True
    refused = browser.http.post(browser.base + "/api/integrations/basecamp/disconnect", timeout=5)
    assert refused.status_code == 400 and refused.json()["error"] == "csrf_check_failed"
    done = browser.http.post(browser.base + "/api/integrations/basecamp/disconnect",
                             headers={"X-CSRFToken": browser.api_csrf()}, timeout=5)
    assert done.status_code == 200 and done.json()["disconnected"] is True
    after = browser.status()
    assert after["state"] == "disconnected" and after["cache_hit"] is False and after["account_id"] is None
    disconnects = events.all("basecamp_disconnect")
    assert len(disconnects) == 1 and disconnects[0]["level"] == "INFO" and disconnects[0]["account_id"]


def test_disconnect_button_and_reconnect(browser):
    browser.connect()
    page = browser.post_form("/integrations/basecamp/disconnect", {}, page=browser.get("/integrations/basecamp/").text)
    assert page.status_code == 200 and "Not connected" in page.text and "launchpad" in page.text.lower()
    assert browser.connect().status_code == 200
    assert browser.status()["state"] == "connected"


def test_refresh_by_another_process_invalidates_cache(browser, server, events):
    browser.connect()
    before = browser.status()
    assert browser.status()["cache_hit"] is True
    server.cli("refresh-due", "--margin", "30d")  # another process refreshes every token
    after = browser.status()
    assert after["cache_hit"] is False
    assert after["last_refresh_result"] == "success" and after["last_refresh_at"] is not None
    assert after["expires_at"] >= before["expires_at"]


def test_status_requires_sign_in_as_json(server):
    response = requests.get(server.url + "/api/integrations/basecamp/status/", timeout=5)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_status_probe_sees_password_change_as_expired(browser, sim, events):
    browser.connect(email="changer@example.com")
    sim.admin("POST", "identities/changer@example.com/password-change")
    status = browser.status()  # live probe: 401, one refresh, invalid_grant
    assert status["state"] == "expired" and status["last_refresh_result"] == "invalid_grant"
    assert status["consecutive_failures"] == 1 and status["verified"] is False
    refresh = events.all("basecamp_token_refresh")
    assert len(refresh) == 1 and refresh[0]["error_type"] == "invalid_grant" and refresh[0]["level"] == "ERROR"
    assert browser.status()["cache_hit"] is True
    page = browser.get("/integrations/basecamp/")
    assert "Expired" in page.text and "Reconnect" in page.text
