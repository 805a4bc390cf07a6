"""Signed-in users over HTTP (cookie-keeping by hand, so production's Secure cookies work over
loopback HTTP) and OAuth connect flows through the simulator, many at once."""
from __future__ import annotations

import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from benchmarks.app_bench import _CSRF, CookieClient
from tests.app.conftest import CAPTURED

_ERROR_TYPE = re.compile(r'<code id="error-type">([a-z_]+)</code>')
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


@dataclass
class User:
    """A signed-up user: its HTTP client (cookies) and e-mail."""

    client: CookieClient
    email: str

    @property
    def cookie(self) -> str:
        return self.client.cookie_header()


@dataclass
class Flow:
    """How one connect flow ended: `connected`, or the error type its page showed."""

    user: User
    outcome: str
    http_status: int
    seconds: float


def sign_up(base: str) -> User:
    """A new user signed in on `base` (its password joins the log guard's secrets)."""
    client = CookieClient(base)
    email, password = f"load-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(12)
    CAPTURED.secrets.add(password)
    page = client.request("GET", "/signup").text
    answer = client.request("POST", "/signup", data={"csrf_token": _CSRF.search(page).group(1), "email": email,
                                                     "password": password, "confirm": password})
    assert answer.status_code == 302, answer.text
    return User(client, email)


def sign_up_many(base: str, count: int, workers: int = 4) -> list[User]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda _: sign_up(base), range(count)))


def connect(user: User, decision: str = "approve", identity: str | None = None,
            callback_base: str | None = None) -> Flow:
    """The whole flow: connect, the simulator's authorize page, our callback (optionally sent to
    another app process, as a load balancer may). `identity`: the Basecamp login to approve as."""
    started = time.monotonic()
    client = user.client
    # a keep-alive connection from sign-up could be closed by the server (2 s idle) just as the
    # flow reuses it, which a browser would retry: every flow starts on a fresh connection
    client.http.close()
    authorize = client.request("GET", "/integrations/basecamp/connect").headers["Location"]
    CAPTURED.secrets.update(parse_qs(urlsplit(authorize).query)["state"])
    page = client.request("GET", authorize).text
    fields = dict(_HIDDEN.findall(page))
    fields["email"] = identity or re.search(r'name="email" value="([^"]*)"', page).group(1)
    fields["decision"] = decision
    sim = urlsplit(authorize)
    callback = client.request("POST", f"{sim.scheme}://{sim.netloc}/authorization/new", data=fields).headers["Location"]
    CAPTURED.secrets.update(parse_qs(urlsplit(callback).query).get("code", []))
    home = client.base
    if callback_base:  # cookies are per host, not per port: the other process gets them too
        parts = urlsplit(callback)
        callback, client.base = f"{callback_base}{parts.path}?{parts.query}", callback_base
    try:
        answer = client.request("GET", callback)
    finally:
        client.base = home
    if answer.status_code == 302 and answer.headers["Location"].endswith("/integrations/basecamp/"):
        outcome = "connected"
    else:
        found = _ERROR_TYPE.search(answer.text)
        outcome = found.group(1) if found else f"unexpected HTTP {answer.status_code}"
    return Flow(user, outcome, answer.status_code, time.monotonic() - started)


def connect_at_once(plans: list[tuple[User, dict]]) -> list[Flow]:
    """Run every (user, connect kwargs) flow in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(plans))

    def run(plan: tuple[User, dict]) -> Flow:
        barrier.wait(timeout=30)
        return connect(plan[0], **plan[1])

    with ThreadPoolExecutor(len(plans)) as pool:
        return list(pool.map(run, plans))
