"""Session fixation (a cookie planted before sign-in is dead after it) and user isolation (user B can
neither read nor disconnect user A's connection, whatever IDs B puts in any parameter)."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    AppServer, Browser, browser, csrf_token, new_browser, server, sim,
)

AREA = "Attack and bad input"
STATUS = "/api/integrations/basecamp/status/"


def _connection_row(db_url: str, account_id: str) -> tuple:
    engine = create_engine(db_url)
    with engine.connect() as db:
        row = db.execute(text("SELECT user_id, state, version, access_token_enc, refresh_token_enc "
                              "FROM basecamp_connections WHERE account_id = :a"), {"a": account_id}).one()
    engine.dispose()
    return tuple(row)


def _plant(client: Browser, value: str) -> None:
    """Put a session cookie into `client`'s jar as if the server had set it."""
    client.http.cookies.set("session", value, domain=urlsplit(client.base).hostname, path="/")


def test_session_fixation(server: AppServer, browser: Browser, reliability_report) -> None:
    attacker = Browser(server)
    signin_page = attacker.get("/signin").text
    planted_cookie, planted_csrf = attacker.http.cookies["session"], csrf_token(signin_page)
    victim = Browser(server)
    _plant(victim, planted_cookie)
    signed_in = victim.http.post(server.url + "/signin", timeout=10, allow_redirects=False, data={
        "csrf_token": planted_csrf, "email": browser.email, "password": browser.password})
    after_cookie = victim.http.cookies.get("session")
    victim_status = victim.get(STATUS).status_code
    attacker_status = attacker.get(STATUS).status_code
    attacker_post = attacker.http.post(server.url + "/integrations/basecamp/disconnect", timeout=10,
                                       data={"csrf_token": planted_csrf}, allow_redirects=False)
    forged = Browser(server)
    _plant(forged, '{"_user_id": "1", "_fresh": true}')
    forged_status = forged.get(STATUS).status_code
    observed = {"sign-in": signed_in.status_code, "cookie rotated": after_cookie != planted_cookie,
                "victim status": victim_status, "planted cookie status": attacker_status,
                "planted cookie POST": f"{attacker_post.status_code} to "
                f"{attacker_post.headers.get('Location', '').split('?')[0]}", "forged unsigned cookie status": forged_status}
    passed = observed == {"sign-in": 302, "cookie rotated": True, "victim status": 200, "planted cookie status": 401,
                          "planted cookie POST": "302 to /signin", "forged unsigned cookie status": 401}
    reliability_report.record(
        AREA, "Session fixation", "attacker plants its pre-sign-in session cookie (and CSRF token) in the "
        "victim's browser, the victim signs in; then an unsigned forged cookie naming user 1",
        "sign-in issues a new session; the planted cookie stays anonymous (API 401, a POST is sent to sign in); "
        "the forged cookie is ignored",
        ", ".join(f"{k}: {v}" for k, v in observed.items()), "none", passed)
    assert passed, observed


def test_user_b_cannot_read_or_disconnect_user_a(server: AppServer, browser: Browser, new_browser,
                                                 reliability_report) -> None:
    a, b = browser, new_browser()
    assert a.connect(email="owner-a@example.com").status_code == 200
    assert b.connect(email="owner-b@example.com").status_code == 200
    a_status, b_status = a.status(), b.status()
    a_id = a_status["account_id"]
    a_user = str(_connection_row(server.db_url, a_id)[0])
    assert b_status["account_id"] != a_id
    before = _connection_row(server.db_url, a_id)
    token = b.api_csrf()
    ids = {"user_id": a_user, "account_id": a_id, "id": a_user, "connection_id": a_user}
    reads = [b.get(STATUS, params=ids), b.get("/integrations/basecamp/", params=ids),
             b.get(f"/api/integrations/basecamp/status/?user_id={a_user}&user_id={a_user}")]
    leaked = [r.url for r in reads if a_id in r.text or "owner-a@example.com" in r.text]
    writes = [
        b.http.post(server.url + "/api/integrations/basecamp/disconnect", params=ids, json=ids,
                    headers={"X-CSRFToken": token}, timeout=10),
        b.http.post(server.url + "/api/integrations/basecamp/disconnect", data=ids,
                    headers={"X-CSRFToken": token}, timeout=10),
        b.http.post(server.url + "/integrations/basecamp/disconnect", params=ids,
                    data={**ids, "csrf_token": token}, timeout=10),
    ]
    after = _connection_row(server.db_url, a_id)
    a_after, b_after = a.status(), b.status()
    passed = (not leaked and before == after and a_after["state"] == "connected" and a_after["account_id"] == a_id
              and all(w.status_code == 200 for w in writes) and b_after["state"] == "disconnected")
    reliability_report.record(
        AREA, "User A cannot be read or disconnected by user B",
        f"user B sends user A's ids ({', '.join(ids)}) in the query, JSON body and form of the status API, "
        "the page, the API disconnect and the form disconnect",
        "B only ever sees and disconnects B's own connection; A's row (state, version, tokens) unchanged",
        f"A's account in B's responses: {len(leaked)}/{len(reads)}; A's row "
        f"{'unchanged' if before == after else 'CHANGED'}, A {a_after['state']}; B {b_after['state']}",
        "none" if before == after else "user A's connection changed", passed)
    assert passed, (leaked, before == after, a_after, b_after)
