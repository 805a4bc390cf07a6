"""Authorize page, token endpoint (both grants, both styles), identity and projects."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .conftest import CLIENT, REDIRECT, Sim


def authorize_query(**extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": CLIENT["client_id"], "redirect_uri": REDIRECT,
            "state": "xyz", **extra}


def test_authorize_page_shows_form_with_fresh_email(sim: Sim) -> None:
    first = sim.get("/authorization/new", params=authorize_query())
    second = sim.get("/authorization/new", params=authorize_query())
    assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/html")
    assert "Authorize Basecamp Integration?" in first.text
    assert "Sign in to Launchpad as" in first.text
    assert 'value="approve"' in first.text and 'value="deny"' in first.text
    assert 'name="state" value="xyz"' in first.text
    emails = [r.text.split('name="email" value="')[1].split('"')[0] for r in (first, second)]
    assert emails[0] != emails[1] and all("@" in e for e in emails)


def test_authorize_page_escapes_parameters(sim: Sim) -> None:
    page = sim.get("/authorization/new", params=authorize_query(state='"><script>x</script>'))
    assert page.status_code == 200 and "<script>x" not in page.text
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in page.text


def test_authorize_page_accepts_legacy_type_web_server(sim: Sim) -> None:
    query = authorize_query()
    del query["response_type"]
    assert sim.get("/authorization/new", params={**query, "type": "web_server"}).status_code == 200


def test_authorize_page_rejects_bad_requests_with_html(sim: Sim) -> None:
    unknown = sim.get("/authorization/new", params=authorize_query(client_id="nope"))
    no_type = sim.get("/authorization/new", params={k: v for k, v in authorize_query().items()
                                                      if k != "response_type"})
    bad_uri = sim.get("/authorization/new", params=authorize_query(redirect_uri="not-a-url"))
    for response in (unknown, no_type, bad_uri):
        assert response.status_code == 400
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Traceback" not in response.text
    assert "unknown client_id" in unknown.text
    assert sim.counts()["authorize"] == {"400 invalid_client": 1, "400 unsupported_response_type": 1,
                                         "400 invalid_request": 1}


def test_deny_redirects_with_access_denied(sim: Sim) -> None:
    response = sim.http.post(f"{sim.url}/authorization/new", data={
        "client_id": CLIENT["client_id"], "redirect_uri": REDIRECT + "?keep=1", "state": "st",
        "email": "", "decision": "deny"}, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert parse_qs(target.query) == {"keep": ["1"], "error": ["access_denied"], "state": ["st"]}
    assert sim.counts()["authorize"] == {"deny": 1}


def test_approve_with_bad_email_re_renders_form(sim: Sim) -> None:
    response = sim.http.post(f"{sim.url}/authorization/new", data={
        "client_id": CLIENT["client_id"], "redirect_uri": REDIRECT, "state": "st",
        "email": "not an email", "decision": "approve"}, allow_redirects=False, timeout=5)
    assert response.status_code == 400 and 'role="alert"' in response.text


def test_code_exchange_identity_and_projects(sim: Sim) -> None:
    tokens = sim.connect("alice.smith@example.test")
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1209600
    me = sim.get("/authorization.json", tokens["access_token"])
    assert me.status_code == 200
    body = me.json()
    assert body["identity"]["email_address"] == "alice.smith@example.test"
    assert (body["identity"]["first_name"], body["identity"]["last_name"]) == ("Alice", "Smith")
    assert body["expires_at"].endswith("Z")
    products = [a["product"] for a in body["accounts"]]
    assert products.count("bc3") == 1 and "campfire" in products
    bc3 = next(a for a in body["accounts"] if a["product"] == "bc3")
    assert bc3["href"] == f"{sim.url}/{bc3['id']}"
    projects = sim.get(f"/{bc3['id']}/projects.json", tokens["access_token"])
    assert projects.status_code == 200
    assert len(projects.json()) == 2
    assert set(projects.json()[0]) == {"id", "name", "description", "status", "app_url"}
    campfire = next(a for a in body["accounts"] if a["product"] == "campfire")
    assert sim.get(f"/{campfire['id']}/projects.json", tokens["access_token"]).status_code == 404
    assert sim.counts() == {"authorize": {"approve": 1}, "token": {"authorization_code 200": 1},
                            "identity": {"200": 1}, "api": {"200": 1, "404": 1}}
