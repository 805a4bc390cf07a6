"""Hypothesis over the OAuth callback's parameters (state, code, error, error_description): arbitrary,
huge, unicode and control-character text, repeated parameters, undecodable bytes, with a live state or
without. Never a 500, never a stack trace, always one of the callback's own answers."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, quote_from_bytes, urlencode, urlsplit

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    CAPTURED, AppServer, csrf_token, sim,
)

AREA = "Attack and bad input"
CALLBACK = "/integrations/basecamp/callback"
LEAKS = ("Traceback", 'File "', "site-packages", "sqlalchemy.", "werkzeug.", "Error at 0x")
ANSWERS = {302, 400, 403, 409, 422, 502}
MAX_EXAMPLES = 300

_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(max_codepoint=31), max_size=20),  # control characters, NUL, CR/LF
    st.text(alphabet=st.characters(min_codepoint=0x80), max_size=30),  # unicode, RTL, combining, astral
    st.sampled_from(["", " ", "%00", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
                     "access_denied", "{{7*7}}", "\r\nSet-Cookie: x=1", "\ufeff", "\U0001f600" * 10]),
    st.integers(min_value=1_000, max_value=200_000).map(lambda n: "A" * n),  # huge
)
_VALUES = st.lists(_TEXT, min_size=1, max_size=3)  # a parameter given 1 to 3 times
_PARAMS = st.dictionaries(st.sampled_from(["state", "code", "error", "error_description", "error_uri", "extra"]),
                          _VALUES, max_size=5)


def _client(app_server: AppServer) -> FlaskClient:
    """A signed-up user's test client (in-process WSGI, the real app and database)."""
    client = app_server.app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    password = "fuzz-password-123"
    CAPTURED.secrets.add(password)
    answer = client.post("/signup", data={"csrf_token": csrf_token(page), "email": "fuzz@example.com",
                                          "password": password, "confirm": password})
    assert answer.status_code == 302
    return client


def _live_state(client: FlaskClient) -> str:
    location = client.get("/integrations/basecamp/connect").headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    CAPTURED.secrets.add(state)  # a live state must never reach a log line
    return state


def test_callback_parameters_fuzz(tmp_path: Path, sim, reliability_report) -> None:
    app_server = AppServer(tmp_path, sim, CONNECT_RATE_LIMIT="off")
    client = _client(app_server)
    statuses: Counter[int] = Counter()
    bad: list[str] = []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                              HealthCheck.data_too_large])
    @given(params=_PARAMS, live=st.booleans(), raw=st.one_of(st.none(), st.binary(max_size=40)))
    def one_callback(params: dict[str, list[str]], live: bool, raw: bytes | None) -> None:
        if live:
            params = {**params, "state": [_live_state(client), *params.get("state", [])[:1]]}
        query = urlencode(params, doseq=True)
        if raw is not None:  # undecodable bytes in a parameter
            query += "&code=" + quote_from_bytes(raw)
        response = client.get(f"{CALLBACK}?{query}")
        body = response.get_data(as_text=True)
        statuses[response.status_code] += 1
        if response.status_code not in ANSWERS or any(leak in body for leak in LEAKS):
            bad.append(f"{response.status_code} for {query[:120]!r}")
        assert response.status_code in ANSWERS and not any(leak in body for leak in LEAKS), bad[-1]

    try:
        one_callback()
    finally:
        app_server.stop()
        passed = not bad and 500 not in statuses
        reliability_report.record(
            AREA, "Callback parameters fuzz (Hypothesis)",
            f"{sum(statuses.values())} callbacks: state/code/error/error_description as arbitrary, control-char, "
            "unicode, injection and up to 200 KB text, repeated 1-3 times, undecodable bytes; half with a live state",
            "no 500, no stack trace; only the callback's own answers (302/400/403/409/422/502); FR-016 lines valid",
            "statuses " + ", ".join(f"{code}×{n}" for code, n in sorted(statuses.items()))
            + (f"; bad: {bad[:2]}" if bad else ""), "none", passed)
