"""Token endpoint rules: codes, client auth, refresh (with and without rotation),
password change, access-token expiry, and the refresh-token report."""
from __future__ import annotations

import hashlib
import time

import requests

from .conftest import REDIRECT, Sim


def test_legacy_parameter_style_for_both_grants(sim: Sim) -> None:
    code = sim.approve("legacy@example.test")
    first = sim.token(type="web_server", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200, first.text
    refreshed = sim.token(type="refresh", refresh_token=first.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert sim.get("/authorization.json", refreshed.json()["access_token"]).status_code == 200
    assert sim.counts()["token"] == {"authorization_code 200": 1, "refresh_token 200": 1}


def test_code_is_single_use(sim: Sim) -> None:
    code = sim.approve("once@example.test")
    assert sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT).status_code == 200
    again = sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_code_expires(sim: Sim) -> None:
    sim.config(code_lifetime_s=1)
    code = sim.approve("slow@example.test")
    time.sleep(1.1)
    late = sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_code_bound_to_redirect_uri(sim: Sim) -> None:
    code = sim.approve("bound@example.test")
    wrong = sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "x")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_client_authentication_and_bad_requests(sim: Sim) -> None:
    code = sim.approve("client@example.test")
    bad_secret = sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                           client_secret="wrong")
    assert bad_secret.status_code == 401 and bad_secret.json() == {
        "error": "invalid_client", "error_description": "Unknown client or wrong client secret."}
    assert sim.token(grant_type="password").json()["error"] == "unsupported_grant_type"
    assert sim.token(grant_type="authorization_code", code=code).json()["error"] == "invalid_request"
    assert sim.token(grant_type="refresh_token").json()["error"] == "invalid_request"
    # the code survived the refused attempts
    assert sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT).status_code == 200
    assert sim.counts()["token"] == {
        "authorization_code 401 invalid_client": 1, "unsupported 400 unsupported_grant_type": 1,
        "authorization_code 400 invalid_request": 1, "refresh_token 400 invalid_request": 1,
        "authorization_code 200": 1}


def test_refresh_without_rotation_keeps_refresh_token(sim: Sim) -> None:
    tokens = sim.connect("plain@example.test")
    for _ in range(2):
        answer = sim.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert answer.status_code == 200
        assert "refresh_token" not in answer.json()
        assert answer.json()["access_token"] != tokens["access_token"]
    report = sim.admin("GET", "tokens").json()["refresh_tokens"]
    assert len(report) == 1
    entry = report[0]
    assert entry["sha256"] == hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
    assert entry["refresh_grants"] == 2 and len(entry["refresh_grant_times"]) == 2
    assert entry["active"] and entry["identity"] == "plain@example.test"


def test_refresh_with_rotation_revokes_old_token(sim: Sim) -> None:
    sim.config(rotate_refresh_tokens=True)
    tokens = sim.connect("rotate@example.test")
    answer = sim.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert answer.status_code == 200
    new_refresh = answer.json()["refresh_token"]
    assert new_refresh != tokens["refresh_token"]
    reused = sim.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert sim.token(grant_type="refresh_token", refresh_token=new_refresh).status_code == 200
    report = {e["sha256"]: e for e in sim.admin("GET", "tokens").json()["refresh_tokens"]}
    old = report[hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()]
    assert (old["active"], old["refresh_grants"], old["rejected"]) == (False, 1, 1)


def test_password_change_invalidates_tokens(sim: Sim) -> None:
    tokens = sim.connect("pw@example.test")
    other = sim.connect("bystander@example.test")
    sim.admin("POST", "identities/pw@example.test/password-change")
    refused = sim.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert sim.get("/authorization.json", tokens["access_token"]).status_code == 401
    assert sim.get("/authorization.json", other["access_token"]).status_code == 200
    assert sim.counts()["token"]["refresh_token 400 invalid_grant"] == 1


def test_password_change_error_is_configurable(sim: Sim) -> None:
    sim.config(invalid_grant_error="authorization_expired")
    tokens = sim.connect("expired@example.test")
    sim.admin("POST", "identities/expired@example.test/password-change")
    refused = sim.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "authorization_expired"
    assert sim.counts()["token"]["refresh_token 400 authorization_expired"] == 1


def test_expire_access_token_then_refresh_works(sim: Sim) -> None:
    tokens = sim.connect("expire@example.test")
    sim.admin("POST", "identities/expire@example.test/expire-access-token")
    assert sim.get("/authorization.json", tokens["access_token"]).status_code == 401
    fresh = sim.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert sim.get("/authorization.json", fresh["access_token"]).status_code == 200


def test_short_token_lifetime(sim: Sim) -> None:
    sim.config(token_lifetime_s=1)
    tokens = sim.connect("short@example.test")
    assert tokens["expires_in"] == 1
    assert sim.get("/authorization.json", tokens["access_token"]).status_code == 200
    time.sleep(1.1)
    expired = sim.get("/authorization.json", tokens["access_token"])
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


def test_unknown_identity_admin_calls_are_404(sim: Sim) -> None:
    for action in ("password-change", "expire-access-token"):
        response = sim.http.post(f"{sim.url}/_admin/identities/nobody@example.test/{action}", timeout=5)
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_secrets_lists_every_issued_code_and_token_until_reset(sim: Sim) -> None:
    code = sim.approve("scan@example.test")
    issued = sim.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
    refreshed = sim.token(grant_type="refresh_token", refresh_token=issued["refresh_token"]).json()
    listed = requests.get(f"{sim.url}/_admin/secrets", timeout=5).json()
    assert listed == {"codes": [code], "access_tokens": [issued["access_token"], refreshed["access_token"]],
                      "refresh_tokens": [issued["refresh_token"]]}
    requests.post(f"{sim.url}/_admin/reset", timeout=5)
    assert requests.get(f"{sim.url}/_admin/secrets", timeout=5).json() == {
        "codes": [], "access_tokens": [], "refresh_tokens": []}
