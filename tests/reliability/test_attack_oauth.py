"""OAuth `state` single-use and bound to its session; the redirect URI fixed; no open redirect via `next`."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from app.auth.views import safe_next
from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    AppServer, Browser, browser, csrf_token, new_browser, server, sim,
)

AREA = "Attack and bad input"
CALLBACK = "/integrations/basecamp/callback"
NEXT_ATTACKS = [
    "//evil.example", "///evil.example", "////evil.example/x", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
    "https:evil.example", "https://evil.example/", "http:/evil.example", "HTTPS://evil.example", "%2F%2Fevil.example",
    "/%2F%2Fevil.example", "%5C%5Cevil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "/\r\nLocation: https://evil.example", "/%0d%0aSet-Cookie:x=1",
    "/\x00//evil.example", "\t//evil.example", " //evil.example", "/\t/evil.example", "//evil.example@127.0.0.1",
    "/.//evil.example", "//127.0.0.1:1/", "／／evil.example", "/integrations/basecamp/?x=//evil.example", "",
]


def _is_local(location: str, base: str) -> bool:
    """Where a browser would go from `location` stays on `base`'s host, and the header is one clean line."""
    if not location or any(ord(ch) < 32 or ch == "\\" for ch in location):
        return False
    target = urlsplit(urljoin(base + "/", location))
    return (target.scheme, target.netloc) == tuple(urlsplit(base)[:2]) and not location.startswith("//")


def _cookie(browser: Browser) -> dict[str, str]:
    """The session cookie as a header (requests matches its jar against a forged Host header, not the URL)."""
    return {"Cookie": f"session={browser.http.cookies['session']}"}


def _signin_with_next(server: AppServer, browser: Browser, target: str) -> str:
    page = browser.get("/signin")
    response = browser.http.post(server.url + "/signin", timeout=10, allow_redirects=False, data={
        "csrf_token": csrf_token(page.text), "email": browser.email, "password": browser.password, "next": target})
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def test_state_is_single_use_and_bound_to_its_session(server: AppServer, browser: Browser, new_browser,
                                                      reliability_report) -> None:
    callback = browser.authorize(browser.start_connect())
    anonymous = Browser(server).get(callback)
    same_user_other_session = Browser(server)
    same_user_other_session.email, same_user_other_session.password = browser.email, browser.password
    signin = same_user_other_session.get("/signin")
    same_user_other_session.post_form("/signin", {"email": browser.email, "password": browser.password},
                                      page=signin.text)
    other_session = same_user_other_session.get(callback)
    other_user = new_browser().get(callback)
    first = browser.get(callback)
    replay = browser.get(callback)
    replay_elsewhere = new_browser().get(callback)
    observed = {"anonymous": anonymous.status_code, "same user, other session": other_session.status_code,
                "other user": other_user.status_code, "owner": first.status_code, "replay": replay.status_code,
                "replay by other user": replay_elsewhere.status_code}
    connected = [browser.status()["state"], same_user_other_session.status()["state"]]
    passed = (observed == {"anonymous": 400, "same user, other session": 400, "other user": 400, "owner": 200,
                           "replay": 400, "replay by other user": 400}
              and "session_expired" in anonymous.text and "session_expired" in other_session.text
              and "invalid_state" in other_user.text and "invalid_state" in replay.text)
    reliability_report.record(
        AREA, "OAuth state single-use and bound to its session",
        "one callback URL (state + code) replayed: anonymous, same user in another session, another user, "
        "the owner, the owner again, another user after use",
        "only the owner's session completes, once; without the session's binding session_expired, "
        "another user or a used state invalid_state (400)",
        ", ".join(f"{k}: {v}" for k, v in observed.items()) + f"; connection state {connected[0]}",
        "none", passed)
    assert passed, observed


