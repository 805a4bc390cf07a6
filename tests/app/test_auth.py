"""Sign-up, sign-in, CSRF, session rotation, cookie flags and the open-redirect guard."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet

from app import create_app
from tests.app.conftest import CAPTURED, Browser, csrf_token


def _session(server, browser) -> dict:
    cookie = browser.http.cookies.get("session")
    serializer = server.app.session_interface.get_signing_serializer(server.app)
    return serializer.loads(cookie) if cookie else {}


def test_signup_signout_signin(server, browser):
    page = browser.get("/integrations/basecamp/")
    assert page.status_code == 200 and browser.email in page.text
    out = browser.post_form("/signout", {}, page=page.text)
    assert out.status_code == 200 and "signed out" in out.text
    anonymous = browser.get("/integrations/basecamp/", allow_redirects=False)
    assert anonymous.status_code == 302 and "/signin?next=" in anonymous.headers["Location"]
    wrong = browser.post_form("/signin", {"email": browser.email, "password": "wrong-password"})
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    right = browser.post_form("/signin", {"email": browser.email.upper(), "password": browser.password})
    assert right.status_code == 200 and "Not connected" in right.text


def test_duplicate_signup_is_refused(server, browser):
    other = Browser(server)
    password = "another-password-1"
    CAPTURED.secrets.add(password)
    response = other.post_form("/signup", {"email": browser.email, "password": password, "confirm": password})
    assert response.status_code == 409 and "exists" in response.text


def test_post_without_csrf_token_is_rejected(server, browser):
    refused = browser.http.post(server.url + "/signout", timeout=5)
    assert refused.status_code == 400 and "CSRF" in refused.text
    stranger = Browser(server)
    refused = stranger.http.post(server.url + "/signin", data={"email": "a@example.com", "password": "x"}, timeout=5)
    assert refused.status_code == 400 and "CSRF" in refused.text
    api = browser.http.post(server.url + "/api/integrations/basecamp/disconnect",
                            headers={"X-CSRFToken": "forged"}, timeout=5)
    assert api.status_code == 400 and api.json()["error"] == "csrf_check_failed"


def test_session_is_rotated_at_sign_in(server, browser):
    browser.start_connect()  # puts an OAuth binding into the session
    before = _session(server, browser)
    assert "bc_oauth_binding" in before and "_user_id" in before
    page = browser.get("/integrations/basecamp/")
    browser.post_form("/signout", {}, page=page.text)
    signin_page = browser.get("/signin").text
    anonymous = _session(server, browser)
    old_csrf = csrf_token(signin_page)
    browser.http.post(server.url + "/signin", data={"csrf_token": old_csrf, "email": browser.email,
                                                    "password": browser.password}, timeout=5)
    after = _session(server, browser)
    assert after["_user_id"] == before["_user_id"] and after["sid"] != anonymous.get("sid")
    assert "bc_oauth_binding" not in after and after.get("csrf_token") != anonymous.get("csrf_token")
    stale = browser.http.post(server.url + "/signout", data={"csrf_token": old_csrf}, timeout=5)
    assert stale.status_code == 400  # the pre-sign-in CSRF token died with the old session


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/%0d%0aLocation:evil"])
def test_next_never_leaves_the_site(server, browser, target):
    page = browser.get("/integrations/basecamp/")
    browser.post_form("/signout", {}, page=page.text)
    response = browser.post_form("/signin", {"email": browser.email, "password": browser.password, "next": target},
                                 allow_redirects=False)
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith("//")
    assert "\\" not in location and "\r" not in location and "\n" not in location


def test_next_to_a_local_path_is_followed(server, browser):
    page = browser.get("/integrations/basecamp/")
    browser.post_form("/signout", {}, page=page.text)
    response = browser.post_form("/signin", {"email": browser.email, "password": browser.password,
                                             "next": "/api/integrations/basecamp/status/"}, allow_redirects=False)
    assert response.headers["Location"] == "/api/integrations/basecamp/status/"


def test_cookie_flags_development_and_production(server):
    response = Browser(server).get("/signin")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    prod = create_app({"APP_ENV": "production", "SECRET_KEY": "s" * 32, "EVENT_STREAM": None,
                       "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "DATABASE_URL": server.db_url})
    secure = prod.test_client().get("/signin").headers["Set-Cookie"]
    assert "Secure" in secure and "HttpOnly" in secure and "SameSite=Lax" in secure