def test_redirect_uri_is_fixed(tmp_path: Path, sim, reliability_report) -> None:
    configured = "https://app.example.test/integrations/basecamp/callback"
    app_server = AppServer(tmp_path, sim, BASECAMP_REDIRECT_URI=configured)
    try:
        browser = Browser(app_server)
        browser.signup()
        tries = {
            "plain": ("/integrations/basecamp/connect", {}),
            "redirect_uri param": ("/integrations/basecamp/connect?redirect_uri=https://evil.example/cb", {}),
            "next + redirect params": ("/integrations/basecamp/connect?next=//evil.example&redirect=https://evil."
                                       "example&redirect_uri=//evil.example&redirect_uri=x", {}),
            "Host header": ("/integrations/basecamp/connect", {"Host": "evil.example"}),
            "X-Forwarded-Host": ("/integrations/basecamp/connect", {"X-Forwarded-Host": "evil.example",
                                                                    "X-Forwarded-Proto": "https"}),
        }
        sent = {}
        for label, (path, headers) in tries.items():
            location = browser.get(path, headers={**headers, **_cookie(browser)}, allow_redirects=False)\
                .headers["Location"]
            query = parse_qs(urlsplit(location).query)
            sent[label] = (query["redirect_uri"], urlsplit(location).netloc == urlsplit(sim.url).netloc)
        # The token exchange sends the configured URI too (the simulator refuses a mismatch), whatever the Host.
        callback = urlsplit(browser.authorize(browser.start_connect()))
        exchange = browser.get(f"{app_server.url}{callback.path}?{callback.query}", headers={"Host": "evil.example", **_cookie(browser)})
    finally:
        app_server.stop()
    wrong = {k: v for k, v in sent.items() if v != ([configured], True)}
    passed = not wrong and exchange.status_code == 200 and "Connected" in exchange.text
    reliability_report.record(
        AREA, "Redirect URI fixed", "connect with redirect_uri/next/redirect params, a forged Host and "
        "X-Forwarded-Host (BASECAMP_REDIRECT_URI set), then the callback with a forged Host",
        "the authorize redirect goes to Launchpad and always carries the configured redirect_uri; "
        "the token exchange sends it too",
        f"{len(sent) - len(wrong)}/{len(sent)} carried {configured}" + (f"; wrong: {wrong}" if wrong else "")
        + f"; token exchange with a forged Host: {exchange.status_code}",
        "none", passed)
    assert not wrong, wrong


def test_next_never_redirects_off_site(server: AppServer, browser: Browser, reliability_report) -> None:
    locations = {target: _signin_with_next(server, browser, target) for target in NEXT_ATTACKS}
    unauthorized = {f"connect?next={target}": Browser(server).get(
        "/integrations/basecamp/connect?" + urlencode({"next": target}), allow_redirects=False)
        .headers.get("Location", "") for target in NEXT_ATTACKS}
    off_site = {t: loc for t, loc in [*locations.items(), *unauthorized.items()] if not _is_local(loc, server.url)}
    followed = _signin_with_next(server, browser, "/integrations/basecamp/?tab=1")
    passed = not off_site and followed == "/integrations/basecamp/?tab=1"
    reliability_report.record(
        AREA, "No open redirect through `next`",
        f"sign-in with {len(NEXT_ATTACKS)} hostile `next` values (//evil, /\\evil, https:evil, %2F%2Fevil, "
        "javascript:, CRLF, NUL, tab, fullwidth slashes, ...), and the same in the query of a page that "
        "asks to sign in first",
        "every Location stays on this site; a local path is still followed",
        f"{len(locations) + len(unauthorized) - len(off_site)}/{len(locations) + len(unauthorized)} local"
        + (f"; off site: {off_site}" if off_site else "") + f"; local next followed: {followed}",
        "none", passed)
    assert passed, off_site


_HOSTILE_PREFIX = st.sampled_from(["", "/", "//", "\\", "/\\", "http:", "https://", "javascript:", "%2F", " ", "\t",
                                   "\r\n", "／"])


def test_safe_next_property(reliability_report) -> None:
    """Whatever `next` holds, the target is a local path on this site (Hypothesis, in-process)."""
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule("/integrations/basecamp/", "basecamp.page", lambda: "")
    tried: list[str] = []

    @settings(max_examples=500, deadline=None, database=None)
    @given(prefix=_HOSTILE_PREFIX, rest=st.text(max_size=40))
    def local(prefix: str, rest: str) -> None:
        with app.test_request_context(base_url="https://app.example.test"):
            target = safe_next(prefix + rest)
        tried.append(prefix + rest)
        assert _is_local(target, "https://app.example.test"), (prefix + rest, target)

    failure = None
    try:
        local()
    except AssertionError as exc:
        failure = str(exc)[:200]
    reliability_report.record(
        AREA, "`next` sanitiser property (Hypothesis)", f"{len(tried)} generated `next` values: hostile prefixes "
        "(//, \\, /\\, http:, https://, javascript:, %2F, CR/LF, fullwidth /) + arbitrary unicode",
        "the redirect target is always a path on this site", failure or "all local", "none", failure is None)
    assert failure is None, failure
